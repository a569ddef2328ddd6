"""Start page, health check and the language switch."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from supporters.accounts.forms import ROLE_LABELS, LanguageForm
from supporters.core.dates import fiscal_year
from supporters.core.eras import fiscal_year_label
from supporters.core.time import local_date
from supporters.core.web import is_local_url, public
from supporters.db import now_utc
from supporters.dispatch.forms import ASSIGNMENT_STATE_LABELS, EVENT_STATE_LABELS
from supporters.extensions import db
from supporters.main import services as overview
from supporters.main.health import check_health
from supporters.registry.forms import STATUS_LABELS

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> str:
    """The start page: for each role the user holds, what needs doing. A fixed number of
    aggregate queries, whatever the amount of data."""
    now = now_utc()
    today = local_date(now)
    page = overview.start_page(db.session, current_user, now=now, today=today)
    this_year = fiscal_year(today)
    return render_template(
        "main/index.html",
        role_labels=ROLE_LABELS,
        grants=page.grants,
        coordinator=page.coordinator,
        staff=page.staff,
        staff_grants=page.staff_grants,
        supporter=page.supporter,
        is_admin=page.is_admin,
        this_year=this_year,
        this_year_label=fiscal_year_label(this_year),
        last_year=this_year - 1,
        last_year_label=fiscal_year_label(this_year - 1),
        fiscal_year_label=fiscal_year_label,
        days={
            "understaffed": overview.UNDERSTAFFED_DAYS,
            "lapsing": overview.LAPSING_DAYS,
            "unconfirmed": overview.UNCONFIRMED_HOURS,
        },
        status_labels=STATUS_LABELS,
        event_state_labels=EVENT_STATE_LABELS,
        assignment_state_labels=ASSIGNMENT_STATE_LABELS,
    )


@bp.get("/healthz")
@public
def healthz() -> tuple[Response, int]:
    """200 when the database accepts writes and the schema is at head, else 503; the JSON
    also tells the scheduler's last heartbeat and the age of the oldest mail waiting."""
    report, healthy = check_health(
        db.session,
        app=current_app._get_current_object(),  # type: ignore[attr-defined]
        now=now_utc(),
    )
    response = jsonify(report)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if healthy else 503


@bp.post("/language")
@public
def set_language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.language.data
        if current_user.is_authenticated:
            current_user.locale = form.language.data
            db.session.commit()
    else:
        flash(_("The language could not be changed."), "error")
    target = request.form.get("next") or ""
    return redirect(target if is_local_url(target) else url_for("main.index"))
