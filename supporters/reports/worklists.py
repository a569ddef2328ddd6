"""The lists a coordinator's start page links to: supporters without an activity report for
a fiscal year, trainees on a waiting list. Each condition is shared with the start page's
count (supporters.main.services), so the count and its list always agree."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, exists, or_, select

from supporters.core.dates import fiscal_year_bounds
from supporters.db import DbSession
from supporters.people.models import Person
from supporters.programs.models import Program
from supporters.registry.models import ActivityReport, Registration
from supporters.registry.services import no_activity_declared_filter
from supporters.training.models import Course, CourseSession, Enrolment, EnrolmentState


def missing_report_condition(year: int) -> Any:
    """Registrations that ran during fiscal year `year` and have no activity report in it
    (the start page's count and the list it links to)."""
    start, end = fiscal_year_bounds(year)
    filed = exists().where(
        ActivityReport.registration_id == Registration.id,
        ActivityReport.activity_on.between(start, end),
    )
    return and_(
        Registration.registered_on <= end,
        or_(Registration.withdrawn_on.is_(None), Registration.withdrawn_on > end),
        ~filed,
        *no_activity_declared_filter(year),  # "no activity this year" counts as the report
    )


def supporters_without_report(
    session: DbSession, program: Program, year: int
) -> list[tuple[Registration, Person]]:
    """The supporters counted by `missing_report_condition`, by reading."""
    return [
        (registration, person)
        for registration, person in session.execute(
            select(Registration, Person)
            .join(Person, Person.id == Registration.person_id)
            .where(Registration.program_id == program.id, missing_report_condition(year))
            .order_by(Person.name_reading, Person.id)
        )
    ]


def waiting_list_condition(today: date) -> Any:
    """Enrolments on the waiting list of a course with a session still to come (joined to
    Course): the start page's count and the list it links to."""
    upcoming = select(CourseSession.course_id).where(CourseSession.date >= today)
    return and_(Enrolment.state == EnrolmentState.WAITLISTED, Course.id.in_(upcoming))


def waiting_enrolments(
    session: DbSession, program: Program, today: date
) -> list[tuple[Enrolment, Course, Person]]:
    """The trainees counted by `waiting_list_condition`, course by course, in order."""
    return [
        (enrolment, course, person)
        for enrolment, course, person in session.execute(
            select(Enrolment, Course, Person)
            .join(Course, Course.id == Enrolment.course_id)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Course.program_id == program.id, waiting_list_condition(today))
            .order_by(Course.id, Enrolment.id)
        )
    ]
