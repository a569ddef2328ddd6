"""Who did what to which record, when (UTC)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from supporters.db import Base, now_utc


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None]
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_event_target", "target_type", "target_id"),)


class AuditCounter(Base):
    """How often something anonymous happened on a day (e.g. the public certificate check):
    one row per day, action, target and outcome, counted up, instead of one audit row per
    request, so anonymous visitors cannot grow the audit log."""

    __tablename__ = "audit_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]  # in Japan time
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40), default="")  # "": none
    target_id: Mapped[int] = mapped_column(default=0)  # 0: none
    outcome: Mapped[str] = mapped_column(String(20), default="")
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"))
    count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("day", "action", "target_type", "target_id", "outcome"),
        Index("ix_audit_counter_target", "target_type", "target_id"),
    )
