"""Training: courses and sessions, enrolment with eligibility and a waiting list, attendance,
completion. Plain functions: session, actor and time in; they never commit."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, delete, func, or_, select, update

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.dates import fiscal_year
from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession, ServiceError
from supporters.people.models import Attribute, Person
from supporters.people.privacy import is_known_to_program
from supporters.people.services import PersonInput, name_key
from supporters.programs.models import EligibilityRule, Municipality, Organisation, Program
from supporters.programs.services import next_number
from supporters.training.follow_up import follow_up_hooks
from supporters.training.models import (
    HOLDS_PLACE,
    ON_ROLL,
    Attendance,
    Course,
    CourseKind,
    CourseSession,
    Enrolment,
    EnrolmentState,
)

DEFAULT_SESSION_START = time(10, 0)


# --- dates and states of a course -------------------------------------------------------


def first_session_on(course: Course) -> date | None:
    return min((s.date for s in course.sessions), default=None)


def course_is_over(course: Course, now: datetime) -> bool:
    """True once the last session has ended (its end time, or the end of its day)."""
    if not course.sessions:
        return False
    last = max(course.sessions, key=lambda s: (s.date, s.end_time or time.max))
    if last.end_time is None:
        return local_date(now) > last.date
    return now >= datetime.combine(last.date, last.end_time, TOKYO)


def require_open(course: Course) -> None:
    if course.closed_at is not None:
        raise ServiceError(
            None, str(_l("This course is closed: enrolments and attendance can no longer change."))
        )


def _first_session_date() -> Any:
    """A course's first session day, as a correlated subquery on Course."""
    return (
        select(func.min(CourseSession.date))
        .where(CourseSession.course_id == Course.id)
        .scalar_subquery()
    )


def open_for_applications_filter(today: date) -> list[ColumnElement[bool]]:
    """Conditions on Course: not closed, first session still ahead, applications open."""
    first = _first_session_date()
    return [
        Course.closed_at.is_(None),
        first > today,
        or_(Course.application_opens_on.is_(None), Course.application_opens_on <= today),
        or_(Course.application_closes_on.is_(None), Course.application_closes_on >= today),
    ]


def application_problem(course: Course, today: date) -> str | None:
    """Why a supporter cannot apply to this course today, or None."""
    if course.closed_at is not None:
        return str(_l("This course is closed."))
    first = first_session_on(course)
    if first is None:
        return str(_l("The course has no sessions yet; applications are not open."))
    if first <= today:
        return str(_l("This course has already started; applications are no longer taken."))
    if course.application_opens_on and today < course.application_opens_on:
        return str(_l("Applications open on %(d)s.", d=course.application_opens_on.isoformat()))
    if course.application_closes_on and today > course.application_closes_on:
        return str(_l("Applications for this course have closed."))
    return None


def follow_up_courses_open(
    session: DbSession, program: Program, today: date, *, limit: int = 5
) -> list[Course]:
    """The program's follow-up courses a registered supporter can still apply to, soonest
    first."""
    first = _first_session_date()
    return list(
        session.scalars(
            select(Course)
            .where(
                Course.program_id == program.id,
                Course.kind == CourseKind.FOLLOW_UP,
                *open_for_applications_filter(today),
            )
            .order_by(first, Course.id)
            .limit(limit)
        )
    )


def follow_up_courses_to_enrol(
    session: DbSession, program: Program, today: date, *, limit: int = 20
) -> list[Course]:
    """Follow-up courses a coordinator can still enrol supporters into: not closed, first
    session ahead (applications may have closed: the coordinator decides)."""
    first = _first_session_date()
    return list(
        session.scalars(
            select(Course)
            .where(
                Course.program_id == program.id,
                Course.kind == CourseKind.FOLLOW_UP,
                Course.closed_at.is_(None),
                first > today,
            )
            .order_by(first, Course.id)
            .limit(limit)
        )
    )


# --- courses and sessions -------------------------------------------------------------


@dataclass
class CourseInput:
    kind: str
    organiser_id: int
    title: str
    venue: str = ""
    capacity: int | None = None
    application_opens_on: date | None = None
    application_closes_on: date | None = None
    notes: str = ""


