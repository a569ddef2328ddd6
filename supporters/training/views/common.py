"""The training blueprint and what its pages share: loading a course, session or
enrolment of the URL with the permission it needs, and the labels every template shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from supporters.core.web import require, save
from supporters.extensions import db
from supporters.training.forms import ATTRIBUTE_LABELS, KIND_LABELS, STATE_LABELS
from supporters.training.models import Course, CourseSession, Enrolment
from supporters.training.permissions import can_manage_course, can_view_course

bp = Blueprint("training", __name__, url_prefix="/courses")


def labels() -> dict[str, object]:
    return {
        "kind_labels": KIND_LABELS,
        "state_labels": STATE_LABELS,
        "attribute_labels": ATTRIBUTE_LABELS,
    }


def load_course(course_id: int, *, manage: bool = False) -> Course:
    course = db.get_or_404(Course, course_id)
    require(
        can_manage_course(current_user, course) if manage else can_view_course(current_user, course)
    )
    return course


def load_session(course: Course, session_id: int) -> CourseSession:
    row = db.session.get(CourseSession, session_id)
    if row is None or row.course_id != course.id:
        abort(404)
    return row


def load_enrolment(course: Course, enrolment_id: int) -> Enrolment:
    row = db.session.get(Enrolment, enrolment_id)
    if row is None or row.course_id != course.id:
        abort(404)
    return row


def managed_enrolment(course_id: int, enrolment_id: int) -> tuple[Course, Enrolment]:
    course = load_course(course_id, manage=True)
    return course, load_enrolment(course, enrolment_id)


def saved_to_course(
    course: Course, form: Any, action: Callable[[], object], success: str
) -> Response | None:
    """A posted form of a course's page: when it is valid and `action` saved, back to the
    course page; else None, to show the form again (with the refusal on it)."""
    if form.validate_on_submit() and save(action, form=form, success=success):
        return redirect(url_for("training.detail", course_id=course.id))
    return None
