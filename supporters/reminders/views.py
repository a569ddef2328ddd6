from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from supporters.accounts.permissions import can_view_outbox, require
from supporters.audit.services import record_audit
from supporters.extensions import db
from supporters.reminders.models import OutboxMessage

bp = Blueprint("reminders", __name__, url_prefix="/mail")

PAGE_SIZE = 50


@bp.before_request
def admins_only() -> None:
    require(can_view_outbox(current_user))


@bp.get("/")
def outbox() -> str:
    status = request.args.get("status") or None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    messages = db.session.scalars(
        query.order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "reminders/outbox.html",
        messages=messages,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        status=status,
    )


@bp.get("/<int:message_id>")
def message(message_id: int) -> str:
    row = db.session.get(OutboxMessage, message_id)
    if row is None:
        abort(404)
    # Mail bodies carry links that act as credentials (invitations, resets): reading one is audited.
    record_audit(db.session, current_user, "mail.view", row, ip_address=request.remote_addr)
    db.session.commit()
    return render_template("reminders/message.html", message=row)
