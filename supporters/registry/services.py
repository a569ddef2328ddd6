"""The register: registering completers, renewing through follow-up training, suspensions
and withdrawals, status on any date. Activity reports are in activity_reports.py, the lists
and pages in queries.py. Plain functions; they never commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, exists, false, func, literal, or_, select
from sqlalchemy.sql.elements import Label

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.dates import add_months, fiscal_year_bounds
from supporters.core.time import today_in_japan
from supporters.db import DbSession, ServiceError
from supporters.people.models import Person
from supporters.programs.models import (
    Municipality,
    Program,
    ProgramRule,
    RegistrationMode,
    RenewalRule,
    rules_on,
)
from supporters.programs.services import find_municipality, next_number
from supporters.registry.models import (
    EventKind,
    NoActivityDeclaration,
    Registration,
    RegistrationEvent,
    Status,
)
from supporters.training.models import Course, CourseKind, Enrolment, EnrolmentState

# --- registering ----------------------------------------------------------------------


def current_registration(
    session: DbSession, program_id: int, person_id: int
) -> Registration | None:
    return session.scalar(
        select(Registration).where(
            Registration.program_id == program_id,
            Registration.person_id == person_id,
            Registration.withdrawn_on.is_(None),
        )
    )


def register_enrolment(
    session: DbSession,
    *,
    actor: User | None,
    enrolment: Enrolment,
    on: date,
    main_municipality: Municipality | None = None,
    consent_share_contact: bool = False,
    form_received: bool = False,
    today: date | None = None,
) -> Registration:
    """Register a trainee who completed initial training (one step for the coordinator).
    With `today`, a registration dated after it is refused: it would be missing from
    today's register."""
    course = enrolment.course
    program = course.program
    if enrolment.state != EnrolmentState.COMPLETED or course.kind != CourseKind.INITIAL:
        raise ServiceError(
            None,
            str(_l("Only trainees who completed initial training can be registered.")),
            code="initial_training_not_completed",
        )
    if program.registration_mode == RegistrationMode.ON_REQUEST and not form_received:
        raise ServiceError(
            "form_received",
            str(
                _l("In this program, only those who hand in the registration form are registered.")
            ),
            code="registration_form_missing",
        )
    if current_registration(session, program.id, enrolment.person_id) is not None:
        raise ServiceError(
            None,
            str(_l("%(name)s is already registered in this program.", name=enrolment.person.name)),
            code="already_registered",
        )
    if enrolment.completed_on and on < enrolment.completed_on:
        raise ServiceError(
            "on",
            str(_l("The registration date is before the completion.")),
            code="registered_before_completion",
        )
    if today is not None and on > today:
        raise ServiceError(
            "on", str(_l("The registration date is in the future.")), code="registered_in_future"
        )
    number = program.format_registration_number(
        on.year, next_number(session, program, "registration", on.year)
    )
    valid_until = initial_validity(program, on)
    registration = Registration(
        program_id=program.id,
        person_id=enrolment.person_id,
        enrolment_id=enrolment.id,
        number=number,
        registered_on=on,
        issuing_organisation_id=course.organiser_id,
        main_municipality_id=main_municipality.id if main_municipality else None,
        consent_share_contact=consent_share_contact,
        initial_valid_until=valid_until,
        valid_until=valid_until,
        created_by_id=actor.id if actor else None,
    )
    session.add(registration)
    session.flush()
    registered = _event(
        session,
        registration,
        EventKind.REGISTERED,
        on,
        actor,
        valid_until=valid_until,
        enrolment_id=enrolment.id,
    )
    keep_status(session, registration, today=today, events=[registered])
    record_audit(
        session,
        actor,
        "registration.create",
        registration,
        program_id=program.id,
        detail={"number": number},
    )
    return registration


def register_completed(session: DbSession, *, actor: User, course: Course, today: date) -> int:
    """Register everyone who completed the course and is not registered yet, in one step:
    on their completion day, in their residence where it lies in the program's prefecture.
    Programs where registration is optional register one by one, by form. Returns how many
    were registered."""
    program = course.program
    if program.registration_mode == RegistrationMode.ON_REQUEST:
        raise ServiceError(
            None,
            str(_l("In this program, register each trainee who hands in the form.")),
            code="registration_on_request",
        )
    done = 0
    for enrolment in session.scalars(
        select(Enrolment).where(
            Enrolment.course_id == course.id, Enrolment.state == EnrolmentState.COMPLETED
        )
    ):
        if current_registration(session, course.program_id, enrolment.person_id):
            continue
        residence = enrolment.person.residence_municipality
        register_enrolment(
            session,
            actor=actor,
            enrolment=enrolment,
            on=enrolment.completed_on or today,
            main_municipality=residence
            if residence and residence.prefecture == program.prefecture
            else None,
        )
        done += 1
    return done


