from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from supporters.audit.models import AuditEvent
from supporters.core.dates import fiscal_year
from supporters.core.eras import fiscal_year_label
from supporters.db import ServiceError
from supporters.training.models import Enrolment
from supporters.training.services.completion import complete_by_hand, uncomplete_by_hand
from supporters.training.services.courses import CourseInput, course_figures, update_course
from supporters.training.services.enrolments import (
    apply_for_course,
    enrol_person,
    withdraw_enrolment,
)
from supporters.training.services.sessions import (
    SessionInput,
    add_session,
    make_up_sessions,
    record_make_up,
    record_roll_call,
)
from tests import factories

NOW = datetime(2024, 4, 10, 1, 0, tzinfo=UTC)
HELD = datetime(2024, 6, 10, 1, 0, tzinfo=UTC)  # after the factories' sessions


def test_beyond_capacity_goes_to_the_waiting_list_and_moves_up(db_session: Any) -> None:
    course = factories.course(db_session, capacity=2)
    people = [
        factories.person(
            db_session,
            name=f"受講 {i}",
            reading=f"ジュコウ {'イロハ'[i]}",
            residence="高松市",
            prefecture="香川県",
        )
        for i in range(3)
    ]
    states = [
        enrol_person(db_session, actor=None, course=course, person=p, now=NOW).state for p in people
    ]
    assert states == ["confirmed", "confirmed", "waitlisted"]
    first = db_session.scalar(select(Enrolment).where(Enrolment.person_id == people[0].id))
    promoted = withdraw_enrolment(db_session, actor=None, enrolment=first, now=NOW)
    assert promoted is not None and promoted.person_id == people[2].id
    assert promoted.state == "confirmed"
    assert course_figures(db_session, course).waitlisted == 0


def test_raising_the_capacity_promotes_the_waiting_list(db_session: Any) -> None:
    course = factories.course(db_session, capacity=1)
    a = factories.person(db_session, name="甲", reading="コウ", residence="高松市")
    b = factories.person(db_session, name="乙", reading="オツ", residence="高松市")
    enrol_person(db_session, actor=None, course=course, person=a, now=NOW)
    waiting = enrol_person(db_session, actor=None, course=course, person=b, now=NOW)
    admin = factories.admin(db_session)
    data = CourseInput(
        kind="initial", organiser_id=course.organiser_id, title=course.title, capacity=2
    )
    update_course(db_session, actor=admin, course=course, data=data)
    assert waiting.state == "confirmed"
    with pytest.raises(
        ServiceError, match="すでに2人の受講が決まっているため、定員をこれより少なくできません"
    ):
        update_course(
            db_session,
            actor=admin,
            course=course,
            data=CourseInput(**{**data.__dict__, "capacity": 1}),
        )


def test_chiba_eligibility_refuses_with_a_reason_and_accepts_an_override(db_session: Any) -> None:
    course = factories.course(db_session, program_code="chiba")
    outsider = factories.person(db_session, residence="宇都宮市", prefecture="栃木県")
    with pytest.raises(
        ServiceError, match="千葉県内に住んでいる方・働いている方が対象です"
    ) as info:
        enrol_person(db_session, actor=None, course=course, person=outsider, now=NOW)
    assert info.value.field == "override_reason"
    enrolment = enrol_person(
        db_session,
        actor=None,
        course=course,
        person=outsider,
        now=NOW,
        override_reason="千葉市内の団体に勤務予定",
    )
    assert enrolment.eligibility_override_reason == "千葉市内の団体に勤務予定"
    worker = factories.person(
        db_session, name="勤務 者", reading="キンム シャ", residence="宇都宮市", prefecture="栃木県"
    )
    worker.work_municipality_id = factories.municipality(
        db_session, name="佐倉市", prefecture="千葉県"
    ).id
    db_session.flush()
    db_session.refresh(worker)
    assert (
        enrol_person(
            db_session, actor=None, course=course, person=worker, now=NOW
        ).eligibility_override_reason
        is None
    )


def test_tochigi_is_open_to_anyone(db_session: Any) -> None:
    course = factories.course(db_session, program_code="tochigi")
    person = factories.person(db_session, residence="高松市", prefecture="香川県")
    assert (
        enrol_person(db_session, actor=None, course=course, person=person, now=NOW).state
        == "confirmed"
    )


def test_enrolling_twice_is_refused(db_session: Any) -> None:
    course = factories.course(db_session)
    person = factories.person(db_session, residence="高松市")
    enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
    with pytest.raises(ServiceError, match="山田 花子さんはすでにこの研修に登録されています"):
        enrol_person(db_session, actor=None, course=course, person=person, now=NOW)


def test_roll_call_completes_with_a_number_and_can_be_undone(db_session: Any) -> None:
    course = factories.course(db_session, topics=("基礎", "家族支援"), on=date(2023, 9, 9))
    admin = factories.admin(db_session)
    person = factories.person(db_session, residence="高松市")
    enrolment = enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
    first, second = course.sessions
    assert (
        record_roll_call(
            db_session, actor=admin, course_session=first, present_ids={enrolment.id}, now=NOW
        )
        == []
    )
    assert enrolment.state == "confirmed"
    completed = record_roll_call(
        db_session, actor=admin, course_session=second, present_ids={enrolment.id}, now=NOW
    )
    assert completed == [enrolment] and enrolment.state == "completed"
    assert enrolment.completion_number == "KGW-2023-C0001"  # FY2023: September 2023
    assert enrolment.completed_on == date(2023, 9, 9)
    # Taking the attendance back undoes the automatic completion; the number stays reserved.
    record_roll_call(db_session, actor=admin, course_session=second, present_ids=set(), now=NOW)
    assert enrolment.state == "confirmed" and enrolment.completion_number == "KGW-2023-C0001"


