"""The audit log page (admins): its blueprint keeps the name `audit` and the URL /audit/.
It lives here, at the top, because it shows accounts (who did it); the audit package below
every feature only records."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from supporters.accounts.permissions import can_view_audit_log
from supporters.core.web import require
from supporters.extensions import db
from supporters.main.services import AUDIT_PAGE_SIZE, audit_log_page

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
def index() -> str:
    require(can_view_audit_log(current_user))
    action = (request.args.get("action") or "").strip()[:60]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = audit_log_page(db.session, action=action, page=page)
    return render_template(
        "audit/index.html",
        rows=rows,
        total=total,
        page=page,
        page_size=AUDIT_PAGE_SIZE,
        action=action,
    )
