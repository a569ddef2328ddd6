"""Who may see and change courses, enrolments and trainee attributes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from supporters.accounts.models import Role
from supporters.accounts.permissions import (
    coordinated_program_ids,
    is_admin,
    staff_municipality_ids,
    supporter_program_ids,
)
from supporters.people.models import Person
from supporters.programs.permissions import coordinated_filter, coordinates, coordinator_scope
from supporters.training.models import Course, CourseKind


def _staff_program_ids(user: Any) -> set[int]:
    return {g.program_id for g in user.active_grants if g.role == Role.MUNICIPAL_STAFF}


def can_manage_course(user: Any, course: Course) -> bool:
    """The program's coordinators, and the coordinators of the organisation running it."""
    return coordinates(user, course.program_id, course.organiser_id)


def can_create_course(user: Any) -> bool:
    return bool(coordinator_scope(user))


def can_view_course(user: Any, course: Course) -> bool:
    if is_admin(user) or can_manage_course(user, course):
        return True
    if course.program_id in _staff_program_ids(user):
        return True
    return course.program_id in supporter_program_ids(user) and course.kind != CourseKind.INITIAL


def can_view_attributes(user: Any, course: Course) -> bool:
    """Per person, only the coordinators of the course (the program's, the organiser's; not
    even admins) see the attribute."""
    return can_manage_course(user, course)


def can_view_attribute_figures(user: Any, program_id: int) -> bool:
    return program_id in coordinated_program_ids(user)


def can_apply(user: Any, course: Course) -> bool:
    return (
        course.kind != CourseKind.INITIAL
        and course.program_id in supporter_program_ids(user)
        and user.person_id is not None
    )


def visible_course_filter(user: Any) -> ColumnElement[bool]:
    """The courses a user may list, as a WHERE clause."""
    if is_admin(user):
        return true()
    clauses: list[ColumnElement[bool]] = []
    clauses.append(coordinated_filter(user, Course.program_id, Course.organiser_id))
    staffed = _staff_program_ids(user)
    if staffed:
        clauses.append(Course.program_id.in_(staffed))
    supported = supporter_program_ids(user)
    if supported:
        clauses.append(Course.program_id.in_(supported) & (Course.kind != CourseKind.INITIAL))
    return or_(*clauses) if clauses else false()


def visible_trainee_filter(user: Any, course: Course) -> ColumnElement[bool] | None:
    """Which trainees of a course a user may see; None: none at all."""
    if is_admin(user) or can_manage_course(user, course):
        return true()
    if course.program_id in _staff_program_ids(user):
        places = staff_municipality_ids(user)
        return or_(
            Person.residence_municipality_id.in_(places), Person.work_municipality_id.in_(places)
        )
    return None
