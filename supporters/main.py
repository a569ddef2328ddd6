"""Start page, health check and the language switch."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from supporters.accounts.forms import ROLE_LABELS, LanguageForm
from supporters.extensions import db
from supporters.web import is_local_url, public

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> str:
    return render_template("main/index.html", role_labels=ROLE_LABELS)


@bp.get("/healthz")
@public
def healthz() -> tuple[Response, int]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    db.session.rollback()
    return jsonify(status="ok", database="ok"), 200


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
