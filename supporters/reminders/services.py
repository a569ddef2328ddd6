"""The admin's actions on the outbox that involve the reminder ledger and the accounts:
re-queueing failed mail, and the ledger's note on mail dropped unsent. (Queueing and sending
are in `supporters.mail.services`.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.db import DbSession
from supporters.mail.models import OutboxMessage, OutboxStatus
from supporters.mail.services import DROPPED_NOTE, ON_DROPPED
from supporters.reminders.models import ReminderLedger


def note_dropped(session: DbSession, message_ids: list[int]) -> None:
    """The ledger rows of mail dropped unsent say so (the coordinator tells them otherwise)."""
    session.execute(
        update(ReminderLedger)
        .where(ReminderLedger.outbox_message_id.in_(message_ids))
        .values(note=DROPPED_NOTE)
        .execution_options(synchronize_session=False)
    )


ON_DROPPED.append(note_dropped)


def requeue_failed(
    session: DbSession,
    *,
    actor: Any,
    now: datetime,
    message_ids: list[int] | None = None,
) -> tuple[int, int]:
    """Put failed messages (all, or those in `message_ids`) back in the queue with fresh
    attempts, to the user's current address; one that has expired meanwhile is dropped
    instead. Returns (re-queued,
    dropped). Audited; does not commit."""
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
    if message_ids is not None:
        query = query.where(OutboxMessage.id.in_(message_ids))
    requeued: list[int] = []
    dropped: list[int] = []
    for message in session.scalars(query.order_by(OutboxMessage.id).with_for_update()):
        if message.expires_at is not None and message.expires_at <= now:
            message.status = OutboxStatus.DROPPED
            message.last_error = DROPPED_NOTE
            dropped.append(message.id)
            continue
        message.status = OutboxStatus.PENDING
        message.attempts = 0
        message.next_attempt_at = now
        message.lease_until = None
        if message.recipient_user_id is not None:
            # A 550 is often a mistyped address that has been corrected since.
            user = session.get(User, message.recipient_user_id)
            if user is not None and user.email and user.email != message.recipient:
                message.recipient = user.email
        requeued.append(message.id)
    if dropped:
        note_dropped(session, dropped)
    if requeued or dropped:
        record_audit(
            session,
            actor,
            "mail.requeue",
            detail={"requeued": requeued, "dropped": dropped},
        )
    session.flush()
    return len(requeued), len(dropped)
