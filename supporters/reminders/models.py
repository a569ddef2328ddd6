"""The outbox: mail is written in the same transaction as the change that causes it,
and sent after commit by whoever claims it first."""

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


class ReminderLedger(Base):
    """Each reminder decided once: (rule, subject, recipient, occurrence) is unique, and the
    row is written in the same transaction as its outbox message and notification."""

    __tablename__ = "reminder_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int]
    recipient: Mapped[str] = mapped_column(String(40))  # user:<id>, person:<id>, program:<id>
    occurrence: Mapped[str] = mapped_column(String(60))
    decided_at: Mapped[datetime] = mapped_column(default=now_utc)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id"))
    note: Mapped[str | None] = mapped_column(FittedString(200))  # e.g. no e-mail: in-app only

    __table_args__ = (
        Index(
            "uq_reminder_ledger_key",
            "rule",
            "subject_type",
            "subject_id",
            "recipient",
            "occurrence",
            unique=True,
        ),
    )


class Notification(Base):
    """The in-app notification list, with an unread count in the header."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    title: Mapped[str] = mapped_column(FittedString(200))  # made from titles
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)


class ReminderFailure(Base):
    """A reminder (or a whole rule) that failed in a pass: kept for the admin's mail page,
    tried again by every pass, and removed when it succeeds. One failing item never stops
    its rule or the other rules (`reminders.rules.decide`, `reminders.jobs.run_due`)."""

    __tablename__ = "reminder_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(FittedString(120))
    subject_type: Mapped[str] = mapped_column(String(30))  # "rule": the rule itself failed
    subject_id: Mapped[int]
    recipient: Mapped[str] = mapped_column(String(40))
    occurrence: Mapped[str] = mapped_column(String(60))
    error: Mapped[str] = mapped_column(FittedString(500))
    attempts: Mapped[int] = mapped_column(default=1)
    first_failed_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_failed_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        Index(
            "uq_reminder_failure_key",
            "rule",
            "subject_type",
            "subject_id",
            "recipient",
            "occurrence",
            unique=True,
        ),
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