def initial_validity(program: Program, on: date) -> date | None:
    """The validity end of a registration made on `on`, by the rules in force that day."""
    rules = rules_on(program, on)
    if not (rules.follow_up_interval_months and rules.follow_up_mandatory):
        return None
    return add_months(on, rules.follow_up_interval_months)


def find_place(
    session: DbSession, program: Program, raw: str | None, field: str
) -> Municipality | None:
    """The municipality named in a form's `field`, in the program's prefecture; None when
    the field is empty."""
    if not raw or not raw.strip():
        return None
    try:
        return find_municipality(session, raw, prefecture=program.prefecture)
    except ServiceError as error:
        raise ServiceError(field, error.message, code=error.code) from error


def _event(
    session: DbSession,
    registration: Registration,
    kind: EventKind,
    on: date,
    actor: User | None,
    **values: Any,
) -> RegistrationEvent:
    event = RegistrationEvent(
        registration_id=registration.id,
        kind=kind,
        occurred_on=on,
        actor_id=actor.id if actor else None,
        **values,
    )
    session.add(event)
    session.flush()
    return event


def events_for(session: DbSession, registration: Registration) -> list[RegistrationEvent]:
    return list(
        session.scalars(
            select(RegistrationEvent)
            .where(RegistrationEvent.registration_id == registration.id)
            .order_by(RegistrationEvent.occurred_on, RegistrationEvent.id)
        )
    )


# --- status on any date ---------------------------------------------------------------


def validity_end_on(
    registration: Registration, events: list[RegistrationEvent], day: date
) -> date | None:
    ends = [
        e.valid_until
        for e in events
        if e.kind == EventKind.RENEWED and e.occurred_on <= day and e.valid_until
    ]
    return max(ends) if ends else registration.initial_valid_until


def status_on(
    registration: Registration, program: Program, events: list[RegistrationEvent], day: date
) -> Status | None:
    """The status on `day`; None before the registration date."""
    if day < registration.registered_on:
        return None
    if registration.withdrawn_on and registration.withdrawn_on <= day:
        return Status.WITHDRAWN
    toggles = [
        e
        for e in events
        if e.kind in (EventKind.SUSPENDED, EventKind.REINSTATED) and e.occurred_on <= day
    ]
    if toggles and toggles[-1].kind == EventKind.SUSPENDED:
        return Status.SUSPENDED
    end = validity_end_on(registration, events, day)
    if end is None:
        return Status.ACTIVE
    if day > end:
        return Status.LAPSED
    if day >= end - timedelta(days=rules_on(program, day).follow_up_window_days):
        return Status.FOLLOW_UP_DUE
    return Status.ACTIVE


def validity_end_sql(day: date) -> ColumnElement[Any]:
    latest_renewal = (
        select(func.max(RegistrationEvent.valid_until))
        .where(
            RegistrationEvent.registration_id == Registration.id,
            RegistrationEvent.kind == EventKind.RENEWED,
            RegistrationEvent.occurred_on <= day,
        )
        .scalar_subquery()
    )
    return func.coalesce(latest_renewal, Registration.initial_valid_until)


