from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from supporters.accounts.models import User
from supporters.accounts.permissions import can_view_audit_log
from supporters.audit.models import AuditEvent
from supporters.core.web import require
from supporters.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 100


@bp.get("/")
def index() -> str:
    require(can_view_audit_log(current_user))
    action = (request.args.get("action") or "").strip()[:60]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_user_id)
    count_query = select(func.count()).select_from(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
        count_query = count_query.where(AuditEvent.action.startswith(action))
    total = db.session.scalar(count_query) or 0
    rows = db.session.execute(
        query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "audit/index.html", rows=rows, total=total, page=page, page_size=PAGE_SIZE, action=action
    )
