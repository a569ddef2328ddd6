"""Courses: creating and editing them, closing one after its last session, and its
figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.dates import fiscal_year
from supporters.db import DbSession, ServiceError
from supporters.people.models import Attribute
from supporters.programs.models import Organisation, Program, ProgramAttribute
from supporters.training.models import (
    ON_ROLL,
    Attendance,
    Course,
    CourseKind,
    CourseSession,
    Enrolment,
    EnrolmentState,
)
from supporters.training.services.course_state import (
    count_holding_place,
    course_is_over,
    lock_course,
)
from supporters.training.services.enrolments import promote_from_waitlist
from supporters.training.services.sessions import add_curriculum_sessions


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
        raise ServiceError(
            "kind", str(_l("Choose the kind of course.")), code="course_kind_missing"
        )
    organiser = session.get(Organisation, data.organiser_id)
    if organiser is None or organiser.program_id != program.id:
        raise ServiceError(
            "organiser_id",
            str(_l("Choose an organiser of this program.")),
            code="organiser_not_in_program",
        )
    if not data.title.strip():
        raise ServiceError("title", str(_l("Enter a title.")), code="title_missing")
    if data.capacity is not None and data.capacity <= 0:
        raise ServiceError(
            "capacity", str(_l("The capacity must be at least 1.")), code="capacity_below_one"
        )
    if (
        data.application_opens_on
        and data.application_closes_on
        and data.application_closes_on < data.application_opens_on
    ):
        raise ServiceError(
            "application_closes_on",
            str(_l("The application period ends before it starts.")),
            code="application_period_reversed",
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
                code="capacity_below_holding",
            )
    for key, value in data.__dict__.items():
        setattr(course, key, value.strip() if isinstance(value, str) else value)
    record_audit(session, actor, "course.update", course, program_id=course.program_id)
    promote_from_waitlist(session, actor=actor, course=course)


def close_refusal(course: Course, now: datetime) -> ServiceError | None:
    """Why the course cannot be closed now (the close page says it before asking), or None."""
    if course.closed_at is not None:
        return ServiceError(
            None, str(_l("This course is already closed.")), code="course_already_closed"
        )
    if not course_is_over(course, now):
        return ServiceError(
            None,
            str(_l("The course can be closed once its last session is over.")),
            code="course_not_over",
        )
    return None


def close_course(session: DbSession, *, actor: User, course: Course, now: datetime) -> int:
    """After the last session: everyone still only confirmed did not complete, and the
    course takes no more enrolments, imports or attendance."""
    refusal = close_refusal(course, now)
    if refusal is not None:
        raise refusal
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
    """Figures in two aggregate queries, whatever the number of enrolments, each through
    the index on the course's enrolments: by state, and those who attended by attribute
    (whose sum is the number who attended)."""
    figures = CourseFigures(capacity=course.capacity)
    for state, count in session.execute(
        select(Enrolment.state, func.count())
        .where(Enrolment.course_id == course.id)
        .group_by(Enrolment.state)
    ):
        figures.by_state[state] = count
    attended = exists().where(Attendance.enrolment_id == Enrolment.id)
    figures.attributes = count_by_reporting_group(
        session, Enrolment.course_id == course.id, attended
    )
    figures.attended = sum(figures.attributes.values())
    return figures


def count_by_reporting_group(session: DbSession, *where: Any) -> dict[str, int]:
    """Enrolments (those `where` picks) by the reporting group of the attribute recorded on
    each at enrolment, in the program's wording (Kagawa's 行政の相談担当者 counts as
    福祉専門職); "unknown" where none was recorded. The group recorded with it counts (the
    program's attribute edited since, or the person's attribute today, does not): past
    figures stay as they were. Rows written without it (bulk data) fall back to the
    program's group today."""
    group = func.coalesce(
        Enrolment.attribute_group, ProgramAttribute.reporting_group, Enrolment.attribute
    )
    counts: dict[str, int] = {}
    for found, count in session.execute(
        select(group, func.count(Enrolment.id))
        .select_from(Enrolment)
        .join(Course, Course.id == Enrolment.course_id)
        .outerjoin(
            ProgramAttribute,
            and_(
                ProgramAttribute.program_id == Course.program_id,
                ProgramAttribute.code == Enrolment.attribute,
            ),
        )
        .where(*where)
        .group_by(group)
    ):
        key = found or "unknown"
        counts[key] = counts.get(key, 0) + count
    return counts


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
