"""Training meets the register only through the hooks the register registers
(supporters/training/follow_up.py): follow-up courses for registered supporters only, the
attendance recorded on the registration in the same transaction, and refusals by code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.db import ServiceError
from supporters.people.services import PersonInput
from supporters.registry.models import RegistrationEvent
from supporters.training import follow_up
from supporters.training.services.courses import close_refusal
from supporters.training.services.enrolments import enrol_person, same_name_in_program
from supporters.training.services.sessions import record_roll_call
from tests import factories

DAY = date(2024, 9, 1)
NOW = datetime(2024, 9, 1, 9, 0, tzinfo=UTC)


def _follow_up_course(db_session: Any) -> Any:
    return factories.course(
        db_session, program_code="tochigi", kind="follow_up", topics=("近況報告",), on=DAY
    )


def test_the_register_has_registered_its_hooks(app: Any) -> None:
    hooks = follow_up.follow_up_hooks()
    assert hooks.require_registration.__module__.startswith("supporters.registry")


def test_without_the_register_follow_up_fails_loudly(monkeypatch: Any) -> None:
    monkeypatch.setattr(follow_up, "_hooks", [])
    with pytest.raises(RuntimeError, match=r"import supporters\.registry"):
        follow_up.follow_up_hooks()


def test_follow_up_is_for_registered_supporters(db_session: Any) -> None:
    course = _follow_up_course(db_session)
    stranger = factories.person(
        db_session, name="未 登録", reading="ミ トウロク", residence="佐野市", prefecture="栃木県"
    )
    with pytest.raises(ServiceError, match="この事業のサポーターとして登録されていません"):
        enrol_person(db_session, actor=None, course=course, person=stranger, now=NOW)
    registration = factories.registration(db_session, on=date(2023, 7, 20))
    enrolment = enrol_person(
        db_session, actor=None, course=course, person=registration.person, now=NOW
    )
    assert enrolment.state == "confirmed"


def test_attending_follow_up_renews_in_the_same_transaction(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2021, 10, 1))
    course = _follow_up_course(db_session)
    enrolment = enrol_person(
        db_session, actor=None, course=course, person=registration.person, now=NOW
    )
    record_roll_call(
        db_session,
        actor=factories.admin_user(db_session),
        course_session=course.sessions[0],
        present_ids={enrolment.id},
        now=NOW,
    )
    # Not committed: the event is in the caller's transaction, with the attendance.
    recorded = db_session.scalar(
        select(func.count())
        .select_from(RegistrationEvent)
        .where(RegistrationEvent.enrolment_id == enrolment.id)
    )
    assert recorded == 1
    assert registration.valid_until == date(2027, 10, 1)  # inside the window: from the old end


def test_current_registration_and_the_same_name_in_the_program(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2023, 7, 20))
    found = follow_up.current_registration(
        db_session, registration.program_id, registration.person_id
    )
    assert found is not None
    assert (found.id, found.number) == (registration.id, registration.number)
    other = factories.program(db_session, code="kagawa")
    assert follow_up.current_registration(db_session, other.id, registration.person_id) is None
    data = PersonInput(name=registration.person.name, name_reading=registration.person.name_reading)
    assert registration.person in same_name_in_program(db_session, registration.program, data)


def test_refusals_carry_codes(db_session: Any) -> None:
    course = factories.course(db_session, program_code="tochigi", on=DAY)
    person = factories.person(
        db_session, name="二 重", reading="ニ ジュウ", residence="佐野市", prefecture="栃木県"
    )
    enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
    with pytest.raises(ServiceError) as info:
        enrol_person(db_session, actor=None, course=course, person=person, now=NOW)
    assert info.value.code == "already_enrolled"
    refusal = close_refusal(course, datetime(2024, 8, 31, tzinfo=UTC))
    assert refusal is not None and refusal.code == "course_not_over"
    assert close_refusal(course, NOW) is None  # the session has ended
