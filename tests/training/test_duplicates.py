"""Issue 13 item 7: the same name and reading enrolled twice in a program, without e-mail or
phone, warns and asks, as a matching e-mail does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from supporters.people.models import Person
from supporters.people.services import clean_person_input
from supporters.training.models import Enrolment
from supporters.training.services.enrolments import enrol_person, same_name_in_program
from tests import factories
from tests.conftest import post_form

NOW = datetime(2024, 4, 10, 1, 0, tzinfo=UTC)
FORM = {"name": "山田　花子", "name_reading": "やまだ はなこ", "residence": "高松市"}


def _enrolled(db_session: Any, program_code: str) -> Person:
    course = factories.course(db_session, program_code=program_code)
    prog = factories.program(db_session, code=program_code)
    home = {"kagawa": "高松市", "chiba": "習志野市"}[program_code]
    person = factories.person(db_session, residence=home, prefecture=prog.prefecture)
    enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
    return person


def test_same_name_and_reading_in_the_program_is_found(db_session: Any) -> None:
    known = _enrolled(db_session, "kagawa")
    elsewhere = _enrolled(db_session, "chiba")
    data = clean_person_input(name="山田 花子", name_reading="ヤマダ ハナコ")
    kagawa = factories.program(db_session, code="kagawa")
    assert [p.id for p in same_name_in_program(db_session, kagawa, data)] == [known.id]
    assert elsewhere.id not in {p.id for p in same_name_in_program(db_session, kagawa, data)}
    other = clean_person_input(name="山田 花子", name_reading="ヤマダ ハナ")
    assert same_name_in_program(db_session, kagawa, other) == []


def test_registered_supporters_of_the_program_are_found(db_session: Any) -> None:
    registration = factories.registration(db_session, program_code="kagawa", email=None)
    data = clean_person_input(name="山田 花子", name_reading="ヤマダ ハナコ")
    found = same_name_in_program(db_session, registration.program, data)
    assert [p.id for p in found] == [registration.person_id]


def test_enrol_form_asks_when_the_name_and_reading_match_without_contact(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    known = _enrolled(db_session, "kagawa")
    course = factories.course(db_session, program_code="kagawa")
    db_session.commit()
    response = post_form(client, f"/courses/{course.id}/enrol", FORM)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'value="{known.id}"' in page
    assert db_session.scalar(select(func.count()).select_from(Person)) == 1
    response = post_form(client, f"/courses/{course.id}/enrol", {**FORM, "duplicate": "new"})
    assert response.status_code == 302
    assert db_session.scalar(select(func.count()).select_from(Person)) == 2


def test_choosing_the_existing_person_enrols_them(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    known = _enrolled(db_session, "kagawa")
    course = factories.course(db_session, program_code="kagawa")
    db_session.commit()
    response = post_form(
        client, f"/courses/{course.id}/enrol", {**FORM, "duplicate": str(known.id)}
    )
    assert response.status_code == 302
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id))
    assert enrolment.person_id == known.id
