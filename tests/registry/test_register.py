from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from supporters.db import ServiceError
from supporters.registry import activity_reports, services
from supporters.registry.models import Registration
from supporters.training.models import Enrolment
from supporters.training.services.enrolments import enrol_person
from supporters.training.services.sessions import record_roll_call
from tests import factories


def _status(session: Any, registration: Registration, day: date) -> str | None:
    events = services.events_for(session, registration)
    return services.status_on(registration, registration.program, events, day)


def _follow_up(session: Any, registration: Registration, day: date) -> Enrolment:
    course = factories.course(
        session,
        program_code=registration.program.code,
        kind="follow_up",
        topics=("近況報告",),
        on=day,
    )
    enrolment = enrol_person(
        session,
        actor=None,
        course=course,
        person=registration.person,
        now=datetime.combine(day, datetime.min.time(), UTC),
    )
    record_roll_call(
        session,
        actor=factories.admin_user(session),
        course_session=course.sessions[0],
        present_ids={enrolment.id},
        now=datetime.combine(day, datetime.min.time(), UTC),
    )
    return enrolment


def test_registration_number_and_three_year_validity(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2023, 7, 20))
    assert registration.number == "TCG-2023-0001"
    assert registration.initial_valid_until == date(2026, 7, 20)
    enrolment = db_session.get(Enrolment, registration.enrolment_id)
    assert registration.issuing_organisation_id == enrolment.course.organiser_id


def test_lapse_and_renewal_walked_through_dates(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2020, 7, 20))
    assert _status(db_session, registration, date(2020, 7, 19)) is None
    assert _status(db_session, registration, date(2020, 7, 20)) == "active"
    assert _status(db_session, registration, date(2023, 1, 20)) == "active"
    assert _status(db_session, registration, date(2023, 1, 21)) == "follow_up_due"  # 180 days
    assert _status(db_session, registration, date(2023, 7, 20)) == "follow_up_due"
    assert _status(db_session, registration, date(2023, 7, 21)) == "lapsed"
    _follow_up(db_session, registration, date(2023, 9, 1))  # after the lapse
    assert registration.valid_until == date(2026, 9, 1)  # counted from the attendance
    assert _status(db_session, registration, date(2023, 8, 31)) == "lapsed"  # history stays
    assert _status(db_session, registration, date(2023, 9, 1)) == "active"
    _follow_up(db_session, registration, date(2026, 6, 1))  # inside the window
    assert registration.valid_until == date(2029, 9, 1)  # counted from the old end


def test_follow_up_too_early_does_not_stack_years(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2020, 7, 20))
    _follow_up(db_session, registration, date(2021, 1, 10))
    assert registration.valid_until == date(2023, 7, 20)
    kinds = [e.kind for e in services.events_for(db_session, registration)]
    assert kinds == ["registered", "follow_up"]


def test_programs_without_validity_stay_active(db_session: Any) -> None:
    registration = factories.registration(db_session, program_code="kagawa", on=date(2023, 9, 9))
    assert registration.initial_valid_until is None
    assert _status(db_session, registration, date(2030, 1, 1)) == "active"
    _follow_up(db_session, registration, date(2023, 11, 18))
    counts = services.fiscal_year_follow_up_counts(db_session, registration.program, 2023)
    assert counts["follow_up"] == 1


def test_refusals_change_nothing(db_session: Any) -> None:
    enrolment = factories.completed_enrolment(db_session, on=date(2023, 7, 1))
    services.register_enrolment(db_session, actor=None, enrolment=enrolment, on=date(2023, 7, 1))
    with pytest.raises(
        ServiceError, match="山田 花子さんはすでにこの事業に登録されています"
    ) as info:
        services.register_enrolment(
            db_session, actor=None, enrolment=enrolment, on=date(2023, 7, 2)
        )
    assert info.value.code == "already_registered"
    course = factories.course(db_session, program_code="tochigi")
    person = factories.person(
        db_session,
        name="未 修了",
        reading="ミ シュウリョウ",
        residence="佐野市",
        prefecture="栃木県",
    )
    open_enrolment = enrol_person(
        db_session, actor=None, course=course, person=person, now=datetime.now(UTC)
    )
    with pytest.raises(ServiceError, match="養成研修を修了した方のみ登録できます") as info:
        services.register_enrolment(
            db_session, actor=None, enrolment=open_enrolment, on=date(2024, 1, 1)
        )
    assert info.value.code == "initial_training_not_completed"
    kagawa = factories.completed_enrolment(
        db_session, program_code="kagawa", name="香川 花子", reading="カガワ ハナコ"
    )
    with pytest.raises(ServiceError, match="登録申請書を提出した方のみ登録できます") as info:
        services.register_enrolment(db_session, actor=None, enrolment=kagawa, on=date(2024, 1, 1))
    assert (info.value.field, info.value.code) == ("form_received", "registration_form_missing")
    follow_up = factories.course(db_session, program_code="tochigi", kind="follow_up")
    with pytest.raises(ServiceError, match="この事業のサポーターとして登録されていません"):
        enrol_person(db_session, actor=None, course=follow_up, person=person, now=datetime.now(UTC))
    assert (
        db_session.scalar(select(Registration).where(Registration.person_id == person.id)) is None
    )


