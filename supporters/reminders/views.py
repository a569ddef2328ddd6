from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select, update

from supporters.accounts.permissions import can_view_outbox
from supporters.audit.services import record_audit
from supporters.core.forms import ConfirmForm
from supporters.core.web import is_local_url, require, save
from supporters.db import now_utc, writes
from supporters.extensions import db
from supporters.mail.models import OutboxMessage, OutboxStatus
from supporters.mail.services import transport_state
from supporters.reminders.models import ReminderFailure
from supporters.reminders.services import requeue_failed

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
    failures = db.session.scalars(
        select(ReminderFailure).order_by(ReminderFailure.last_failed_at.desc()).limit(PAGE_SIZE)
    ).all()
    failed = (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.FAILED)
        )
        or 0
    )
    return render_template(
        "reminders/outbox.html",
        failures=failures,
        messages=messages,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        status=status,
        failed=failed,
        transport=transport_state(db.session),
        requeue_form=ConfirmForm(),
    )


@bp.post("/requeue")
def requeue() -> ResponseReturnValue:
    """Put failed mail (all, or the one `message_id`) back in the queue."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    one = request.form.get("message_id", type=int)
    outcome = save(
        lambda: requeue_failed(
            db.session,
            actor=current_user,
            now=now_utc(),
            message_ids=[one] if one is not None else None,
        )
    )
    if not outcome or outcome.value is None:  # a write conflict, already flashed
        return redirect(url_for("reminders.outbox"))
    requeued, dropped = outcome.value
    flash(
        _(
            "%(requeued)d message(s) queued again; %(dropped)d no longer useful and dropped.",
            requeued=requeued,
            dropped=dropped,
        ),
        "success",
    )
    return redirect(url_for("reminders.outbox", status="pending" if requeued else None))


@bp.get("/<int:message_id>")
@writes
def message(message_id: int) -> str:
    row = db.get_or_404(OutboxMessage, message_id)
    # Mail bodies carry links that act as credentials (invitations, resets): reading one is audited.
    record_audit(db.session, current_user, "mail.view", row, ip_address=request.remote_addr)
    db.session.commit()
    return render_template("reminders/message.html", message=row, requeue_form=ConfirmForm())


notifications_bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@notifications_bp.get("/")
def index() -> str:
    from supporters.reminders.models import Notification

    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(100)
    ).all()
    return render_template("reminders/notifications.html", rows=rows, confirm=ConfirmForm())


@notifications_bp.get("/<int:notification_id>")
@writes
def open_notification(notification_id: int) -> ResponseReturnValue:
    """Opening a notification marks it read and goes where it points (the list when it
    points nowhere on this site). Only the recipient's own notifications open."""
    from supporters.reminders.models import Notification

    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    if row.read_at is None:
        row.read_at = now_utc()
        db.session.commit()
    if row.link and is_local_url(row.link):
        return redirect(row.link)
    return redirect(url_for("notifications.index"))


@notifications_bp.post("/read")
def mark_read() -> ResponseReturnValue:
    from supporters.reminders.models import Notification

    if not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=now_utc())
    )
    db.session.commit()
    return redirect(url_for("notifications.index"))


@notifications_bp.route("/settings", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    from supporters.reminders.rules import OPTIONAL_RULES

    form = ConfirmForm()
    if form.validate_on_submit():
        wanted = set(request.form.getlist("rule"))
        current_user.reminder_opt_outs = sorted(set(OPTIONAL_RULES) - wanted)
        db.session.commit()
        flash(_("Your reminder settings were saved."), "success")
        return redirect(url_for("notifications.settings"))
    labels = {
        "follow_up_due": _("Follow-up training reminders"),
        "upcoming_dispatch": _("Reminders before a dispatch"),
        "training_session": _("Reminders before a training session"),
        "report_missing": _("Activity report reminders"),
        "follow_up_course": _("New follow-up courses"),
    }
    return render_template(
        "reminders/settings.html",
        form=form,
        labels=labels,
        opted_out=set(current_user.reminder_opt_outs or []),
    )
