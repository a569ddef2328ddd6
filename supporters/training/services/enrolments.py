"""Enrolment: eligibility, the same person twice, places and the waiting list, a
supporter's own application, confirming and withdrawing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.db import DbSession, ServiceError
from supporters.people.models import Person
from supporters.people.privacy import is_known_to_program
from supporters.people.services import (
    PersonInput,
    attribute_wording,
    clean_person_input,
    create_person,
    find_duplicates,
    parse_program_attribute,
    reporting_group_of,
    same_name,
)
from supporters.programs.models import EligibilityRule, Municipality, Program
from supporters.programs.services import find_municipality
from supporters.training.follow_up import follow_up_hooks
from supporters.training.models import Course, CourseKind, Enrolment, EnrolmentState
from supporters.training.services.course_state import (
    application_problem,
    count_holding_place,
    lock_course,
    require_open,
)


def eligibility_problem(
    program: Program, residence: Municipality | None, work: Municipality | None
) -> str | None:
    """Why the program's eligibility rule refuses this person, or None."""
    rule = program.eligibility_rule
    if rule == EligibilityRule.OPEN:
        return None
    inside = any(m is not None and m.prefecture == program.prefecture for m in (residence, work))
    if inside:
        return None
    if residence is None and work is None:
        return str(
            _l(
                "Enter the municipality of residence or work: the course is for people "
                "who live or work in %(p)s.",
                p=program.prefecture,
            )
        )
    if rule == EligibilityRule.LIVES_OR_WORKS_IN_PREFECTURE:
        return str(
            _l(
                "The course is for people who live or work in %(p)s; neither the residence "
                "nor the workplace is in %(p)s.",
                p=program.prefecture,
            )
        )
    return str(
        _l(
            "The course is for people who can act in %(p)s; neither the residence nor the "
            "workplace is in %(p)s. If they can act there, record why.",
            p=program.prefecture,
        )
    )


def same_name_in_program(session: DbSession, program: Program, data: PersonInput) -> list[Person]:
    """People of this program (enrolled in one of its courses, or registered in it) with the
    same name and reading: without an e-mail or phone to compare, possibly the same person."""
    in_program = or_(
        Person.id.in_(
            select(Enrolment.person_id)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Course.program_id == program.id)
        ),
        Person.id.in_(follow_up_hooks().registered_people(program.id)),
    )
    return list(
        session.scalars(
            select(Person).where(*same_name(data), in_program).order_by(Person.id).limit(20)
        )
    )


def enrol_person(
    session: DbSession,
    *,
    actor: User | None,
    course: Course,
    person: Person,
    now: datetime,
    source: str = "form",
    override_reason: str | None = None,
    lock: bool = True,
    attribute: str | None = None,
    attribute_group: str | None = None,
) -> Enrolment:
    """Enrol a trainee: confirmed while there is room, otherwise on the waiting list.
    `attribute`: as the form gave it in the program's words (the code), with the reporting
    group it counts in (`attribute_group`, looked up when not given); else the person's."""
    require_open(course)
    if lock:
        lock_course(session, course)
    existing = session.scalar(
        select(Enrolment).where(Enrolment.course_id == course.id, Enrolment.person_id == person.id)
    )
    if existing is not None and existing.state != EnrolmentState.WITHDRAWN:
        raise ServiceError(
            None,
            str(_l("%(name)s is already enrolled in this course.", name=person.name)),
            code="already_enrolled",
        )
    if course.kind == CourseKind.FOLLOW_UP:
        follow_up_hooks().require_registration(session, course, person)
        problem = None  # a registered supporter was found eligible on registering
    else:
        problem = eligibility_problem(
            course.program, person.residence_municipality, person.work_municipality
        )
    override_reason = (override_reason or "").strip() or None
    if problem and not override_reason:
        raise ServiceError("override_reason", problem, code="not_eligible")
    has_room = course.capacity is None or count_holding_place(session, course) < course.capacity
    if source == "self":
        state = EnrolmentState.APPLIED if has_room else EnrolmentState.WAITLISTED
    else:
        state = EnrolmentState.CONFIRMED if has_room else EnrolmentState.WAITLISTED
    if existing is not None:  # withdrawn earlier and back again: a new place in the queue
        enrolment = existing
        enrolment.state = state
        enrolment.applied_at = now
    else:
        enrolment = Enrolment(
            course_id=course.id,
            person_id=person.id,
            state=state,
            source=source,
            applied_at=now,
            created_by_id=actor.id if actor else None,
        )
        session.add(enrolment)
    enrolment.state_changed_at = now
    enrolment.eligibility_override_reason = override_reason if problem else None
    # As given, with the group it counts in then: the figures count this.
    enrolment.attribute = attribute or person.attribute
    if attribute and attribute_group is None:
        attribute_group = reporting_group_of(session, course.program_id, attribute)
    enrolment.attribute_group = attribute_group if attribute else person.attribute
    session.flush()
    record_audit(
        session,
        actor,
        "enrolment.create",
        enrolment,
        program_id=course.program_id,
        detail={"state": state.value, "override": bool(problem)},
    )
    return enrolment