def test_suspension_withdrawal_and_erasure(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    registration = factories.registration(
        db_session, on=date(2023, 7, 20), email="erase@example.jp", attribute="家族"
    )
    services.suspend(
        db_session, actor=admin, registration=registration, on=date(2024, 1, 1), reason="本人の体調"
    )
    assert _status(db_session, registration, date(2024, 1, 1)) == "suspended"
    services.reinstate(db_session, actor=admin, registration=registration, on=date(2024, 3, 1))
    assert _status(db_session, registration, date(2024, 3, 1)) == "active"
    assert _status(db_session, registration, date(2024, 2, 1)) == "suspended"
    services.withdraw(db_session, actor=admin, registration=registration, on=date(2024, 4, 1))
    assert _status(db_session, registration, date(2024, 4, 1)) == "withdrawn"
    now = datetime(2024, 6, 1, tzinfo=UTC)
    assert services.erase_withdrawn(db_session, now=now, retention_days=365) == 0
    later = datetime(2025, 5, 1, tzinfo=UTC)
    assert services.erase_withdrawn(db_session, now=later, retention_days=365) == 1
    person = registration.person
    assert person.name == services.ERASED_NAME and person.email is None
    assert person.attribute == "family"  # what the figures need stays
    assert services.erase_withdrawn(db_session, now=later, retention_days=365) == 0


def test_activity_reports_validate_and_show_due_years(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2022, 7, 20))
    supporter = factories.supporter(db_session)
    today = date(2024, 5, 1)

    def report(**changes: Any) -> Any:
        data = activity_reports.ReportInput(
            activity_on=date(2023, 5, 1),
            hours="1.5",
            kind="sitting_in",
            municipality_id=None,
            topics=["going_out"],
            note="",
        )
        for key, value in changes.items():
            setattr(data, key, value)
        return activity_reports.file_report(
            db_session,
            actor=supporter,
            registration=registration,
            data=data,
            today=today,
            on_behalf=False,
        )

    for bad, field, code, message in [
        (
            {"activity_on": date(2024, 5, 2)},
            "activity_on",
            "date_in_future",
            "未来の日付は入力できません",
        ),
        ({"hours": "-1"}, "hours", "hours_out_of_range", "時間は0.1以上24以下で入力してください"),
        ({"hours": "0"}, "hours", "hours_out_of_range", "時間は0.1以上24以下で入力してください"),
        ({"hours": "abc"}, "hours", "hours_not_a_number", "時間は数字で入力してください"),
        ({"kind": "secret"}, "kind", "kind_unknown", "活動の種類を選んでください"),
        (
            {"topics": ["client-name"]},
            "topics",
            "topic_unknown",
            "相談内容は一覧から選んでください",
        ),
        ({"note": "あ" * 201}, "note", "note_too_long", "200文字以内で入力してください"),
        (
            {"activity_on": date(2022, 1, 1)},
            "activity_on",
            "date_before_registration",
            "サポーター登録日より前の日付です",
        ),
    ]:
        with pytest.raises(ServiceError, match=message) as info:
            report(**bad)
        assert (info.value.field, info.value.code) == (field, code), bad
    assert activity_reports.reports_due(db_session, registration, registration.program, today) == [
        2022,
        2023,
        2024,
    ]
    report()
    assert activity_reports.reports_due(db_session, registration, registration.program, today) == [
        2022,
        2024,
    ]
    kagawa = factories.registration(
        db_session,
        program_code="kagawa",
        on=date(2023, 9, 9),
        name="香川 一",
        reading="カガワ イチ",
    )
    assert activity_reports.reports_due(db_session, kagawa, kagawa.program, today) == []


DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2031, 12, 31))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=DAYS)
def test_sql_status_matches_the_rules(db_session: Any, day: date) -> None:
    """The SQL used by lists and counts agrees with the Python rules on any date."""
    registrations = db_session.scalars(select(Registration)).all()
    if not registrations:
        admin = factories.admin_user(db_session)
        plain = factories.registration(db_session, on=date(2020, 7, 20), email="a@example.jp")
        renewed = factories.registration(
            db_session,
            on=date(2021, 3, 1),
            name="更新 者",
            reading="コウシン シャ",
            email="b@example.jp",
        )
        _follow_up(db_session, renewed, date(2023, 12, 1))
        suspended = factories.registration(
            db_session,
            on=date(2022, 1, 1),
            name="停止 者",
            reading="テイシ シャ",
            email="c@example.jp",
        )
        services.suspend(
            db_session, actor=admin, registration=suspended, on=date(2023, 1, 1), reason="理由"
        )
        services.reinstate(db_session, actor=admin, registration=suspended, on=date(2023, 6, 1))
        gone = factories.registration(
            db_session,
            on=date(2021, 1, 1),
            name="退会 者",
            reading="タイカイ シャ",
            email="d@example.jp",
        )
        services.withdraw(db_session, actor=admin, registration=gone, on=date(2024, 1, 1))
        kagawa = factories.registration(
            db_session,
            program_code="kagawa",
            on=date(2023, 9, 9),
            name="香川 者",
            reading="カガワ シャ",
        )
        registrations = [plain, renewed, suspended, gone, kagawa]
    for registration in registrations:
        program = registration.program
        expected = _status(db_session, registration, day)
        got = db_session.execute(
            select(services.status_sql(program, day))
            .select_from(Registration)
            .where(Registration.id == registration.id)
        ).scalar()
        if expected is None:
            continue
        assert got == expected, (registration.number, day)
