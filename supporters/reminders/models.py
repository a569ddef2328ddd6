"""The reminder ledger, the in-app notifications and the reminders that failed. (The outbox
and the services' state are in `supporters.mail.models`.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supporters.db import Base, FittedString, now_utc

# What makes a reminder one: the ledger and the failures are unique on it.
KEY_COLUMNS = ("rule", "subject_type", "subject_id", "recipient", "occurrence")


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

    __table_args__ = (Index("uq_reminder_ledger_key", *KEY_COLUMNS, unique=True),)


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

    __table_args__ = (Index("uq_reminder_failure_key", *KEY_COLUMNS, unique=True),)
