"""Issue 13 item 3: the follow-up workflow - importing into a follow-up course, the register
export imported back, the follow-up curriculum."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from supporters.registry.models import Registration
from supporters.training.importer import import_trainees
from supporters.training.models import Enrolment
from supporters.training.services.courses import CourseInput, create_course
from tests import factories
from tests.conftest import post_form

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def _follow_up(db_session: Any, program_code: str = "tochigi") -> Any:
    return factories.course(
        db_session,
        program_code=program_code,
        kind="follow_up",
        topics=("更新",),
        on=date(2026, 9, 1),
    )


def _registered(db_session: Any, n: int, **kwargs: Any) -> Registration:
    return factories.registration(
        db_session,
        program_code="tochigi",
        on=date(2024, 7, 20),
        name=f"支援 {n}",
        reading=f"シエン {'アイウエオ'[n]}",
        **kwargs,
    )


def test_a_trainee_who_is_not_registered_is_a_row_error(db_session: Any) -> None:
    course = _follow_up(db_session)
    supporter = _registered(db_session, 0, email="s0@example.jp")
    data = (
        "氏名,フリガナ,メールアドレス,居住市町村\n"
        f"{supporter.person.name},{supporter.person.name_reading},s0@example.jp,佐野市\n"
        "未登録 太郎,ミトウロク タロウ,new@example.jp,佐野市\n"
    ).encode()
    report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert not report.ok
    (error,) = report.errors
    assert error.row == 3 and error.column == "氏名" and "未登録 太郎" in error.message
    assert db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id)) is None


def test_the_register_export_imports_back_into_a_follow_up_course(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    with_contact = _registered(db_session, 0, email="s0@example.jp")
    without_contact = _registered(db_session, 1, email=None)
    course = _follow_up(db_session)
    db_session.commit()
    exported = client.get("/register/export.csv", query_string={"program": "tochigi"}).data
    report = import_trainees(db_session, actor=None, course=course, data=exported, now=NOW)
    assert report.ok, report.errors
    assert (report.enrolled, report.created) == (2, 0)
    enrolled = set(
        db_session.scalars(select(Enrolment.person_id).where(Enrolment.course_id == course.id))
    )
    assert enrolled == {with_contact.person_id, without_contact.person_id}


def test_extra_columns_are_ignored_but_a_misspelt_one_is_not(db_session: Any) -> None:
    course = factories.course(db_session)
    data = (
        "氏名,フリガナ,居住市町村,備考,受付番号\n香川 花,カガワ ハナ,高松市,当日参加,12\n".encode()
    )
    report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert report.ok, report.errors
    assert report.ignored_columns == ["備考", "受付番号"]
    misspelt = "氏名,フリガナ,居住市町,\n香川 花,カガワ ハナ,高松市,\n".encode()
    report = import_trainees(db_session, actor=None, course=course, data=misspelt, now=NOW)
    assert not report.ok and report.errors[0].column == "居住市町"


def test_a_follow_up_course_starts_from_the_follow_up_curriculum(db_session: Any) -> None:
    program = factories.program(db_session, code="tochigi")
    organiser = factories.course(db_session, program_code="tochigi").organiser
    course = create_course(
        db_session,
        actor=None,
        program=program,
        data=CourseInput(kind="follow_up", organiser_id=organiser.id, title="更新研修"),
        first_session_on=date(2026, 9, 1),
        use_curriculum=True,
    )
    initial_topics = {str(item["topic"]) for item in program.curriculum_template or []}
    assert len(course.sessions) == 1
    assert course.sessions[0].topic not in initial_topics
    initial = create_course(
        db_session,
        actor=None,
        program=program,
        data=CourseInput(kind="initial", organiser_id=organiser.id, title="養成研修"),
        first_session_on=date(2026, 9, 1),
        use_curriculum=True,
    )
    assert {s.topic for s in initial.sessions} == initial_topics


def test_coordinator_enrols_from_the_register(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    a = _registered(db_session, 0, email="s0@example.jp")
    b = _registered(db_session, 1, email="s1@example.jp")
    _registered(db_session, 2, email="s2@example.jp")
    course = factories.course(
        db_session, program_code="tochigi", kind="follow_up", topics=("更新",), on=date(2099, 9, 1)
    )
    db_session.commit()
    page = client.get("/register/", query_string={"program": "tochigi"}).get_data(as_text=True)
    assert f'value="{course.id}"' in page and f'value="{a.id}"' in page
    response = post_form(
        client,
        "/register/enrol",
        {"program": "tochigi", "course_id": str(course.id), "registration_id": [a.id, b.id]},
        form_url="/register/?program=tochigi",
    )
    assert response.status_code == 302
    enrolled = set(
        db_session.scalars(select(Enrolment.person_id).where(Enrolment.course_id == course.id))
    )
    assert enrolled == {a.person_id, b.person_id}


def test_person_page_shows_follow_up_and_enrols(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    registration = _registered(db_session, 0, email="s0@example.jp")
    course = factories.course(
        db_session, program_code="tochigi", kind="follow_up", topics=("更新",), on=date(2099, 9, 1)
    )
    db_session.commit()
    page = client.get(f"/register/{registration.id}").get_data(as_text=True)
    assert course.title in page and f'value="{course.id}"' in page
    assert "2027" in page  # the follow-up falls due before the validity ends (2027)
    response = post_form(
        client,
        "/register/enrol",
        {"program": "tochigi", "course_id": str(course.id), "registration_id": [registration.id]},
        form_url=f"/register/{registration.id}",
    )
    assert response.status_code == 302
    assert db_session.scalar(
        select(Enrolment).where(
            Enrolment.course_id == course.id, Enrolment.person_id == registration.person_id
        )
    )