def status_sql(program: Program, day: date) -> Label[Any]:
    """The same rules as `status_on`, as one SQL expression, so lists and counts on any date
    are one query whatever the size of the register. Two correlated subqueries per row: for
    today, `status_today_sql` reads the stored columns instead; this one stays for a past
    (or future) date, the reports and the daily refresh."""
    last_toggle = (
        select(RegistrationEvent.kind)
        .where(
            RegistrationEvent.registration_id == Registration.id,
            RegistrationEvent.kind.in_((EventKind.SUSPENDED, EventKind.REINSTATED)),
            RegistrationEvent.occurred_on <= day,
        )
        .order_by(RegistrationEvent.occurred_on.desc(), RegistrationEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    end = validity_end_sql(day)
    window_opens_by = day + timedelta(days=rules_on(program, day).follow_up_window_days)
    return case(
        (
            and_(Registration.withdrawn_on.is_not(None), Registration.withdrawn_on <= day),
            literal(Status.WITHDRAWN.value),
        ),
        (last_toggle == EventKind.SUSPENDED.value, literal(Status.SUSPENDED.value)),
        (end.is_(None), literal(Status.ACTIVE.value)),
        (end < day, literal(Status.LAPSED.value)),
        (end <= window_opens_by, literal(Status.FOLLOW_UP_DUE.value)),
        else_=literal(Status.ACTIVE.value),
    ).label("status")


def status_counts(
    session: DbSession,
    program: Program,
    day: date,
    *,
    organisation_ids: Collection[int] | None = None,
) -> dict[str, int]:
    """Registrations per status on `day`, of the issuing organisations given if any: for
    today, one grouped range scan of the index on the stored columns; for another day,
    computed from the history (`status_sql`)."""
    status = status_today_sql(program, day) if day == today_in_japan() else status_sql(program, day)
    query = (
        select(status, func.count())
        .select_from(Registration)
        .where(Registration.program_id == program.id, Registration.registered_on <= day)
        .group_by(status)
    )
    if organisation_ids is not None:
        query = query.where(Registration.issuing_organisation_id.in_(organisation_ids))
    rows = session.execute(query).all()
    counts = {s.value: 0 for s in Status}
    counts.update({row[0]: row[1] for row in rows})
    return counts


# --- today's status, stored -----------------------------------------------------------
#
# The registration stores today's status, its validity end (`valid_until`, the latest
# renewal) and the day its follow-up window opens (`follow_up_due`). Every service that
# changes a registration rewrites them in the same transaction (`keep_status`); between two
# such writes only the passing of days moves a status, and only through the validity dates:
# active -> follow-up due -> lapsed. So lists do not trust the stored status for those three:
# `status_today_sql` takes the stored status where it is suspended or withdrawn and otherwise
# compares the row's own `valid_until` with today and the program's window (no subquery, no
# event rows), which is true even on a day the daily refresh (registry/status_refresh.py) has
# not run yet, and after a change of the program's window. The refresh rewrites the stored
# values from the history (`status_sql`) for the rest: the stored three-way status itself,
# `follow_up_due` after a rule change, and any event dated after the day it was written
# (suspensions, reinstatements, withdrawals and attendance are written on their own day).

IN_FORCE = (Status.ACTIVE.value, Status.FOLLOW_UP_DUE.value, Status.LAPSED.value)


def keep_status(
    session: DbSession,
    registration: Registration,
    *,
    today: date | None = None,
    events: list[RegistrationEvent] | None = None,
) -> None:
    """Store the registration's status and follow-up due date as of `today` (Japan's today
    when left out), from its history (`events`: all of them, loaded when left out)."""
    day = today or today_in_japan()
    program = registration.program
    if events is None:
        events = events_for(session, registration)
    registration.status = (status_on(registration, program, events, day) or Status.ACTIVE).value
    registration.follow_up_due = window_opens(program, registration.valid_until, day)


def window_opens(program: Program, end: date | None, today: date) -> date | None:
    """The day the follow-up window (by the rules in force `today`) opens before the
    validity end `end`."""
    if end is None:
        return None
    return end - timedelta(days=rules_on(program, today).follow_up_window_days)


def status_today_sql(program: Program, today: date) -> Label[Any]:
    """Today's status of the program's registrations from the row's own stored columns only
    (see above): what `status_sql(program, today)` gives, without its subqueries."""
    end = Registration.valid_until
    return case(
        (Registration.status == Status.WITHDRAWN.value, literal(Status.WITHDRAWN.value)),
        (Registration.status == Status.SUSPENDED.value, literal(Status.SUSPENDED.value)),
        (end.is_(None), literal(Status.ACTIVE.value)),
        (end < today, literal(Status.LAPSED.value)),
        (
            end <= today + timedelta(days=rules_on(program, today).follow_up_window_days),
            literal(Status.FOLLOW_UP_DUE.value),
        ),
        else_=literal(Status.ACTIVE.value),
    ).label("status")


def status_today_filter(program: Program, today: date, status: str) -> ColumnElement[bool]:
    """`status_today_sql(program, today) == status` as ranges of the index on (program_id,
    status, valid_until), so a filtered list reads only its own rows."""
    end = Registration.valid_until
    window_end = today + timedelta(days=rules_on(program, today).follow_up_window_days)
    in_force = Registration.status.in_(IN_FORCE)
    if status in (Status.WITHDRAWN, Status.SUSPENDED):
        return Registration.status == status
    if status == Status.LAPSED:
        return and_(in_force, end < today)
    if status == Status.FOLLOW_UP_DUE:
        return and_(in_force, end >= today, end <= window_end)
    if status == Status.ACTIVE:
        return and_(in_force, or_(end.is_(None), end > window_end))
    return false()


# --- follow-up, suspension, withdrawal ------------------------------------------------


def record_follow_up(
    session: DbSession,
    *,
    actor: User | None,
    enrolment: Enrolment,
    attended_on: date,
    today: date | None = None,
) -> RegistrationEvent | None:
    """A registered supporter attended a follow-up course: renew where the program has a
    validity period, by the renewal rule in force on the day attended (`renewed_until`).
    Once per enrolment. A renewal keeps the stored status true."""
    course = enrolment.course
    if course.kind != CourseKind.FOLLOW_UP:
        return None
    registration = current_registration(session, course.program_id, enrolment.person_id)
    if registration is None:
        return None
    already = session.scalar(
        select(RegistrationEvent.id).where(
            RegistrationEvent.registration_id == registration.id,
            RegistrationEvent.enrolment_id == enrolment.id,
        )
    )
    if already is not None:
        return None
    program = course.program
    events = events_for(session, registration)
    end = validity_end_on(registration, events, attended_on)
    new_end = renewed_until(rules_on(program, attended_on), end, attended_on)
    if new_end is None:  # no validity, or not a renewal by the rule: training only (kept too)
        attended = _event(
            session,
            registration,
            EventKind.FOLLOW_UP,
            attended_on,
            actor,
            enrolment_id=enrolment.id,
        )
        keep_status(session, registration, today=today, events=[*events, attended])
        return attended
    registration.valid_until = max(new_end, registration.valid_until or new_end)
    record_audit(
        session,
        actor,
        "registration.renew",
        registration,
        program_id=program.id,
        detail={"valid_until": new_end.isoformat()},
    )
    renewed = _event(
        session,
        registration,
        EventKind.RENEWED,
        attended_on,
        actor,
        valid_until=new_end,
        enrolment_id=enrolment.id,
    )
    keep_status(session, registration, today=today, events=[*events, renewed])
    return renewed


def renewed_until(rules: ProgramRule | Program, end: date | None, attended: date) -> date | None:
    """The new validity end when a follow-up attended on `attended` renews a registration
    valid until `end` under `rules`; None when it does not renew (counted as training).
    - window_or_after_lapse: within the window before the end, from the end; after the
      end, from the day attended; earlier, no renewal.
    - window_only: within the window, from the end; otherwise no renewal.
    - any_in_cycle: any follow-up, from the day attended (never shortening the validity)."""
    interval = rules.follow_up_interval_months
    if not interval or end is None:
        return None
    rule = rules.renewal_rule
    if rule == RenewalRule.ANY_IN_CYCLE:
        return max(end, add_months(attended, interval))
    if attended > end:
        return add_months(attended, interval) if rule == RenewalRule.WINDOW_OR_AFTER_LAPSE else None
    if attended >= end - timedelta(days=rules.follow_up_window_days):
        return add_months(end, interval)
    return None


def require_registration_for_follow_up(session: DbSession, course: Course, person: Person) -> None:
    """Follow-up courses are for registered supporters of the program."""
    if course.kind != CourseKind.FOLLOW_UP:
        return
    if current_registration(session, course.program_id, person.id) is None:
        raise ServiceError(
            None,
            str(
                _l(
                    "%(name)s is not a registered supporter of this program; "
                    "follow-up training is for registered supporters.",
                    name=person.name,
                )
            ),
            code="not_registered",
        )


@dataclass
class FollowUpEnrolment:
    enrolled: list[Enrolment] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one message per person not enrolled


def enrol_in_follow_up(
    session: DbSession,
    *,
    actor: User,
    course: Course,
    registrations: list[Registration],
    now: datetime,
) -> FollowUpEnrolment:
    """Enrol registered supporters into a follow-up course (from the register or a person
    page): those who cannot be (already enrolled, withdrawn) are listed, the others enrolled."""
    from supporters.training.services.course_state import lock_course
    from supporters.training.services.enrolments import enrol_person

    if course.kind != CourseKind.FOLLOW_UP:
        raise ServiceError(
            "course_id", str(_l("Choose a follow-up course.")), code="not_a_follow_up_course"
        )
    if course.closed_at is not None:
        raise ServiceError("course_id", str(_l("This course is closed.")), code="course_closed")
    lock_course(session, course)
    result = FollowUpEnrolment()
    for registration in registrations:
        if registration.program_id != course.program_id:
            raise ServiceError(
                None,
                str(_l("Choose supporters of the course's program.")),
                code="other_program",
            )
        try:
            with session.begin_nested():
                result.enrolled.append(
                    enrol_person(
                        session,
                        actor=actor,
                        course=course,
                        person=registration.person,
                        now=now,
                        lock=False,
                    )
                )
        except ServiceError as error:
            result.refused.append(error.message)
    return result


def follow_up_due_from(program: Program, end: date | None) -> date | None:
    """The day the follow-up window opens before the validity end, where follow-up is
    mandatory."""
    if end is None or not program.follow_up_mandatory:
        return None
    return end - timedelta(days=program.follow_up_window_days)


def suspend(
    session: DbSession,
    *,
    actor: User,
    registration: Registration,
    on: date,
    reason: str,
    today: date | None = None,
) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("reason", str(_l("Give a reason.")), code="reason_missing")
    if registration.withdrawn_on is not None:
        raise ServiceError(
            None, str(_l("This registration has been withdrawn.")), code="registration_withdrawn"
        )
    _event(session, registration, EventKind.SUSPENDED, on, actor, reason=reason[:500])
    keep_status(session, registration, today=today)
    record_audit(
        session, actor, "registration.suspend", registration, program_id=registration.program_id
    )


def reinstate(
    session: DbSession,
    *,
    actor: User,
    registration: Registration,
    on: date,
    today: date | None = None,
) -> None:
    _event(session, registration, EventKind.REINSTATED, on, actor)
    keep_status(session, registration, today=today)
    record_audit(
        session, actor, "registration.reinstate", registration, program_id=registration.program_id
    )


def withdraw(
    session: DbSession,
    *,
    actor: User | None,
    registration: Registration,
    on: date,
    reason: str = "",
    today: date | None = None,
) -> None:
    if registration.withdrawn_on is not None:
        raise ServiceError(
            None,
            str(_l("This registration has already been withdrawn.")),
            code="already_withdrawn",
        )
    registration.withdrawn_on = on
    _event(
        session, registration, EventKind.WITHDRAWN, on, actor, reason=reason.strip()[:500] or None
    )
    keep_status(session, registration, today=today)
    record_audit(
        session, actor, "registration.withdraw", registration, program_id=registration.program_id
    )


ERASED_NAME = "（削除済み）"


def erase_withdrawn(session: DbSession, *, now: datetime, retention_days: int) -> int:
    """After the retention period, erase a withdrawn supporter's personal data, keeping what
    the figures need (attribute, municipality, dates). Idempotent."""
    cutoff = (now - timedelta(days=retention_days)).date()
    due = session.scalars(
        select(Registration).where(
            Registration.withdrawn_on.is_not(None),
            Registration.withdrawn_on <= cutoff,
            Registration.erased_at.is_(None),
        )
    ).all()
    erased = 0
    for registration in due:
        person = registration.person
        still_registered = session.scalar(
            select(
                exists().where(
                    Registration.person_id == person.id, Registration.withdrawn_on.is_(None)
                )
            )
        )
        if not still_registered:
            person.name, person.name_key, person.name_reading = ERASED_NAME, "", "ー"
            person.print_name = person.email = person.phone = None
            person.postal_code = person.address = None
        registration.erased_at = now
        _event(session, registration, EventKind.ERASED, now.date(), None)
        keep_status(session, registration, today=today_in_japan(now))
        record_audit(
            session, None, "registration.erase", registration, program_id=registration.program_id
        )
        erased += 1
    return erased


# --- figures and filters over the register -------------------------------------------


def no_activity_declared_filter(year: int) -> list[ColumnElement[bool]]:
    """Conditions on Registration: no declaration of no activity for this fiscal year."""
    return [
        ~exists().where(
            NoActivityDeclaration.registration_id == Registration.id,
            NoActivityDeclaration.fiscal_year == year,
        )
    ]


def fiscal_year_follow_up_counts(
    session: DbSession, program: Program, year: int, *, organisation_id: int | None = None
) -> Counter[str]:
    """Renewals and other follow-ups in the year (of the registrations `organisation_id`
    issued, if given)."""
    start, end = fiscal_year_bounds(year)
    issued = (
        [] if organisation_id is None else [Registration.issuing_organisation_id == organisation_id]
    )
    rows = session.execute(
        select(RegistrationEvent.kind, func.count())
        .join(Registration, Registration.id == RegistrationEvent.registration_id)
        .where(
            Registration.program_id == program.id,
            RegistrationEvent.kind.in_((EventKind.RENEWED, EventKind.FOLLOW_UP)),
            RegistrationEvent.occurred_on.between(start, end),
            *issued,
        )
        .group_by(RegistrationEvent.kind)
    ).all()
    return Counter({kind: count for kind, count in rows})