def _check_course_input(session: DbSession, program: Program, data: CourseInput) -> Organisation:
    if data.kind not in {kind.value for kind in CourseKind}:
        raise ServiceError("kind", str(_l("Choose the kind of course.")))
    organiser = session.get(Organisation, data.organiser_id)
    if organiser is None or organiser.program_id != program.id:
        raise ServiceError("organiser_id", str(_l("Choose an organiser of this program.")))
    if not data.title.strip():
        raise ServiceError("title", str(_l("Enter a title.")))
    if data.capacity is not None and data.capacity <= 0:
        raise ServiceError("capacity", str(_l("The capacity must be at least 1.")))
    if (
        data.application_opens_on
        and data.application_closes_on
        and data.application_closes_on < data.application_opens_on
    ):
        raise ServiceError(
            "application_closes_on", str(_l("The application period ends before it starts."))
        )
    return organiser


def create_course(
    session: DbSession,
    *,
    actor: User | None,
    program: Program,
    data: CourseInput,
    first_session_on: date | None = None,
    use_curriculum: bool = False,
) -> Course:
    _check_course_input(session, program, data)
    course = Course(
        program_id=program.id,
        created_by_id=actor.id if actor else None,
        **{**data.__dict__, "title": data.title.strip()},
    )
    session.add(course)
    session.flush()
    if use_curriculum and first_session_on:
        add_curriculum_sessions(session, course=course, program=program, on=first_session_on)
    record_audit(session, actor, "course.create", course, program_id=program.id)
    return course


def update_course(session: DbSession, *, actor: User, course: Course, data: CourseInput) -> None:
    _check_course_input(session, course.program, data)
    if data.capacity is not None:
        holding = count_holding_place(session, course)
        if data.capacity < holding:
            raise ServiceError(
                "capacity",
                str(
                    _l(
                        "%(n)d people already hold a place; the capacity cannot be lower.",
                        n=holding,
                    )
                ),
            )
    for key, value in data.__dict__.items():
        setattr(course, key, value.strip() if isinstance(value, str) else value)
    record_audit(session, actor, "course.update", course, program_id=course.program_id)
    promote_from_waitlist(session, actor=actor, course=course)


# A follow-up course where the program's curriculum names none: one session.
DEFAULT_FOLLOW_UP_CURRICULUM: list[dict[str, Any]] = [
    {"topic": "フォローアップ研修", "minutes": 120, "required": True}
]


def curriculum_for(program: Program, kind: str) -> list[dict[str, Any]]:
    """The program's curriculum for a kind of course. Items of the curriculum template may
    name their kind ("course_kind": "follow_up"); those without are the initial training's.
    A follow-up course without items of its own gets one follow-up session; a supporter
    meeting none."""
    items = program.curriculum_template or []
    if kind == CourseKind.INITIAL:
        return [i for i in items if i.get("course_kind", CourseKind.INITIAL) == kind]
    own = [i for i in items if i.get("course_kind") == kind]
    if own or kind != CourseKind.FOLLOW_UP:
        return own
    return DEFAULT_FOLLOW_UP_CURRICULUM


def add_curriculum_sessions(
    session: DbSession, *, course: Course, program: Program, on: date
) -> list[CourseSession]:
    """Pre-fill the program's curriculum for the course's kind on one day, one topic after
    another."""
    start = datetime.combine(on, DEFAULT_SESSION_START)
    created = []
    for item in curriculum_for(program, course.kind):
        end = start + timedelta(minutes=int(item.get("minutes", 60)))
        row = CourseSession(
            course=course,
            date=on,
            start_time=start.time(),
            end_time=end.time(),
            topic=str(item["topic"]),
            required=bool(item.get("required", True)),
        )
        session.add(row)
        created.append(row)
        start = end + timedelta(minutes=10)
    session.flush()
    return created


@dataclass
class SessionInput:
    date: date
    start_time: time | None
    end_time: time | None
    topic: str
    required: bool = True


def _check_session_input(data: SessionInput) -> None:
    if not data.topic.strip():
        raise ServiceError("topic", str(_l("Enter a topic.")))
    if data.start_time and data.end_time and data.end_time <= data.start_time:
        raise ServiceError("end_time", str(_l("The end must be after the start.")))


