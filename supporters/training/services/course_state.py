"""When a course is open, over and taking applications, and its lock and places: what
every other part of training asks of a course."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, or_, select, update

from supporters.core.display import human_date
from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession, ServiceError
from supporters.programs.models import Program
from supporters.training.models import HOLDS_PLACE, Course, CourseKind, CourseSession, Enrolment


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
            None,
            str(_l("This course is closed: enrolments and attendance can no longer change.")),
            code="course_closed",
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
        return str(_l("Applications open on %(d)s.", d=human_date(course.application_opens_on)))
    if course.application_closes_on and today > course.application_closes_on:
        return str(_l("Applications for this course have closed."))
    return None


def follow_up_courses_open(
    session: DbSession, program: Program, today: date, *, limit: int = 5
) -> list[Course]:
    """The program's follow-up courses a registered supporter can still apply to, soonest
    first."""
    return _follow_up_courses(session, program, open_for_applications_filter(today), limit)


def follow_up_courses_to_enrol(
    session: DbSession, program: Program, today: date, *, limit: int = 20
) -> list[Course]:
    """Follow-up courses a coordinator can still enrol supporters into: not closed, first
    session ahead (applications may have closed: the coordinator decides)."""
    conditions = [Course.closed_at.is_(None), _first_session_date() > today]
    return _follow_up_courses(session, program, conditions, limit)


def _follow_up_courses(
    session: DbSession, program: Program, conditions: list[ColumnElement[bool]], limit: int
) -> list[Course]:
    """The program's follow-up courses that meet `conditions`, soonest first."""
    return list(
        session.scalars(
            select(Course)
            .where(
                Course.program_id == program.id,
                Course.kind == CourseKind.FOLLOW_UP,
                *conditions,
            )
            .order_by(_first_session_date(), Course.id)
            .limit(limit)
        )
    )


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
