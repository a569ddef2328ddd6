"""Issue 12 item 2: a program's coordinators never see what another program recorded about a
person. Matching a duplicate across programs reveals nothing: the enrol form, the CSV import
and the duplicate search only ever match people the program itself has records of (a person
record per program); what the other program recorded stays with it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from supporters.db import now_utc
from supporters.people.models import Person
from supporters.people.services import clean_person_input, find_duplicates
from supporters.training.importer import import_trainees
from supporters.training.models import Enrolment
from tests import factories
from tests.conftest import post_form

# Registered in Tochigi: a person with lived experience, living in Sano.
TOCHIGI_PHONE = "090-1234-0001"
TOCHIGI_EMAIL = "hanako.tochigi@example.jp"


def _tochigi_person(db_session: Any) -> Person:
    enrolment = factories.completed_enrolment(
        db_session,
        program_code="tochigi",
        name="栃木 花子",
        reading="トチギ ハナコ",
        email=TOCHIGI_EMAIL,
        phone=TOCHIGI_PHONE,
        residence="佐野市",
        attribute="lived_experience",
    )
    return enrolment.person


def _chiba_enrolment(db_session: Any, course: Any) -> Enrolment:
    return db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id))


def test_the_enrol_form_does_not_reveal_another_programs_person(
    client: Any, db_session: Any, login_as: Any
) -> None:
    tochigi = _tochigi_person(db_session)
    login_as(factories.coordinator(db_session, program_code="chiba"))
    course = factories.course(db_session, program_code="chiba")
    db_session.commit()
    data = {
        "name": "栃木 花子",
        "name_reading": "トチギ ハナコ",
        "phone": TOCHIGI_PHONE,
        "residence": "習志野市",
    }
    response = post_form(client, f"/courses/{course.id}/enrol", data)
    page = response.get_data(as_text=True)
    # No "this person may already exist" step, no hint of the other record.
    assert response.status_code == 302, page
    assert f'value="{tochigi.id}"' not in page
    enrolment = _chiba_enrolment(db_session, course)
    assert enrolment.person_id != tochigi.id
    detail = client.get(f"/courses/{course.id}/enrolments/{enrolment.id}").get_data(as_text=True)
    assert "佐野市" not in detail and TOCHIGI_EMAIL not in detail
    assert "当事者" not in detail  # Tochigi's attribute; Chiba recorded none (未記入)
    # Choosing the other program's record by hand is refused.
    response = post_form(
        client, f"/courses/{course.id}/enrol", {**data, "duplicate": str(tochigi.id)}
    )
    assert response.status_code in (302, 400)
    assert (
        db_session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.person_id == tochigi.id)
        )
        == 1
    )


def test_the_program_still_finds_its_own_duplicates(
    client: Any, db_session: Any, login_as: Any
) -> None:
    known = factories.completed_enrolment(
        db_session, program_code="chiba", email="own@example.jp", residence="習志野市"
    ).person
    login_as(factories.coordinator(db_session, program_code="chiba"))
    course = factories.course(db_session, program_code="chiba")
    db_session.commit()
    data = {
        "name": known.name,
        "name_reading": known.name_reading,
        "email": "own@example.jp",
        "residence": "習志野市",
    }
    response = post_form(client, f"/courses/{course.id}/enrol", data)
    assert response.status_code == 200
    assert f'value="{known.id}"' in response.get_data(as_text=True)


def test_the_csv_import_does_not_reuse_another_programs_person(db_session: Any) -> None:
    tochigi = _tochigi_person(db_session)
    course = factories.course(db_session, program_code="chiba")
    csv = "氏名,フリガナ,メールアドレス,電話番号,居住市町村,勤務先市町村,属性\r\n"
    csv += f"栃木 花子,トチギ ハナコ,{TOCHIGI_EMAIL},{TOCHIGI_PHONE},習志野市,,\r\n"
    report = import_trainees(
        db_session, actor=None, course=course, data=csv.encode("utf-8"), now=now_utc()
    )
    assert report.ok and (report.created, report.reused) == (1, 0)
    enrolment = _chiba_enrolment(db_session, course)
    assert enrolment.person_id != tochigi.id
    assert enrolment.person.attribute is None
    assert enrolment.person.residence_municipality.name == "習志野市"


def test_duplicates_are_matched_within_the_program_only(db_session: Any) -> None:
    tochigi = _tochigi_person(db_session)
    data = clean_person_input(name="栃木 花子", name_reading="トチギ ハナコ", phone=TOCHIGI_PHONE)
    chiba = factories.program(db_session, code="chiba")
    tochigi_program = factories.program(db_session, code="tochigi")
    assert find_duplicates(db_session, data, program_id=chiba.id) == []
    assert find_duplicates(db_session, data, program_id=tochigi_program.id) == [tochigi]


def test_applying_to_another_programs_course_does_not_hand_over_the_record(
    app: Any, db_session: Any
) -> None:
    """A Kagawa supporter who also holds a Tochigi supporter role cannot carry their Kagawa
    record (attribute, contact) into Tochigi by applying there: Tochigi's coordinator records
    them itself."""
    import pytest

    from supporters.accounts.models import Role
    from supporters.accounts.services import grant_role
    from supporters.db import ServiceError, now_utc
    from supporters.training.services.enrolments import apply_for_course

    kagawa = factories.completed_enrolment(
        db_session,
        program_code="kagawa",
        name="香川 花子",
        reading="カガワ ハナコ",
        email="hanako.kagawa@example.jp",
        residence="高松市",
        attribute="family",
    ).person
    user = factories.supporter(db_session, program_code="kagawa", email="both@example.jp")
    user.person_id = kagawa.id
    grant_role(
        db_session,
        actor=None,
        user=user,
        role=Role.SUPPORTER,
        program=factories.program(db_session, code="tochigi"),
        now=now_utc(),
    )
    today = now_utc().date()
    ahead = today + timedelta(days=30)  # open for applications: only the record is in the way
    course = factories.course(db_session, program_code="tochigi", kind="meeting", on=ahead)
    with pytest.raises(ServiceError, match="この事業には、まだあなたの受講者情報がありません"):
        apply_for_course(
            db_session, actor=user, course=course, person=kagawa, today=today, now=now_utc()
        )
    assert db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id)) is None
    own = factories.course(db_session, program_code="kagawa", kind="meeting", on=ahead)
    enrolment = apply_for_course(
        db_session, actor=user, course=own, person=kagawa, today=today, now=now_utc()
    )
    assert enrolment.person_id == kagawa.id
