"""Issue 13 items 1 and 2: follow-up courses are announced and offered only while they can
be taken; roll call, completion and closing keep to the course's dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from supporters.db import ServiceError
from supporters.registry import jobs as registry_jobs
from supporters.reminders.models import ReminderLedger
from supporters.training.importer import import_trainees
from supporters.training.models import Enrolment
from supporters.training.services.completion import complete_by_hand
from supporters.training.services.course_state import follow_up_courses_open
from supporters.training.services.courses import close_course
from supporters.training.services.enrolments import (
    apply_for_course,
    enrol_person,
    withdraw_enrolment,
)
from supporters.training.services.sessions import record_make_up, record_roll_call
from tests import factories

TOKYO = ZoneInfo("Asia/Tokyo")


def _at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """That day and time in Japan, as the aware UTC moment services take."""
    return datetime.combine(day, time(hour, minute), TOKYO).astimezone(UTC)


def _trainee(db_session: Any, n: int = 0) -> Any:
    return factories.person(
        db_session,
        name=f"受講 {n}",
        reading=f"ジュコウ {'アイウエオカキクケコ'[n]}",
        residence="高松市",
        prefecture="香川県",
    )


# --- item 1: follow-up courses in time --------------------------------------------------


def _follow_up(
    db_session: Any,
    *,
    on: date,
    opens: date | None = None,
    closes: date | None = None,
    program_code: str = "tochigi",
) -> Any:
    course = factories.course(
        db_session, program_code=program_code, kind="follow_up", topics=("更新",), on=on
    )
    course.application_opens_on = opens
    course.application_closes_on = closes
    db_session.flush()
    return course


def _announced(db_session: Any) -> set[int]:
    return set(
        db_session.scalars(
            select(ReminderLedger.subject_id).where(ReminderLedger.rule == "follow_up_course")
        )
    )


def _supporter_with_account(db_session: Any) -> Any:
    registration = factories.registration(
        db_session, program_code="tochigi", on=date(2025, 7, 1), email="sup@example.jp"
    )
    user = factories.supporter(db_session, program_code="tochigi", email="sup-user@example.jp")
    user.person_id = registration.person_id
    db_session.flush()
    return registration


def test_follow_up_announcement_skips_courses_held_already(db_session: Any) -> None:
    _supporter_with_account(db_session)
    today = date(2026, 6, 10)
    past = _follow_up(db_session, on=date(2022, 9, 1))
    yesterday = _follow_up(db_session, on=today - timedelta(days=1))
    on_the_day = _follow_up(db_session, on=today)
    tomorrow = _follow_up(db_session, on=today + timedelta(days=1))
    registry_jobs.follow_up_course(db_session, _at(today, 9))
    assert _announced(db_session) == {tomorrow.id}
    assert {past.id, yesterday.id, on_the_day.id}.isdisjoint(_announced(db_session))


def test_follow_up_announcement_waits_for_applications_to_open(db_session: Any) -> None:
    _supporter_with_account(db_session)
    opens = date(2026, 6, 10)
    course = _follow_up(db_session, on=date(2026, 9, 1), opens=opens)
    registry_jobs.follow_up_course(db_session, _at(opens - timedelta(days=1), 9))
    assert _announced(db_session) == set()
    registry_jobs.follow_up_course(db_session, _at(opens, 9))
    assert _announced(db_session) == {course.id}
    registry_jobs.follow_up_course(db_session, _at(opens + timedelta(days=1), 9))
    assert len(list(db_session.scalars(select(ReminderLedger)))) == 1


def test_follow_up_announcement_stops_when_applications_close(db_session: Any) -> None:
    _supporter_with_account(db_session)
    closes = date(2026, 6, 10)
    on_the_day = _follow_up(db_session, on=date(2026, 9, 1), closes=closes)
    day_before = _follow_up(db_session, on=date(2026, 9, 1), closes=closes - timedelta(days=1))
    registry_jobs.follow_up_course(db_session, _at(closes, 9))
    assert _announced(db_session) == {on_the_day.id}
    assert day_before.id not in _announced(db_session)


def test_follow_up_announcement_skips_a_closed_course(db_session: Any) -> None:
    _supporter_with_account(db_session)
    course = _follow_up(db_session, on=date(2026, 9, 1))
    course.closed_at = _at(date(2026, 6, 1))
    registry_jobs.follow_up_course(db_session, _at(date(2026, 6, 10), 9))
    assert _announced(db_session) == set()


def test_courses_to_offer_lists_only_those_that_can_be_taken(db_session: Any) -> None:
    registration = _supporter_with_account(db_session)
    today = date(2026, 6, 10)
    _follow_up(db_session, on=today)  # starts today: too late to apply
    _follow_up(db_session, on=date(2023, 1, 1))
    _follow_up(db_session, on=today + timedelta(days=30), closes=today - timedelta(days=1))
    _follow_up(db_session, on=today + timedelta(days=30), opens=today + timedelta(days=1))
    good = _follow_up(db_session, on=today + timedelta(days=1), closes=today)
    offered = follow_up_courses_open(db_session, registration.program, today)
    assert [c.id for c in offered] == [good.id]


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (-1, "この研修はすでに始まっているため、受講申込は受け付けていません"),  # yesterday
        (0, "この研修はすでに始まっているため、受講申込は受け付けていません"),  # starts today
    ],
)
def test_applying_to_a_course_that_has_started_is_refused(
    db_session: Any, offset: int, message: str
) -> None:
    registration = _supporter_with_account(db_session)
    today = date(2026, 6, 10)
    course = _follow_up(db_session, on=today + timedelta(days=offset))
    user = factories.supporter(db_session, program_code="tochigi")
    with pytest.raises(ServiceError, match=message):
        apply_for_course(
            db_session,
            actor=user,
            course=course,
            person=registration.person,
            today=today,
            now=_at(today),
        )


def test_applying_the_day_before_the_course_is_accepted(db_session: Any) -> None:
    registration = _supporter_with_account(db_session)
    today = date(2026, 6, 10)
    course = _follow_up(db_session, on=today + timedelta(days=1))
    user = factories.supporter(db_session, program_code="tochigi")
    enrolment = apply_for_course(
        db_session,
        actor=user,
        course=course,
        person=registration.person,
        today=today,
        now=_at(today),
    )
    assert enrolment.state == "applied"


def test_applying_to_a_closed_course_is_refused(db_session: Any) -> None:
    registration = _supporter_with_account(db_session)
    course = _follow_up(db_session, on=date(2026, 9, 1))
    course.closed_at = _at(date(2026, 6, 1))
    user = factories.supporter(db_session, program_code="tochigi")
    with pytest.raises(ServiceError, match=r"^この研修は終了しています。$"):
        apply_for_course(
            db_session,
            actor=user,
            course=course,
            person=registration.person,
            today=date(2026, 6, 10),
            now=_at(date(2026, 6, 10)),
        )


# --- item 2: training dates and states --------------------------------------------------


def _course_with_trainee(db_session: Any, on: date, topics: tuple[str, ...] = ("基礎",)) -> Any:
    course = factories.course(db_session, topics=topics, on=on)
    enrolment = enrol_person(
        db_session,
        actor=None,
        course=course,
        person=_trainee(db_session),
        now=_at(on - timedelta(days=30)),
    )
    return course, enrolment


def test_roll_call_before_the_session_is_refused(db_session: Any) -> None:
    day = date(2027, 1, 16)
    course, enrolment = _course_with_trainee(db_session, day)
    admin = factories.admin_user(db_session)
    with pytest.raises(
        ServiceError, match="の日程はまだ開催されていません。出欠はその日から記録できます"
    ):
        record_roll_call(
            db_session,
            actor=admin,
            course_session=course.sessions[0],
            present_ids={enrolment.id},
            now=_at(day - timedelta(days=1), 23, 59),
        )
    assert enrolment.state == "confirmed" and enrolment.completed_on is None


@pytest.mark.parametrize("offset", [0, 1])
def test_roll_call_on_or_after_the_day_completes_on_the_session_date(
    db_session: Any, offset: int
) -> None:
    day = date(2027, 1, 16)
    course, enrolment = _course_with_trainee(db_session, day)
    admin = factories.admin_user(db_session)
    record_roll_call(
        db_session,
        actor=admin,
        course_session=course.sessions[0],
        present_ids={enrolment.id},
        now=_at(day + timedelta(days=offset), 8),
    )
    assert enrolment.state == "completed" and enrolment.completed_on == day


def test_completion_takes_the_date_of_the_last_session_attended(db_session: Any) -> None:
    """Sessions on two days, ticked in the opposite order: completion is on the later."""
    first, second = date(2026, 10, 3), date(2026, 10, 17)
    course, enrolment = _course_with_trainee(db_session, first, topics=("基礎",))
    from supporters.training.models import CourseSession

    later = CourseSession(course=course, date=second, topic="家族支援", required=True)
    db_session.add(later)
    db_session.flush()
    db_session.refresh(course)
    admin = factories.admin_user(db_session)
    now = _at(date(2026, 11, 30))
    record_roll_call(
        db_session, actor=admin, course_session=later, present_ids={enrolment.id}, now=now
    )
    record_roll_call(
        db_session,
        actor=admin,
        course_session=course.sessions[0],
        present_ids={enrolment.id},
        now=now,
    )
    assert enrolment.completed_on == second


def test_completion_by_hand_takes_the_last_session_attended_not_today(db_session: Any) -> None:
    day = date(2026, 10, 3)
    course, enrolment = _course_with_trainee(db_session, day, topics=("基礎", "演習"))
    admin = factories.admin_user(db_session)
    record_roll_call(
        db_session,
        actor=admin,
        course_session=course.sessions[0],
        present_ids={enrolment.id},
        now=_at(day, 11),
    )
    complete_by_hand(
        db_session,
        actor=admin,
        enrolment=enrolment,
        reason="演習は別日に補講",
        on=date(2026, 11, 30),
    )
    assert enrolment.completed_on == day


def test_completion_by_hand_before_the_course_is_refused(db_session: Any) -> None:
    day = date(2027, 1, 16)
    _course, enrolment = _course_with_trainee(db_session, day)
    admin = factories.admin_user(db_session)
    with pytest.raises(
        ServiceError, match="この研修はまだ開催されていません。開催前に修了にすることはできません"
    ):
        complete_by_hand(
            db_session, actor=admin, enrolment=enrolment, reason="理由", on=date(2026, 11, 30)
        )


def test_closing_before_the_last_session_is_over_is_refused(db_session: Any) -> None:
    day = date(2026, 12, 5)
    course, _enrolment = _course_with_trainee(db_session, day)  # 10:00-12:00
    admin = factories.admin_user(db_session)
    for moment in (_at(day - timedelta(days=1), 18), _at(day, 11, 59)):
        with pytest.raises(ServiceError, match="研修は最後の日程が終わってから終了できます"):
            close_course(db_session, actor=admin, course=course, now=moment)
    assert course.closed_at is None


@pytest.mark.parametrize("moment", [(0, 12), (1, 9)])
def test_closing_after_the_last_session(db_session: Any, moment: tuple[int, int]) -> None:
    day = date(2026, 12, 5)
    course, enrolment = _course_with_trainee(db_session, day)
    admin = factories.admin_user(db_session)
    now = _at(day + timedelta(days=moment[0]), moment[1])
    assert close_course(db_session, actor=admin, course=course, now=now) == 1
    assert course.closed_at == now and enrolment.state == "not_completed"
    with pytest.raises(ServiceError, match="この研修はすでに終了しています"):
        close_course(db_session, actor=admin, course=course, now=now)


def test_closing_a_course_without_sessions_is_refused(db_session: Any) -> None:
    course = factories.course(db_session, topics=())
    with pytest.raises(ServiceError, match="研修は最後の日程が終わってから終了できます"):
        close_course(
            db_session,
            actor=factories.admin_user(db_session),
            course=course,
            now=_at(date(2026, 1, 1)),
        )


def test_a_closed_course_refuses_enrolment_import_and_roll_call(db_session: Any) -> None:
    day = date(2026, 10, 3)
    course, enrolment = _course_with_trainee(db_session, day)
    admin = factories.admin_user(db_session)
    close_course(db_session, actor=admin, course=course, now=_at(day, 18))
    with pytest.raises(
        ServiceError, match="この研修は終了しています。受講決定と出欠は変更できません"
    ):
        enrol_person(
            db_session, actor=admin, course=course, person=_trainee(db_session, 1), now=_at(day, 19)
        )
    report = import_trainees(
        db_session,
        actor=admin,
        course=course,
        data="氏名,フリガナ,居住市町村\n香川 太郎,カガワ タロウ,高松市\n".encode(),
        now=_at(day, 19),
    )
    assert not report.ok and "終了して" in report.errors[0].message
    with pytest.raises(
        ServiceError, match="この研修は終了しています。受講決定と出欠は変更できません"
    ):
        record_roll_call(
            db_session,
            actor=admin,
            course_session=course.sessions[0],
            present_ids={enrolment.id},
            now=_at(day, 19),
        )
    assert db_session.scalar(select(Enrolment).where(Enrolment.id == enrolment.id)).state == (
        "not_completed"
    )


def test_a_closed_course_refuses_withdrawal_but_takes_a_make_up(db_session: Any) -> None:
    """Closing marks the absent as not completed; a make-up at a later course with the same
    topic can still complete them, on that session's day."""
    day = date(2026, 10, 3)
    course, enrolment = _course_with_trainee(db_session, day)
    later = factories.course(db_session, topics=("基礎",), on=date(2026, 12, 5))
    admin = factories.admin_user(db_session)
    close_course(db_session, actor=admin, course=course, now=_at(day, 18))
    with pytest.raises(
        ServiceError, match="この研修は終了しています。受講決定と出欠は変更できません"
    ):
        withdraw_enrolment(db_session, actor=admin, enrolment=enrolment, now=_at(day, 19))
    with pytest.raises(
        ServiceError, match="の日程はまだ開催されていません。出欠はその日から記録できます"
    ):
        record_make_up(
            db_session,
            actor=admin,
            enrolment=enrolment,
            course_session=later.sessions[0],
            now=_at(date(2026, 12, 4)),
        )
    assert record_make_up(
        db_session,
        actor=admin,
        enrolment=enrolment,
        course_session=later.sessions[0],
        now=_at(date(2026, 12, 5), 13),
    )
    assert enrolment.state == "completed" and enrolment.completed_on == date(2026, 12, 5)


def test_a_registration_dated_after_today_is_refused(db_session: Any) -> None:
    from supporters.registry import services as registry

    enrolment = factories.completed_enrolment(
        db_session, program_code="tochigi", on=date(2026, 10, 3)
    )
    today = date(2026, 11, 30)
    with pytest.raises(ServiceError, match="登録日が未来の日付になっています"):
        registry.register_enrolment(
            db_session, actor=None, enrolment=enrolment, on=today + timedelta(days=1), today=today
        )
    registration = registry.register_enrolment(
        db_session, actor=None, enrolment=enrolment, on=today, today=today
    )
    assert registration.registered_on == today