def add_session(
    session: DbSession, *, actor: User, course: Course, data: SessionInput
) -> CourseSession:
    _check_session_input(data)
    row = CourseSession(course=course, **{**data.__dict__, "topic": data.topic.strip()})
    session.add(row)
    session.flush()
    record_audit(session, actor, "course.session_add", course, program_id=course.program_id)
    return row


def update_session(
    session: DbSession, *, actor: User, course_session: CourseSession, data: SessionInput
) -> None:
    _check_session_input(data)
    for key, value in data.__dict__.items():
        setattr(course_session, key, value.strip() if isinstance(value, str) else value)
    record_audit(
        session,
        actor,
        "course.session_update",
        course_session.course,
        program_id=course_session.course.program_id,
    )


def delete_session(session: DbSession, *, actor: User, course_session: CourseSession) -> None:
    attended = session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.session_id == course_session.id)
    )
    if attended:
        raise ServiceError(
            None, str(_l("Attendance has been recorded for this session; it cannot be deleted."))
        )
    course = course_session.course
    session.delete(course_session)
    record_audit(session, actor, "course.session_delete", course, program_id=course.program_id)


# --- enrolment ------------------------------------------------------------------------


def lock_course(session: DbSession, course: Course) -> None:
    """Serialise changes to one course's enrolments: a row lock on PostgreSQL, the write
    lock on SQLite, held until commit; so capacity cannot be overrun by two at once."""
    session.execute(update(Course).where(Course.id == course.id).values(version=Course.version + 1))
    session.expire(course, ["version"])


def count_holding_place(session: DbSession, course: Course) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.course_id == course.id, Enrolment.state.in_(HOLDS_PLACE))
        )
        or 0
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
            select(Person)
            .where(
                Person.name_key == name_key(data.name),
                Person.name_reading == data.name_reading,
                in_program,
            )
            .order_by(Person.id)
            .limit(20)
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
) -> Enrolment:
    """Enrol a trainee: confirmed while there is room, otherwise on the waiting list."""
    require_open(course)
    if lock:
        lock_course(session, course)
    existing = session.scalar(
        select(Enrolment).where(Enrolment.course_id == course.id, Enrolment.person_id == person.id)
    )
    if existing is not None and existing.state != EnrolmentState.WITHDRAWN:
        raise ServiceError(
            None, str(_l("%(name)s is already enrolled in this course.", name=person.name))
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
        raise ServiceError("override_reason", problem)
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
        raise ServiceError(None, str(_l("Initial training is arranged by the coordinator.")))
    problem = application_problem(course, today)
    if problem:
        raise ServiceError(None, problem)
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
        )
    return enrol_person(session, actor=actor, course=course, person=person, now=now, source="self")


def confirm_application(
    session: DbSession, *, actor: User, enrolment: Enrolment, now: datetime
) -> None:
    require_open(enrolment.course)
    if enrolment.state != EnrolmentState.APPLIED:
        raise ServiceError(None, str(_l("Only an application can be confirmed.")))
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
        raise ServiceError(None, str(_l("This enrolment cannot be withdrawn.")))
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


# --- attendance and completion --------------------------------------------------------


def roll_call_enrolments(session: DbSession, course: Course) -> list[Enrolment]:
    return list(
        session.scalars(
            select(Enrolment)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.course_id == course.id, Enrolment.state.in_(ON_ROLL))
            .order_by(Person.name_reading, Person.id)
        )
    )


def present_enrolment_ids(session: DbSession, course_session: CourseSession) -> set[int]:
    return set(
        session.scalars(
            select(Attendance.enrolment_id).where(Attendance.session_id == course_session.id)
        )
    )


