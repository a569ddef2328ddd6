"""A supporter's dispatch pages: the schedule, signing up, the confirmation steps before
declining or cancelling, and the private calendar."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from supporters.core.forms import ConfirmForm
from supporters.core.web import download, public, require, require_confirmed, save
from supporters.db import now_utc
from supporters.dispatch import calendar as feeds
from supporters.dispatch import finding, notify, services
from supporters.dispatch.forms import (
    event_when,
)
from supporters.dispatch.models import Assignment, DispatchEvent
from supporters.dispatch.schedule import (
    current_registration_ids,
    current_registrations,
    fold_open_places,
    schedule,
    tel_uri,
)
from supporters.dispatch.views.common import bp, labels
from supporters.extensions import db, limiter
from supporters.registry.activity_reports import filed_reports_for_assignments
from supporters.registry.models import Registration
from supporters.registry.permissions import (
    is_own_current_registration,
)

# --- the supporter's schedule ---------------------------------------------------------


def _my_registrations() -> list[Registration]:
    return current_registrations(db.session, current_user)


@bp.get("/schedule")
def my_schedule() -> ResponseReturnValue:
    registrations = _my_registrations()
    if not registrations:
        flash(_("The schedule is for registered supporters."), "info")
        return redirect(url_for("main.index"))
    now = now_utc()
    upcoming, past = schedule(
        db.session,
        current_user.person_id,
        now=now,
        registration_ids=[r.id for r in registrations],
    )
    places = []
    for registration in registrations:
        places.extend(finding.open_places(db.session, registration, now=now, limit=10))
    places, open_again = fold_open_places(upcoming, places)
    return render_template(
        "dispatch/schedule.html",
        upcoming=upcoming,
        past=past,
        places=places,
        open_again=open_again,
        tel=tel_uri,
        registrations={r.program_id: r for r in registrations},
        confirm=ConfirmForm(),
        now=now,
        when=event_when,
        deadline=services.self_cancel_deadline,
        filed=filed_reports_for_assignments(db.session, {a.id for a in past}),
        has_feed=feeds.has_feed(db.session, current_user),
        **labels(),
    )


@bp.post("/dispatch/<int:event_id>/sign-up")
def sign_up(event_id: int) -> ResponseReturnValue:
    event = db.get_or_404(DispatchEvent, event_id)
    registration = next((r for r in _my_registrations() if r.program_id == event.program_id), None)
    if registration is None:
        abort(403)
    require_confirmed()
    save(
        lambda: services.sign_up(
            db.session, actor=current_user, event=event, registration=registration, now=now_utc()
        ),
        success=_("You have signed up. Thank you!"),
    )
    return redirect(url_for("dispatch.my_schedule"))


def _my_assignment(assignment_id: int) -> Assignment:
    assignment = db.get_or_404(Assignment, assignment_id)
    require(is_own_current_registration(current_user, assignment.registration))
    return assignment


@bp.get("/schedule/<int:assignment_id>/decline")
def confirm_decline(assignment_id: int) -> ResponseReturnValue:
    """辞退する asks first: a page of its own, so it works without JavaScript."""
    assignment = _my_assignment(assignment_id)
    if assignment.state != "assigned" or assignment.event.state == "cancelled":
        return redirect(url_for("dispatch.my_schedule"))
    return _confirm_step(assignment, "decline")


@bp.get("/schedule/<int:assignment_id>/cancel")
def confirm_cancel(assignment_id: int) -> ResponseReturnValue:
    """参加を取り消す asks first; after the cut-off the page gives the coordinator's phone."""
    assignment = _my_assignment(assignment_id)
    if assignment.state != "confirmed" or assignment.event.state == "cancelled":
        return redirect(url_for("dispatch.my_schedule"))
    return _confirm_step(assignment, "cancel")


def _confirm_step(assignment: Assignment, step: str) -> ResponseReturnValue:
    return render_template(
        "dispatch/confirm_step.html",
        a=assignment,
        e=assignment.event,
        step=step,
        confirm=ConfirmForm(),
        now=now_utc(),
        when=event_when,
        deadline=services.self_cancel_deadline,
        tel=tel_uri,
        **labels(),
    )


@bp.post("/schedule/<int:assignment_id>/answer")
def answer(assignment_id: int) -> ResponseReturnValue:
    assignment = _my_assignment(assignment_id)
    require_confirmed()
    accept = request.form.get("answer") == "confirm"
    done = _("Thank you, you are confirmed.") if accept else _("You have declined.")
    save(
        lambda: notify.answer_and_tell(
            db.session, actor=current_user, assignment=assignment, accept=accept, now=now_utc()
        ),
        success=done,
    )
    return redirect(url_for("dispatch.my_schedule"))


@bp.get("/schedule/<int:assignment_id>.ics")
def event_ics(assignment_id: int) -> Response:
    assignment = _my_assignment(assignment_id)
    body = feeds.build_calendar(
        [assignment], base_url=current_app.config["BASE_URL"], domain=_domain()
    )
    return download(body, mimetype="text/calendar", filename=f"dispatch-{assignment.id}.ics")


def _domain() -> str:
    return urlsplit(str(current_app.config["BASE_URL"])).hostname or "supporters.invalid"


@bp.route("/schedule/calendar", methods=["GET", "POST"])
def calendar_link() -> ResponseReturnValue:
    require(bool(_my_registrations()))
    form = ConfirmForm()
    link = None
    if form.validate_on_submit():
        reset = save(
            lambda: feeds.reset_feed_token(db.session, current_user, now=now_utc()),
            success=_("A new private calendar address was made; any earlier one no longer works."),
        )
        if reset.value is not None:
            link = str(current_app.config["BASE_URL"]).rstrip("/") + url_for(
                "dispatch.calendar_feed", token=reset.value
            )
    return render_template(
        "dispatch/calendar.html",
        form=form,
        link=link,
        webcal=feeds.webcal_url(link) if link else None,
        qr=feeds.qr_data_uri(feeds.webcal_url(link)) if link else None,
        has_feed=feeds.has_feed(db.session, current_user),
    )


@bp.get("/calendar/<token>.ics")
@public
@limiter.limit(lambda: current_app.config["CALENDAR_FEED_LIMIT"])
def calendar_feed(token: str) -> Response:
    user = feeds.user_for_feed(db.session, token) if len(token) < 100 else None
    if user is None or user.person_id is None:
        abort(404)
    # Only while the user is a supporter with a registration in force: the same URL stops
    # answering the moment the role is revoked or the registration withdrawn or erased.
    registration_ids = current_registration_ids(db.session, user)
    if not registration_ids:
        abort(404)
    body = feeds.build_calendar(
        feeds.feed_assignments(
            db.session, user.person_id, now=now_utc(), registration_ids=registration_ids
        ),
        base_url=current_app.config["BASE_URL"],
        domain=_domain(),
    )
    return Response(
        body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"}
    )
