"""The public check of a card or certificate (`/verify/<code>`): what it may say, and how
often each card was checked. Plain functions; they never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from supporters.audit.services import count_audit
from supporters.certificates.models import CardIssue, CertificateIssue
from supporters.db import DbSession
from supporters.people.models import Person
from supporters.programs.models import Program
from supporters.registry import services as registry
from supporters.registry.models import Status
from supporters.training.models import EnrolmentState


class VerifyStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


@dataclass(frozen=True)
class VerifyResult:
    """What the public check may say: no attribute, no contact, the holder's name only where
    the program chooses to show it."""

    kind: str  # "card" or "certificate"
    status: VerifyStatus
    program_public_name_ja: str
    program_public_name_en: str
    number: str
    valid_until: date | None
    holder_name: str | None

    def program_public_name(self, locale: str) -> str:
        return self.program_public_name_en if locale == "en" else self.program_public_name_ja


_CARD_STATUS = {
    Status.ACTIVE: VerifyStatus.VALID,
    Status.FOLLOW_UP_DUE: VerifyStatus.VALID,
    Status.LAPSED: VerifyStatus.EXPIRED,
    Status.SUSPENDED: VerifyStatus.SUSPENDED,
    Status.WITHDRAWN: VerifyStatus.REVOKED,
}


def _shown_name(program: Program, person: Person, erased: bool) -> str | None:
    return person.name if program.show_holder_name_on_verify and not erased else None


def _verify_card(session: DbSession, card: CardIssue, today: date) -> VerifyResult:
    registration = card.registration
    program = registration.program
    events = registry.events_for(session, registration)
    status = registry.status_on(registration, program, events, today)
    if card.revoked_at is not None or registration.erased_at is not None or status is None:
        result = VerifyStatus.REVOKED
    else:
        result = _CARD_STATUS[status]
    return VerifyResult(
        kind="card",
        status=result,
        program_public_name_ja=program.public_name_ja,
        program_public_name_en=program.public_name_en,
        number=card.number,
        valid_until=registry.validity_end_on(registration, events, today),
        holder_name=_shown_name(program, registration.person, registration.erased_at is not None),
    )


def _verify_certificate(certificate: CertificateIssue) -> VerifyResult:
    enrolment = certificate.enrolment
    program = enrolment.course.program
    revoked = certificate.revoked_at is not None or enrolment.state != EnrolmentState.COMPLETED
    return VerifyResult(
        kind="certificate",
        status=VerifyStatus.REVOKED if revoked else VerifyStatus.VALID,
        program_public_name_ja=program.public_name_ja,
        program_public_name_en=program.public_name_en,
        number=certificate.number,
        valid_until=None,
        holder_name=_shown_name(program, enrolment.person, False),
    )


def verify(session: DbSession, code: str, today: date) -> VerifyResult | None:
    """Check a code from a card or certificate; every check is counted in the day's counter
    (never who asked, never one row per check). None: no such code."""
    result: VerifyResult | None = None
    target: Any = None
    program_id: int | None = None
    if 8 <= len(code) <= 64:
        card = session.scalar(select(CardIssue).where(CardIssue.code == code))
        if card is not None:
            result, target = _verify_card(session, card, today), card
            program_id = card.registration.program_id
        else:
            certificate = session.scalar(
                select(CertificateIssue).where(CertificateIssue.code == code)
            )
            if certificate is not None:
                result, target = _verify_certificate(certificate), certificate
                program_id = certificate.enrolment.course.program_id
    count_audit(
        session,
        "certificate.verify",
        target,
        day=today,
        outcome=result.status.value if result else "unknown",
        program_id=program_id,
    )
    return result


def verify_counts(session: DbSession, cards: Sequence[CardIssue]) -> dict[int, int]:
    """How often each card was checked (shown to the coordinator next to the card)."""
    from supporters.audit.models import AuditCounter

    if not cards:
        return {}
    rows = session.execute(
        select(AuditCounter.target_id, func.sum(AuditCounter.count))
        .where(
            AuditCounter.action == "certificate.verify",
            AuditCounter.target_type == CardIssue.__tablename__,
            AuditCounter.target_id.in_([c.id for c in cards]),
        )
        .group_by(AuditCounter.target_id)
    ).all()
    return {int(target_id): int(count) for target_id, count in rows}