def test_optional_sessions_are_not_needed(db_session: Any) -> None:
    course = factories.course(db_session, topics=("基礎",))
    admin = factories.admin(db_session)
    optional = add_session(
        db_session,
        actor=admin,
        course=course,
        data=SessionInput(
            date=date(2024, 5, 2), start_time=None, end_time=None, topic="交流会", required=False
        ),
    )
    person = factories.person(db_session, residence="高松市")
    enrolment = enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
    required_session = next(s for s in course.sessions if s.id != optional.id)
    record_roll_call(
        db_session,
        actor=admin,
        course_session=required_session,
        present_ids={enrolment.id},
        now=HELD,
    )
    assert enrolment.state == "completed"


def test_make_up_at_another_course_with_the_same_topic(db_session: Any) -> None:
    admin = factories.admin(db_session)
    course = factories.course(db_session, topics=("基礎", "家族支援"))
    other = factories.course(db_session, topics=("家族支援", "事例検討"), on=date(2024, 6, 1))
    unrelated = factories.course(db_session, program_code="tochigi", topics=("家族支援",))
    person = factories.person(db_session, residence="高松市")
    enrolment = enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
    record_roll_call(
        db_session,
        actor=admin,
        course_session=course.sessions[0],
        present_ids={enrolment.id},
        now=HELD,
    )
    choices = make_up_sessions(db_session, enrolment)
    assert [s.course_id for s in choices] == [other.id]  # same program, same topic only
    assert unrelated.id not in {s.course_id for s in choices}
    with pytest.raises(ServiceError, match="この研修と同じ内容（科目）の日程を選んでください"):
        record_make_up(
            db_session, actor=admin, enrolment=enrolment, course_session=other.sessions[1], now=HELD
        )
    assert (
        record_make_up(
            db_session, actor=admin, enrolment=enrolment, course_session=choices[0], now=HELD
        )
        is True
    )
    assert enrolment.state == "completed"


def test_completion_by_hand_needs_a_reason_and_is_audited(db_session: Any) -> None:
    admin = factories.admin(db_session)
    course = factories.course(db_session)
    person = factories.person(db_session, residence="高松市")
    enrolment = enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
    with pytest.raises(ServiceError, match="理由を入力してください"):
        complete_by_hand(
            db_session, actor=admin, enrolment=enrolment, reason=" ", on=date(2024, 5, 1)
        )
    complete_by_hand(
        db_session,
        actor=admin,
        enrolment=enrolment,
        reason="別日程で個別に受講",
        on=date(2024, 5, 1),
    )
    assert enrolment.state == "completed" and enrolment.completion_number
    uncomplete_by_hand(db_session, actor=admin, enrolment=enrolment, reason="記録誤り")
    assert enrolment.state == "not_completed"
    actions = set(
        db_session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.target_type == "enrolment", AuditEvent.target_id == enrolment.id
            )
        )
    )
    assert {"enrolment.complete", "enrolment.uncomplete"} <= actions


def test_supporter_applies_to_follow_up_only_in_the_period(db_session: Any) -> None:
    follow_up = factories.course(db_session, kind="follow_up", capacity=1)
    follow_up.application_closes_on = date(2024, 4, 20)  # the course starts on 1 May
    registration = factories.registration(db_session, program_code="kagawa", on=date(2023, 9, 9))
    person = registration.person
    user = factories.supporter(db_session, program_code="kagawa")
    user.person_id = person.id
    enrolment = apply_for_course(
        db_session, actor=user, course=follow_up, person=person, today=date(2024, 4, 1), now=NOW
    )
    assert enrolment.state == "applied" and enrolment.source == "self"
    late = factories.person(db_session, name="遅 刻", reading="チ コク", residence="高松市")
    with pytest.raises(ServiceError, match="この研修の申込は締め切りました"):
        apply_for_course(
            db_session, actor=user, course=follow_up, person=late, today=date(2024, 4, 21), now=NOW
        )
    with pytest.raises(ServiceError, match="この研修はすでに始まっているため"):
        apply_for_course(
            db_session, actor=user, course=follow_up, person=late, today=date(2024, 5, 1), now=NOW
        )
    initial = factories.course(db_session, kind="initial")
    with pytest.raises(ServiceError, match="養成研修の受講決定は、事務局が行います"):
        apply_for_course(
            db_session, actor=user, course=initial, person=late, today=date(2024, 4, 1), now=NOW
        )


def test_completion_numbers_count_per_program_and_year(db_session: Any) -> None:
    admin = factories.admin(db_session)
    course = factories.course(db_session, on=date(2024, 3, 1))  # FY2023
    numbers = []
    for i in range(3):
        person = factories.person(
            db_session, name=f"番号 {i}", reading=f"バンゴウ {'アイウ'[i]}", residence="高松市"
        )
        enrolment = enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
        complete_by_hand(
            db_session, actor=admin, enrolment=enrolment, reason="テスト", on=date(2024, 3, 1)
        )
        numbers.append(enrolment.completion_number)
    assert numbers == ["KGW-2023-C0001", "KGW-2023-C0002", "KGW-2023-C0003"]


@pytest.mark.parametrize(
    ("day", "year", "label"),
    [
        (date(2023, 4, 1), 2023, "令和5年度"),
        (date(2024, 3, 31), 2023, "令和5年度"),
        (date(2019, 4, 1), 2019, "令和元年度"),
        (date(2018, 6, 1), 2018, "平成30年度"),
    ],
)
def test_fiscal_year(day: date, year: int, label: str) -> None:
    assert fiscal_year(day) == year
    assert fiscal_year_label(year) == label