def record_roll_call(
    session: DbSession,
    *,
    actor: User,
    course_session: CourseSession,
    present_ids: set[int],
    now: datetime,
) -> list[Enrolment]:
    """Save who was present at a session of their own course; returns newly completed.
    Only on or after the session's day, and not once the course is closed."""
    course = course_session.course
    require_open(course)
    _require_held(course_session, now)
    on_roll = {e.id: e for e in roll_call_enrolments(session, course)}
    unknown = present_ids - on_roll.keys()
    if unknown:
        raise ServiceError(None, str(_l("Some trainees are not on this course's roll.")))
    before = present_enrolment_ids(session, course_session) & on_roll.keys()
    absent_now = before - present_ids
    if absent_now:
        session.execute(
            delete(Attendance).where(
                Attendance.session_id == course_session.id,
                Attendance.enrolment_id.in_(absent_now),
            )
        )
    for enrolment_id in sorted(present_ids - before):
        session.add(
            Attendance(
                enrolment_id=enrolment_id,
                session_id=course_session.id,
                recorded_at=now,
                recorded_by_id=actor.id,
            )
        )
    session.flush()
    for enrolment_id in sorted(present_ids - before):
        _count_follow_up(session, actor, on_roll[enrolment_id], course_session.date)
    record_audit(
        session,
        actor,
        "attendance.roll_call",
        course,
        program_id=course.program_id,
        detail={"session_id": course_session.id, "present": len(present_ids)},
    )
    changed = [on_roll[i] for i in present_ids ^ before]
    completed = []
    for enrolment in changed:
        if update_completion(session, actor=actor, enrolment=enrolment):
            completed.append(enrolment)
    return completed


def _require_held(course_session: CourseSession, now: datetime) -> None:
    if course_session.date > local_date(now):
        raise ServiceError(
            None,
            str(
                _l(
                    "The session on %(d)s has not taken place yet; attendance can be recorded "
                    "from that day.",
                    d=course_session.date.isoformat(),
                )
            ),
        )


def _count_follow_up(
    session: DbSession, actor: User | None, enrolment: Enrolment, on: date
) -> None:
    """Attending follow-up training renews the registration where the program says so."""
    if enrolment.course.kind == CourseKind.FOLLOW_UP:
        follow_up_hooks().follow_up_attended(session, actor, enrolment, on)


def make_up_sessions(session: DbSession, enrolment: Enrolment) -> list[CourseSession]:
    """Sessions of other courses of the program with a required topic of this course."""
    topics = {s.topic for s in enrolment.course.sessions if s.required}
    if not topics:
        return []
    return list(
        session.scalars(
            select(CourseSession)
            .join(Course, Course.id == CourseSession.course_id)
            .where(
                Course.program_id == enrolment.course.program_id,
                Course.id != enrolment.course_id,
                CourseSession.topic.in_(topics),
            )
            .order_by(CourseSession.date, CourseSession.start_time)
        )
    )


def record_make_up(
    session: DbSession,
    *,
    actor: User,
    enrolment: Enrolment,
    course_session: CourseSession,
    now: datetime,
) -> bool:
    """Attendance at another course's session with the same topic. Returns True if that
    completed the enrolment."""
    if course_session not in make_up_sessions(session, enrolment):
        raise ServiceError("session_id", str(_l("Choose a session with a topic of this course.")))
    # A make-up usually comes after the course has closed: it may still complete the trainee.
    _require_held(course_session, now)
    if enrolment.state not in ON_ROLL:
        raise ServiceError(None, str(_l("Only enrolled trainees can attend.")))
    exists = session.scalar(
        select(Attendance).where(
            Attendance.enrolment_id == enrolment.id, Attendance.session_id == course_session.id
        )
    )
    if exists is None:
        session.add(
            Attendance(
                enrolment_id=enrolment.id,
                session_id=course_session.id,
                recorded_at=now,
                recorded_by_id=actor.id,
            )
        )
        session.flush()
        _count_follow_up(session, actor, enrolment, course_session.date)
    record_audit(
        session,
        actor,
        "attendance.make_up",
        enrolment,
        program_id=enrolment.course.program_id,
        detail={"session_id": course_session.id},
    )
    return update_completion(session, actor=actor, enrolment=enrolment)


def attended_topics(session: DbSession, enrolment: Enrolment) -> set[str]:
    return set(
        session.scalars(
            select(CourseSession.topic)
            .join(Attendance, Attendance.session_id == CourseSession.id)
            .where(Attendance.enrolment_id == enrolment.id)
        )
    )


def last_attended_on(session: DbSession, enrolment: Enrolment) -> date | None:
    return session.scalar(
        select(func.max(CourseSession.date))
        .join(Attendance, Attendance.session_id == CourseSession.id)
        .where(Attendance.enrolment_id == enrolment.id)
    )