def apply_for_course(
    session: DbSession, *, actor: User, course: Course, person: Person, today: date, now: datetime
) -> Enrolment:
    """A registered supporter applies to a follow-up course or a supporter meeting, while
    the course is ahead, open and taking applications."""
    if course.kind == CourseKind.INITIAL:
        raise ServiceError(
            None,
            str(_l("Initial training is arranged by the coordinator.")),
            code="initial_by_coordinator",
        )
    problem = application_problem(course, today)
    if problem:
        raise ServiceError(None, problem, code="not_taking_applications")
    if not is_known_to_program(session, person.id, course.program_id):
        # The record is another program's: applying must not hand it (attribute, contact)
        # over. This program's coordinators record the person themselves.
        raise ServiceError(
            None,
            str(
                _l(
                    "This program does not have your record yet. Please ask its coordinator "
                    "to enrol you."
                )
            ),
            code="record_of_another_program",
        )
    return enrol_person(session, actor=actor, course=course, person=person, now=now, source="self")


def confirm_application(
    session: DbSession, *, actor: User, enrolment: Enrolment, now: datetime
) -> None:
    require_open(enrolment.course)
    if enrolment.state != EnrolmentState.APPLIED:
        raise ServiceError(
            None, str(_l("Only an application can be confirmed.")), code="not_an_application"
        )
    enrolment.state = EnrolmentState.CONFIRMED
    enrolment.state_changed_at = now
    record_audit(
        session, actor, "enrolment.confirm", enrolment, program_id=enrolment.course.program_id
    )


def withdraw_enrolment(
    session: DbSession, *, actor: User | None, enrolment: Enrolment, now: datetime
) -> Enrolment | None:
    """Withdraw; the first trainee on the waiting list moves up. Returns who moved up."""
    course = enrolment.course
    require_open(course)
    lock_course(session, course)
    if enrolment.state in (EnrolmentState.WITHDRAWN, EnrolmentState.COMPLETED):
        raise ServiceError(
            None, str(_l("This enrolment cannot be withdrawn.")), code="cannot_withdraw"
        )
    enrolment.state = EnrolmentState.WITHDRAWN
    enrolment.state_changed_at = now
    session.flush()
    record_audit(session, actor, "enrolment.withdraw", enrolment, program_id=course.program_id)
    promoted = promote_from_waitlist(session, actor=actor, course=course, now=now)
    return promoted[0] if promoted else None


