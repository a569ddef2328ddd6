"""Closing a course through the page: asked first, only after the last session, and the
actions that no longer apply are gone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from supporters.training.models import Course
from supporters.training.services.enrolments import enrol_person
from tests import factories
from tests.conftest import post_form


def _course(db_session: Any, on: date) -> Course:
    course = factories.course(db_session, program_code="kagawa", topics=("基礎",), on=on)
    enrol_person(
        db_session,
        actor=None,
        course=course,
        person=factories.person(db_session, residence="高松市", prefecture="香川県"),
        now=datetime(2024, 4, 1, tzinfo=UTC),
    )
    return course


def test_closing_asks_first_then_closes(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    course = _course(db_session, date(2024, 5, 1))
    db_session.commit()
    detail = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert f"/courses/{course.id}/close" in detail
    page = client.get(f"/courses/{course.id}/close").get_data(as_text=True)
    assert "1" in page and 'method="post"' in page
    db_session.refresh(course)
    assert course.closed_at is None  # opening the page changes nothing
    response = post_form(client, f"/courses/{course.id}/close", {})
    assert response.status_code == 302
    db_session.refresh(course)
    assert course.closed_at is not None
    detail = client.get(f"/courses/{course.id}").get_data(as_text=True)
    for gone in ("/enrol", "/import", "/close", "/sessions/new"):
        assert f'/courses/{course.id}{gone}"' not in detail, gone
    assert '/roll"' not in detail
    assert client.get(f"/courses/{course.id}/enrol").status_code == 302
    assert client.get(f"/courses/{course.id}/import").status_code == 302


def test_a_course_still_ahead_cannot_be_closed(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    course = _course(db_session, date(2099, 5, 1))
    db_session.commit()
    detail = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert f"/courses/{course.id}/close" not in detail
    assert f"/courses/{course.id}/sessions/{course.sessions[0].id}/roll" not in detail
    page = client.get(f"/courses/{course.id}/close")
    assert page.status_code == 200
    assert f'action="/courses/{course.id}/close"' not in page.get_data(as_text=True)
    response = post_form(
        client, f"/courses/{course.id}/close", {}, form_url=f"/courses/{course.id}"
    )
    assert response.status_code == 302
    db_session.refresh(course)
    assert course.closed_at is None


def test_my_page_lists_only_follow_up_courses_that_can_be_taken(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = factories.registration(db_session, program_code="kagawa", on=date(2024, 7, 1))
    user = factories.supporter(db_session, program_code="kagawa")
    user.person_id = registration.person_id
    held = factories.course(
        db_session, program_code="kagawa", kind="follow_up", title="過去の研修", on=date(2022, 9, 1)
    )
    ahead = factories.course(
        db_session, program_code="kagawa", kind="follow_up", title="次の研修", on=date(2099, 9, 1)
    )
    db_session.commit()
    login_as(user)
    page = client.get("/me").get_data(as_text=True)
    assert ahead.title in page and held.title not in page
    course_page = client.get(f"/courses/{held.id}").get_data(as_text=True)
    assert f'action="/courses/{held.id}/apply"' not in course_page
