"""Issuing, reissuing and revoking supporter cards and completion certificates (one
mechanism, parametrised by the kind), and what goes on them. Plain functions; they never
commit. The PDF drawing itself is pure (`pdf.py`, `training.pdf`); these functions build its
input. The public check is `verification.py`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import contains_eager, selectinload

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.certificates.models import CardIssue, CertificateIssue, IssueRecord
from supporters.certificates.pdf import CARD_DESIGNS, CardData
from supporters.core.time import local_date
from supporters.db import DbSession, ServiceError
from supporters.pdf.errors import PdfInputError
from supporters.pdf.fonts import FontPath, check_printable
from supporters.people.models import Person
from supporters.programs.models import Program
from supporters.registry import services as registry
from supporters.registry.models import Registration, RegistrationEvent, Status
from supporters.training.models import Enrolment, EnrolmentState
from supporters.training.pdf import CompletionData

CODE_BYTES = 16  # 128 random bits: 22 URL-safe characters

# What the card says about a registration that is not in force on the day it is printed.
STATUS_NOTES = {Status.LAPSED: "失効", Status.SUSPENDED: "停止中"}
# `--status active` and the sheet form's "active": every registration in force.
IN_FORCE = (Status.ACTIVE, Status.FOLLOW_UP_DUE)
SHEET_STATUSES = ("active", "lapsed", "suspended", "all")
# Above this many cards, a sheet's progress is reported (the log, or the command's stderr).
LARGE_SHEET = 200


def new_code(session: DbSession) -> str:
    """A random, non-sequential verification code, unused by any card or certificate."""
    while True:
        code = secrets.token_urlsafe(CODE_BYTES)
        taken = session.scalar(
            select(
                exists().where(CardIssue.code == code)
                | exists().where(CertificateIssue.code == code)
            )
        )
        if not taken:
            return code


def verify_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{code}"


def _refuse_withdrawn(registration: Registration) -> None:
    if registration.withdrawn_on is not None or registration.erased_at is not None:
        raise ServiceError(
            None,
            str(
                _l(
                    "Registration %(number)s has been withdrawn; no card is printed for it.",
                    number=registration.number,
                )
            ),
            code="registration_withdrawn",
        )


def check_printable_name(person: Person, font_path: FontPath | None = None) -> None:
    """Refuse a name the PDF font cannot draw, asking for the 印字用氏名 (print name)."""
    try:
        check_printable(person.printable_name, "holder_name", font_path)
    except PdfInputError as error:
        raise ServiceError("print_name", error.message, code="unprintable_name") from error


# --- issue, reissue, revoke: one mechanism for cards and certificates -----------------

IssueT = TypeVar("IssueT", bound=IssueRecord)


@dataclass(frozen=True)
class IssueKind(Generic[IssueT]):
    """Cards and completion certificates differ only in these."""

    model: type[IssueT]
    owner: str  # the column naming what it is issued for
    action: str  # the audit actions: f"{action}_issue", f"{action}_reissue", ...
    revoked: Callable[[str], str]  # why a revoked one is not printed again
    revoked_code: str


CARD = IssueKind(
    CardIssue,
    "registration_id",
    "certificate.card",
    lambda number: str(
        _l("Card %(number)s was revoked. A coordinator can reissue it.", number=number)
    ),
    "card_revoked",
)
COMPLETION = IssueKind(
    CertificateIssue,
    "enrolment_id",
    "certificate.completion",
    lambda number: str(
        _l("Certificate %(number)s was revoked. It can be reissued.", number=number)
    ),
    "certificate_revoked",
)


@dataclass(frozen=True)
class _Owner:
    """What an issue is for: its id, its program (for the audit log) and the number each
    version gets."""

    id: int
    program_id: int
    number: Callable[[int], str]


def _latest(session: DbSession, kind: IssueKind[IssueT], owner_id: int) -> IssueT | None:
    model = kind.model
    return session.scalar(
        select(model)
        .where(getattr(model, kind.owner) == owner_id)
        .order_by(model.version.desc())
        .limit(1)
    )


def _record(
    session: DbSession,
    kind: IssueKind[IssueT],
    owner: _Owner,
    *,
    actor: User | None,
    version: int,
    now: datetime,
    action: str,
) -> IssueT:
    number = owner.number(version)
    issue = kind.model(
        number=number,
        version=version,
        code=new_code(session),
        issued_at=now,
        issued_by_id=actor.id if actor else None,
        **{kind.owner: owner.id},
    )
    session.add(issue)
    session.flush()
    record_audit(
        session,
        actor,
        f"{kind.action}_{action}",
        issue,
        program_id=owner.program_id,
        detail={"number": number, "version": version},
    )
    return issue


def _issue(
    session: DbSession, kind: IssueKind[IssueT], owner: _Owner, *, actor: User | None, now: datetime
) -> IssueT:
    """The issue in force: the current version, or version 1 the first time. A revoked one
    stays revoked: only a reissue makes a new one."""
    latest = _latest(session, kind, owner.id)
    if latest is None:
        return _record(session, kind, owner, actor=actor, version=1, now=now, action="issue")
    if latest.revoked_at is not None:
        raise ServiceError(None, kind.revoked(latest.number), code=kind.revoked_code)
    return latest


def _reissue(
    session: DbSession,
    kind: IssueKind[IssueT],
    owner: _Owner,
    *,
    actor: User | None,
    now: datetime,
    reason: str,
) -> IssueT:
    """A new version; the previous one is revoked (with the reason), not deleted."""
    latest = _latest(session, kind, owner.id)
    version = latest.version + 1 if latest else 1
    issue = _record(session, kind, owner, actor=actor, version=version, now=now, action="reissue")
    if latest is not None:
        if latest.revoked_at is None:
            _mark_revoked(latest, actor=actor, now=now, reason=reason)
        latest.superseded_by_id = issue.id
    return issue


def _mark_revoked(issue: IssueRecord, *, actor: User | None, now: datetime, reason: str) -> None:
    issue.revoked_at = now
    issue.revocation_reason = reason[:500]
    issue.revoked_by_id = actor.id if actor else None


def _reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ServiceError("reason", str(_l("Give a reason.")), code="reason_missing")
    return reason


def _card_owner(registration: Registration) -> _Owner:
    return _Owner(
        registration.id, registration.program_id, lambda version: f"{registration.number}-{version}"
    )


def _certificate_owner(enrolment: Enrolment, number: str) -> _Owner:
    return _Owner(enrolment.id, enrolment.course.program_id, lambda version: number)


# --- supporter cards ------------------------------------------------------------------


def card_history(session: DbSession, registration: Registration) -> list[CardIssue]:
    """Every card issued for the registration, newest first."""
    return list(
        session.scalars(
            select(CardIssue)
            .where(CardIssue.registration_id == registration.id)
            .order_by(CardIssue.version.desc())
        )
    )


def issue_card(
    session: DbSession,
    *,
    actor: User | None,
    registration: Registration,
    now: datetime,
    font_path: FontPath | None = None,
) -> CardIssue:
    """The card in force for the registration: the current version, or version 1 the first
    time. A card revoked without a reissue stays revoked: only a reissue makes a new one."""
    _refuse_withdrawn(registration)
    check_printable_name(registration.person, font_path)
    return _issue(session, CARD, _card_owner(registration), actor=actor, now=now)


def reissue_card(
    session: DbSession,
    *,
    actor: User | None,
    registration: Registration,
    now: datetime,
    reason: str,
    font_path: FontPath | None = None,
) -> CardIssue:
    """A new version (a lost or damaged card); the previous one is revoked, not deleted."""
    reason = _reason(reason)
    _refuse_withdrawn(registration)
    check_printable_name(registration.person, font_path)
    owner = _card_owner(registration)
    return _reissue(session, CARD, owner, actor=actor, now=now, reason=reason)


def revoke_card(
    session: DbSession, *, actor: User | None, card: CardIssue, now: datetime, reason: str
) -> None:
    reason = _reason(reason)
    if card.revoked_at is not None:
        raise ServiceError(
            None, str(_l("This card has already been revoked.")), code="already_revoked"
        )
    _mark_revoked(card, actor=actor, now=now, reason=reason)
    record_audit(
        session,
        actor,
        f"{CARD.action}_revoke",
        card,
        program_id=card.registration.program_id,
        detail={"number": card.number},
    )


def card_design(program: Program) -> str:
    """The card design the program's row names (Tochigi's is also used by Nasu's council,
    whose courses run under the Tochigi program); an unknown name falls back to the standard."""
    return program.card_design if program.card_design in CARD_DESIGNS else "default"


def _card_data(
    card: CardIssue,
    registration: Registration,
    person: Person,
    status: Status | None,
    valid_until: date | None,
    *,
    base_url: str,
    issuer_name: str,
) -> CardData:
    program = registration.program
    return CardData(
        program_public_name=program.public_name_ja,
        holder_name=person.printable_name,
        holder_reading=person.name_reading,
        registration_number=card.number,
        registration_date=registration.registered_on,
        valid_until=valid_until,
        issuer_name=issuer_name,
        verify_url=verify_url(base_url, card.code),
        design=card_design(program),
        status_note=STATUS_NOTES.get(status) if status else None,
    )


def card_data(
    session: DbSession,
    card: CardIssue,
    *,
    today: date,
    base_url: str,
    font_path: FontPath | None = None,
) -> CardData:
    """What the card says on `today`: a lapsed or suspended registration is marked 失効 or
    停止中 across the card; a withdrawn one is refused."""
    registration = card.registration
    _refuse_withdrawn(registration)
    check_printable_name(registration.person, font_path)
    events = registry.events_for(session, registration)
    status = registry.status_on(registration, registration.program, events, today)
    return _card_data(
        card,
        registration,
        registration.person,
        status,
        registry.validity_end_on(registration, events, today),
        base_url=base_url,
        issuer_name=registration.issuing_organisation.name,
    )


# --- card sheets ----------------------------------------------------------------------


@dataclass(frozen=True)
class SheetSelection:
    program: Program
    day: date
    status: str = "active"  # one of SHEET_STATUSES
    registered_from: date | None = None
    registered_to: date | None = None
    # The issuing organisations: None for all (the program's coordinators), else these only
    # (an organisation's coordinators print their own supporters' cards).
    organisation_ids: frozenset[int] | None = None


def select_for_sheet(session: DbSession, selection: SheetSelection) -> list[Registration]:
    """The registrations of a selection in フリガナ order; never a withdrawn one."""
    if selection.status not in SHEET_STATUSES:
        raise ServiceError(
            "status", str(_l("Choose a status from the list.")), code="unknown_status"
        )
    if (
        selection.registered_from
        and selection.registered_to
        and selection.registered_from > selection.registered_to
    ):
        raise ServiceError(
            "registered_to",
            str(_l("The end of the period is before its start.")),
            code="period_reversed",
        )
    status = registry.status_sql(selection.program, selection.day)
    query = (
        select(Registration)
        .join(Person, Person.id == Registration.person_id)
        .where(
            Registration.program_id == selection.program.id,
            Registration.registered_on <= selection.day,
            Registration.withdrawn_on.is_(None),
            Registration.erased_at.is_(None),
        )
        .order_by(Person.name_reading, Person.id)
        .options(
            contains_eager(Registration.person),
            selectinload(Registration.issuing_organisation),
        )
    )
    if selection.status == "active":
        query = query.where(status.in_([s.value for s in IN_FORCE]))
    elif selection.status != "all":
        query = query.where(status == selection.status)
    if selection.registered_from:
        query = query.where(Registration.registered_on >= selection.registered_from)
    if selection.registered_to:
        query = query.where(Registration.registered_on <= selection.registered_to)
    if selection.organisation_ids is not None:
        query = query.where(Registration.issuing_organisation_id.in_(selection.organisation_ids))
    return list(session.scalars(query))


@dataclass
class SheetCards:
    cards: list[CardData]
    skipped: list[str]  # registration numbers whose card was revoked without a reissue


def issue_sheet(
    session: DbSession,
    *,
    actor: User | None,
    registrations: Sequence[Registration],
    now: datetime,
    base_url: str,
    font_path: FontPath | None = None,
) -> SheetCards:
    """Issue (or reuse) the card of every registration and build what goes on the sheet, in
    a few queries whatever the size. An unprintable name refuses the whole sheet, naming the
    registration, before anything is issued."""
    today = local_date(now)
    ids = [r.id for r in registrations]
    for registration in registrations:
        _refuse_withdrawn(registration)
        try:
            check_printable_name(registration.person, font_path)
        except ServiceError as error:
            raise ServiceError(
                error.field, f"{registration.number}: {error.message}", code=error.code
            ) from error
    latest: dict[int, CardIssue] = {}
    for chunk in _chunks(ids, 500):
        for issued in session.scalars(
            select(CardIssue)
            .where(CardIssue.registration_id.in_(chunk))
            .order_by(CardIssue.registration_id, CardIssue.version)
        ):
            latest[issued.registration_id] = issued  # the highest version wins
    events: dict[int, list[RegistrationEvent]] = {i: [] for i in ids}
    for chunk in _chunks(ids, 500):
        for event in session.scalars(
            select(RegistrationEvent)
            .where(RegistrationEvent.registration_id.in_(chunk))
            .order_by(RegistrationEvent.occurred_on, RegistrationEvent.id)
        ):
            events[event.registration_id].append(event)
    cards: list[CardData] = []
    skipped: list[str] = []
    new: list[CardIssue] = []
    for registration in registrations:
        card: CardIssue | None = latest.get(registration.id)
        if card is not None and card.revoked_at is not None:
            skipped.append(registration.number)
            continue
        if card is None:
            card = CardIssue(
                registration_id=registration.id,
                number=f"{registration.number}-1",
                version=1,
                # 128 random bits: a clash is not worth a query per card (the index refuses it)
                code=secrets.token_urlsafe(CODE_BYTES),
                issued_at=now,
                issued_by_id=actor.id if actor else None,
            )
            new.append(card)
        reg_events = events[registration.id]
        cards.append(
            _card_data(
                card,
                registration,
                registration.person,
                registry.status_on(registration, registration.program, reg_events, today),
                registry.validity_end_on(registration, reg_events, today),
                base_url=base_url,
                issuer_name=registration.issuing_organisation.name,
            )
        )
    if new:
        session.add_all(new)
        session.flush()
    program_id = registrations[0].program_id if registrations else None
    record_audit(
        session,
        actor,
        "certificate.sheet_issue",
        None,
        program_id=program_id,
        detail={"cards": len(cards), "new": len(new), "skipped": len(skipped)},
    )
    return SheetCards(cards=cards, skipped=skipped)


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- completion certificates ----------------------------------------------------------


def _require_completed(enrolment: Enrolment) -> str:
    if enrolment.state != EnrolmentState.COMPLETED or not enrolment.completion_number:
        raise ServiceError(
            None,
            str(_l("A completion certificate is only issued for a completed training.")),
            code="not_completed",
        )
    return enrolment.completion_number


def issue_certificate(
    session: DbSession,
    *,
    actor: User | None,
    enrolment: Enrolment,
    now: datetime,
    font_path: FontPath | None = None,
) -> CertificateIssue:
    """The certificate in force for a completed enrolment (version 1 the first time)."""
    number = _require_completed(enrolment)
    check_printable_name(enrolment.person, font_path)
    owner = _certificate_owner(enrolment, number)
    return _issue(session, COMPLETION, owner, actor=actor, now=now)


def reissue_certificate(
    session: DbSession,
    *,
    actor: User | None,
    enrolment: Enrolment,
    now: datetime,
    reason: str,
    font_path: FontPath | None = None,
) -> CertificateIssue:
    """A new version of the certificate; the previous one is revoked, not deleted."""
    reason = _reason(reason)
    number = _require_completed(enrolment)
    check_printable_name(enrolment.person, font_path)
    owner = _certificate_owner(enrolment, number)
    return _reissue(session, COMPLETION, owner, actor=actor, now=now, reason=reason)


def completion_data(
    certificate: CertificateIssue, *, today: date, font_path: FontPath | None = None
) -> CompletionData:
    enrolment = certificate.enrolment
    _require_completed(enrolment)
    check_printable_name(enrolment.person, font_path)
    course = enrolment.course
    sessions = course.sessions
    hours = sum(s.hours for s in sessions)
    first = min((s.date for s in sessions), default=enrolment.completed_on or today)
    last = max((s.date for s in sessions), default=enrolment.completed_on or today)
    return CompletionData(
        completion_number=certificate.number,
        holder_name=enrolment.person.printable_name,
        course_title=course.title,
        session_count=len(sessions),
        total_hours=hours or None,
        first_date=first,
        last_date=last,
        organiser_name=course.organiser.name,
        issue_date=today,
        seal_image=course.organiser.seal_png,
    )