def promote_from_waitlist(
    session: DbSession, *, actor: User | None, course: Course, now: datetime | None = None
) -> list[Enrolment]:
    """Fill free places from the waiting list, first come first served."""
    promoted: list[Enrolment] = []
    while course.capacity is None or count_holding_place(session, course) < course.capacity:
        first = session.scalar(
            select(Enrolment)
            .where(Enrolment.course_id == course.id, Enrolment.state == EnrolmentState.WAITLISTED)
            .order_by(Enrolment.applied_at, Enrolment.id)
            .limit(1)
        )
        if first is None:
            break
        first.state = EnrolmentState.CONFIRMED
        if now is not None:
            first.state_changed_at = now
        session.flush()
        record_audit(session, actor, "enrolment.promote", first, program_id=course.program_id)
        promoted.append(first)
    return promoted


# --- one person from the enrolment form -------------------------------------------------


def find_place(
    session: DbSession, program: Program, raw: str | None, field: str
) -> Municipality | None:
    """A bare name means the program's prefecture first, then anywhere in Japan."""
    if not raw or not raw.strip():
        return None
    try:
        return find_municipality(session, raw, prefecture=program.prefecture)
    except ServiceError:
        pass
    try:
        return find_municipality(session, raw)
    except ServiceError as error:
        raise ServiceError(field, error.message, code=error.code) from error


@dataclass
class PersonMatch:
    """A person typed into the enrolment form, and the people who may be the same person:
    by contact (`same_contact`), else by name and reading within the program."""

    data: PersonInput
    duplicates: list[Person] = field(default_factory=list)
    same_contact: bool = False
    attribute: str | None = None  # as given, in the program's words: the enrolment's


def match_person(
    session: DbSession,
    *,
    course: Course,
    name: str | None,
    name_reading: str | None,
    email: str | None,
    phone: str | None,
    residence: str | None,
    workplace: str | None,
    attribute: str | None,
) -> PersonMatch:
    """Check what the form says of a person and look for them among the known people. Locks
    the course first: two pages enrolling the same person at the same moment then find each
    other instead of creating the person twice."""
    lock_course(session, course)
    # The program's word (Kagawa's 行政の相談担当者): the person keeps its reporting group.
    given = parse_program_attribute(attribute, attribute_wording(session, course.program_id))
    data = clean_person_input(
        name=name,
        name_reading=name_reading,
        email=email,
        phone=phone,
        residence=find_place(session, course.program, residence, "residence"),
        work=find_place(session, course.program, workplace, "workplace"),
        attribute=given[1].value if given else None,
    )
    code = given[0] if given else None
    duplicates = find_duplicates(session, data, program_id=course.program_id)
    if duplicates:
        return PersonMatch(data, duplicates, same_contact=True, attribute=code)
    return PersonMatch(data, same_name_in_program(session, course.program, data), attribute=code)


def enrol_match(
    session: DbSession,
    *,
    actor: User,
    course: Course,
    match: PersonMatch,
    choice: str | None,
    override_reason: str | None,
    now: datetime,
) -> Enrolment:
    """Enrol the matched person: the existing record chosen (`choice`, a person id among
    the duplicates), else a new one ("new", or no duplicates). LookupError when the choice
    is none of the duplicates."""
    if choice and choice != "new":
        person = next((p for p in match.duplicates if str(p.id) == choice), None)
        if person is None:
            raise LookupError(choice)
    else:
        person = create_person(session, actor=actor, data=match.data)
    return enrol_person(
        session,
        actor=actor,
        course=course,
        person=person,
        now=now,
        override_reason=override_reason,
        attribute=match.attribute,
        attribute_group=match.data.attribute if match.attribute else None,
    )


# --- imports and exports, audited -------------------------------------------------------


def record_import(
    session: DbSession, *, actor: User, course: Course, created: int, reused: int
) -> None:
    """A file of trainees was imported into the course (all its rows)."""
    record_audit(
        session,
        actor,
        "enrolment.import",
        course,
        program_id=course.program_id,
        detail={"created": created, "reused": reused},
    )


def record_export(
    session: DbSession, *, actor: User, course: Course, ip_address: str | None
) -> None:
    """The course's enrolments were exported (names and contacts leave the system)."""
    record_audit(
        session,
        actor,
        "export.enrolments",
        course,
        program_id=course.program_id,
        ip_address=ip_address,
    )
