"""The outbox: mail is written in the same transaction as the change that causes it,
and sent after commit by whoever claims it first. And the state of the background services
(the mail transport, the scheduler, each reminder rule's last pass)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supporters.db import Base, FittedString, now_utc


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting to be sent (or retried after next_attempt_at)
    SENT = "sent"
    KEPT = "kept"  # no SMTP configured: kept for the admin's mail view
    FAILED = "failed"  # permanent failure, shown to admins (who may re-queue it)
    DROPPED = "dropped"  # no longer useful when it could be sent (e.g. after an outage)


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    subject: Mapped[str] = mapped_column(FittedString(200))  # made from titles
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now_utc)
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(FittedString(500))
    # After this moment the message says nothing useful (a reminder about an event that has
    # begun): a pending one is dropped, with a note, instead of sent late.
    expires_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sent', 'kept', 'failed', 'dropped')", name="status"
        ),
        Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
    )


class ServiceState(Base):
    """One row per background service, shared by every process: the mail transport
    (`smtp`: consecutive failures to reach the server and when to try it again) and the
    scheduler (`scheduler`: its last heartbeat). Read by `/healthz` and the admin Mail page."""

    __tablename__ = "service_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)
    failures: Mapped[int] = mapped_column(default=0)
    since: Mapped[datetime | None]  # first failure of the current outage
    next_try_at: Mapped[datetime | None]  # the whole queue waits until then
    detail: Mapped[str | None] = mapped_column(String(500))
