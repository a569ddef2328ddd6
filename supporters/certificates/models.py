"""Issue records: every supporter card (サポーター証) and completion certificate (修了証) printed.

A reissue makes a new version and revokes the previous one; nothing is deleted, so the
history of a card (issued, reissued, revoked) stays. Suspension and lapse are not stored
here: they come from the registration's status on the day a card is checked.

Both kinds are the same record of a different owner (a registration, an enrolment), in two
tables; `IssueRecord` holds what they share, and `services` one mechanism for both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supporters.db import Base, now_utc
from supporters.registry.models import Registration
from supporters.training.models import Enrolment


class IssueRecord(Base):
    """What every printed version records (no table of its own)."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    # Random, non-sequential code of the public check (/verify/<code>).
    code: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    issued_at: Mapped[datetime] = mapped_column(default=now_utc)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    number: Mapped[str]
    superseded_by_id: Mapped[int | None]


class CardIssue(IssueRecord):
    """One printed version of a supporter card."""

    __tablename__ = "card_issue"

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    # The card number: the registration number and the version, e.g. "T-2023-0001-2".
    number: Mapped[str] = mapped_column(String(60), unique=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("card_issue.id"))

    registration: Mapped[Registration] = relationship()

    __table_args__ = (
        UniqueConstraint("registration_id", "version"),
        CheckConstraint("version > 0", name="version_positive"),
    )


class CertificateIssue(IssueRecord):
    """One printed version of a completion certificate."""

    __tablename__ = "certificate_issue"

    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    # The completion number of the enrolment; the version tells reprints apart.
    number: Mapped[str] = mapped_column(String(60))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_issue.id"))

    enrolment: Mapped[Enrolment] = relationship()

    __table_args__ = (
        UniqueConstraint("enrolment_id", "version"),
        CheckConstraint("version > 0", name="version_positive"),
    )