def _all_required_attended_on(session: DbSession, enrolment: Enrolment, required: set[str]) -> date:
    """The day the last required topic was first attended: when the course was completed."""
    firsts = dict(
        session.execute(
            select(CourseSession.topic, func.min(CourseSession.date))
            .join(Attendance, Attendance.session_id == CourseSession.id)
            .where(Attendance.enrolment_id == enrolment.id, CourseSession.topic.in_(required))
            .group_by(CourseSession.topic)
        ).all()
    )
    return max(firsts[topic] for topic in required)


def update_completion(session: DbSession, *, actor: User | None, enrolment: Enrolment) -> bool:
    """Complete when every required topic is attended, on the day the last of them was
    attended (not the day it was ticked); undo an automatic completion when an attendance
    is taken back. Completions by hand stay as they are. True if newly completed."""
    if enrolment.completion_reason:  # decided by hand
        return False
    required = {s.topic for s in enrolment.course.sessions if s.required}
    done = bool(required) and required <= attended_topics(session, enrolment)
    if done and enrolment.state in (EnrolmentState.CONFIRMED, EnrolmentState.NOT_COMPLETED):
        on = _all_required_attended_on(session, enrolment, required)
        _complete(session, actor=actor, enrolment=enrolment, on=on)
        return True
    if not done and enrolment.state == EnrolmentState.COMPLETED:
        enrolment.state = EnrolmentState.CONFIRMED
        enrolment.completed_on = None  # the number stays reserved for this enrolment
        record_audit(
            session,
            actor,
            "enrolment.uncomplete",
            enrolment,
            program_id=enrolment.course.program_id,
            detail={"automatic": True},
        )
    return False


def _complete(session: DbSession, *, actor: User | None, enrolment: Enrolment, on: date) -> None:
    enrolment.state = EnrolmentState.COMPLETED
    enrolment.completed_on = on
    if enrolment.completion_number is None:
        program = enrolment.course.program
        year = fiscal_year(on)
        enrolment.completion_number = program.format_completion_number(
            year, next_number(session, program, "completion", year)
        )
    record_audit(
        session,
        actor,
        "enrolment.complete",
        enrolment,
        program_id=enrolment.course.program_id,
        detail={"number": enrolment.completion_number},
    )


def complete_by_hand(
    session: DbSession, *, actor: User, enrolment: Enrolment, reason: str, on: date
) -> None:
    """Completion decided by the coordinator. It is dated on the last session the trainee
    attended; `on` (today) only when none was recorded. Not before the course has begun."""
    reason = reason.strip()
    if not reason:
        raise ServiceError("reason", str(_l("Give a reason.")))
    if enrolment.state not in ON_ROLL or enrolment.state == EnrolmentState.COMPLETED:
        raise ServiceError(None, str(_l("This enrolment cannot be completed.")))
    first = first_session_on(enrolment.course)
    if first is not None and first > on:
        raise ServiceError(
            None,
            str(
                _l("The course has not taken place yet; it cannot be completed before it is held.")
            ),
        )
    enrolment.completion_reason = reason[:500]
    _complete(
        session, actor=actor, enrolment=enrolment, on=last_attended_on(session, enrolment) or on
    )


def uncomplete_by_hand(
    session: DbSession, *, actor: User, enrolment: Enrolment, reason: str
) -> None:
    reason = reason.strip()
    if not reason:
        raise ServiceError("reason", str(_l("Give a reason.")))
    if enrolment.state != EnrolmentState.COMPLETED:
        raise ServiceError(None, str(_l("This enrolment is not completed.")))
    enrolment.state = EnrolmentState.NOT_COMPLETED
    enrolment.completed_on = None
    enrolment.completion_reason = reason[:500]
    record_audit(
        session,
        actor,
        "enrolment.uncomplete",
        enrolment,
        program_id=enrolment.course.program_id,
        detail={"reason": reason[:500]},
    )


