"""A course's sessions (the program's curriculum pre-filled), the roll call and make-up
attendance at another course's session of the same topic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.display import human_date
from supporters.core.time import local_date
from supporters.db import DbSession, ServiceError
from supporters.people.models import Person
from supporters.programs.models import Program
from supporters.training.models import (
    ON_ROLL,
    Attendance,
    Course,
    CourseKind,
    CourseSession,
    Enrolment,
)
from supporters.training.services.completion import count_follow_up, update_completion
from supporters.training.services.course_state import require_open

DEFAULT_SESSION_START = time(10, 0)


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
        raise ServiceError("topic", str(_l("Enter a topic.")), code="topic_missing")
    if data.start_time and data.end_time and data.end_time <= data.start_time:
        raise ServiceError(
            "end_time",
            str(_l("The end must be after the start.")),
            code="session_ends_before_start",
        )


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
            None,
            str(_l("Attendance has been recorded for this session; it cannot be deleted.")),
            code="session_has_attendance",
        )
    course = course_session.course
    session.delete(course_session)
    record_audit(session, actor, "course.session_delete", course, program_id=course.program_id)


def roll_call_enrolments(session: DbSession, course: Course) -> list[Enrolment]:
    return list(
        session.scalars(
            select(Enrolment)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.course_id == course.id, Enrolment.state.in_(ON_ROLL))
            .order_by(Person.name_reading, Person.id)
        )
    )


def people_on_roll(session: DbSession, roll: list[Enrolment]) -> dict[int, Person]:
    """The people of a roll by id, in one query."""
    return {
        p.id: p
        for p in session.scalars(select(Person).where(Person.id.in_([e.person_id for e in roll])))
    }


def record_sign_in_sheet(session: DbSession, *, actor: User, course_session: CourseSession) -> None:
    """A sign-in sheet (the names of the roll) was printed: audited like an export."""
    course = course_session.course
    record_audit(
        session,
        actor,
        "export.sign_in_sheet",
        course,
        program_id=course.program_id,
        detail={"session_id": course_session.id},
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
        raise ServiceError(
            None, str(_l("Some trainees are not on this course's roll.")), code="not_on_roll"
        )
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
        count_follow_up(session, actor, on_roll[enrolment_id], course_session.date)
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
                    d=human_date(course_session.date),
                )
            ),
            code="roll_call_before_day",
        )


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
        raise ServiceError(
            "session_id",
            str(_l("Choose a session with a topic of this course.")),
            code="not_a_make_up_session",
        )
    # A make-up usually comes after the course has closed: it may still complete the trainee.
    _require_held(course_session, now)
    if enrolment.state not in ON_ROLL:
        raise ServiceError(None, str(_l("Only enrolled trainees can attend.")), code="not_enrolled")
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
        count_follow_up(session, actor, enrolment, course_session.date)
    record_audit(
        session,
        actor,
        "attendance.make_up",
        enrolment,
        program_id=enrolment.course.program_id,
        detail={"session_id": course_session.id},
    )
    return update_completion(session, actor=actor, enrolment=enrolment)