def close_course(session: DbSession, *, actor: User, course: Course, now: datetime) -> int:
    """After the last session: everyone still only confirmed did not complete, and the
    course takes no more enrolments, imports or attendance."""
    if course.closed_at is not None:
        raise ServiceError(None, str(_l("This course is already closed.")))
    if not course_is_over(course, now):
        raise ServiceError(None, str(_l("The course can be closed once its last session is over.")))
    lock_course(session, course)
    rows = session.scalars(
        select(Enrolment).where(
            Enrolment.course_id == course.id, Enrolment.state == EnrolmentState.CONFIRMED
        )
    ).all()
    for enrolment in rows:
        enrolment.state = EnrolmentState.NOT_COMPLETED
        enrolment.state_changed_at = now
    course.closed_at = now
    record_audit(
        session,
        actor,
        "course.close",
        course,
        program_id=course.program_id,
        detail={"not_completed": len(rows)},
    )
    return len(rows)


# --- figures --------------------------------------------------------------------------


@dataclass
class CourseFigures:
    capacity: int | None
    by_state: Counter[str] = field(default_factory=Counter)
    attended: int = 0
    attributes: dict[str, int] = field(default_factory=dict)

    @property
    def applied(self) -> int:
        """Everyone who applied, whatever became of it."""
        return sum(self.by_state.values())

    @property
    def confirmed(self) -> int:
        return sum(self.by_state[s] for s in ON_ROLL)

    @property
    def completed(self) -> int:
        return self.by_state[EnrolmentState.COMPLETED]

    @property
    def waitlisted(self) -> int:
        return self.by_state[EnrolmentState.WAITLISTED]

    def attribute_rows(self) -> list[tuple[str, int, float]]:
        """(attribute, count, percent of attendees) in the fixed order of Attribute."""
        total = sum(self.attributes.values())
        return [
            (
                a.value,
                self.attributes.get(a.value, 0),
                round(100 * self.attributes.get(a.value, 0) / total, 1) if total else 0.0,
            )
            for a in Attribute
        ] + (
            [
                (
                    "unknown",
                    self.attributes["unknown"],
                    round(100 * self.attributes["unknown"] / total, 1),
                )
            ]
            if self.attributes.get("unknown")
            else []
        )


def course_figures(session: DbSession, course: Course) -> CourseFigures:
    """Figures in three aggregate queries, whatever the number of enrolments."""
    figures = CourseFigures(capacity=course.capacity)
    for state, count in session.execute(
        select(Enrolment.state, func.count())
        .where(Enrolment.course_id == course.id)
        .group_by(Enrolment.state)
    ):
        figures.by_state[state] = count
    attended = (
        select(Attendance.enrolment_id)
        .join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .where(Enrolment.course_id == course.id)
        .distinct()
        .subquery()
    )
    figures.attended = session.scalar(select(func.count()).select_from(attended)) or 0
    for attribute, count in session.execute(
        select(Person.attribute, func.count())
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(Enrolment.id.in_(select(attended.c.enrolment_id)))
        .group_by(Person.attribute)
    ):
        figures.attributes[attribute or "unknown"] = count
    return figures


def courses_for_program(session: DbSession, program: Program) -> list[dict[str, Any]]:
    """For `courses list`: each course with its id, kind, dates and counts."""
    rows = []
    first_dates = dict(
        session.execute(
            select(CourseSession.course_id, func.min(CourseSession.date))
            .join(Course, Course.id == CourseSession.course_id)
            .where(Course.program_id == program.id)
            .group_by(CourseSession.course_id)
        ).all()
    )
    counts: dict[int, Counter[str]] = {}
    for course_id, state, count in session.execute(
        select(Enrolment.course_id, Enrolment.state, func.count())
        .join(Course, Course.id == Enrolment.course_id)
        .where(Course.program_id == program.id)
        .group_by(Enrolment.course_id, Enrolment.state)
    ):
        counts.setdefault(course_id, Counter())[state] = count
    for course in session.scalars(
        select(Course).where(Course.program_id == program.id).order_by(Course.id)
    ):
        first = first_dates.get(course.id)
        state_counts = counts.get(course.id, Counter())
        rows.append(
            {
                "id": course.id,
                "program": program.code,
                "kind": course.kind,
                "title": course.title,
                "organiser": course.organiser.name,
                "venue": course.venue,
                "capacity": course.capacity,
                "first_session_on": first.isoformat() if first else None,
                "fiscal_year": fiscal_year(first) if first else None,
                "enrolments": dict(state_counts),
            }
        )
    return rows
