from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from supporters.db import ServiceError
from supporters.dispatch import finding, places, services
from supporters.dispatch.models import Assignment
from tests import factories

NOW = datetime(2030, 5, 1, 0, 0, tzinfo=UTC)


def test_sign_up_until_full(db_session: Any) -> None:
    event = factories.dispatch_event(db_session, needed=2)
    regs = [factories.valid_registration(db_session, n=i) for i in range(3)]
    admin = factories.admin_user(db_session)
    for reg in regs[:2]:
        services.sign_up(db_session, actor=admin, event=event, registration=reg, now=NOW)
    assert event.state == "staffed"
    with pytest.raises(ServiceError, match="この出張相談会への同席は満員です") as refused:
        services.sign_up(db_session, actor=admin, event=event, registration=regs[2], now=NOW)
    assert refused.value.code == "event_full"


def test_lapsed_or_other_program_or_past_or_cancelled_is_refused(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    event = factories.dispatch_event(db_session)
    lapsed = factories.registration(db_session, on=date(2020, 7, 20), email="old@example.jp")
    with pytest.raises(
        ServiceError, match="その日に、サポーター登録が有効ではありません"
    ) as lapsed_refused:
        services.sign_up(db_session, actor=admin, event=event, registration=lapsed, now=NOW)
    assert lapsed_refused.value.code == "registration_not_valid"
    kagawa = factories.valid_registration(db_session, program_code="kagawa", n=1)
    with pytest.raises(ServiceError, match="参加できるのは、この事業のサポーターのみです"):
        services.sign_up(db_session, actor=admin, event=event, registration=kagawa, now=NOW)
    fine = factories.valid_registration(db_session, n=2)
    with pytest.raises(ServiceError, match="この出張相談会への同席はすでに始まっています"):
        services.sign_up(
            db_session,
            actor=admin,
            event=event,
            registration=fine,
            now=event.starts_at + timedelta(minutes=1),
        )
    services.cancel_event(db_session, actor=admin, event=event, reason="荒天")
    with pytest.raises(ServiceError, match="この出張相談会への同席は、サポーターを募集し"):
        services.sign_up(db_session, actor=admin, event=event, registration=fine, now=NOW)
    assert db_session.scalar(select(Assignment)) is None


def test_no_one_in_two_overlapping_events(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    first = factories.dispatch_event(db_session)
    overlapping = factories.dispatch_event(
        db_session, place="那須町", starts_at=first.starts_at + timedelta(hours=2)
    )
    later = factories.dispatch_event(db_session, starts_at=first.ends_at)
    reg = factories.valid_registration(db_session)
    services.sign_up(db_session, actor=admin, event=first, registration=reg, now=NOW)
    with pytest.raises(ServiceError, match="同じ日のほかの予定と時間が重なっています") as refused:
        services.assign(db_session, actor=admin, event=overlapping, registration=reg, now=NOW)
    assert refused.value.code == "overlapping_dispatch"
    services.sign_up(
        db_session, actor=admin, event=later, registration=reg, now=NOW
    )  # back to back


def test_assignment_confirm_decline_and_cancel_reopen_the_place(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    event = factories.dispatch_event(db_session, needed=1)
    a, b = (factories.valid_registration(db_session, n=i) for i in range(2))
    asked = services.assign(db_session, actor=admin, event=event, registration=a, now=NOW)
    # The place is held against overbooking, but not 充足 until the supporter confirms.
    assert asked.state == "assigned" and event.state == "open"
    assert places.holding_count(db_session, event) == 1
    services.answer_assignment(db_session, actor=admin, assignment=asked, accept=False, now=NOW)
    assert event.state == "open"
    taken = services.sign_up(db_session, actor=admin, event=event, registration=b, now=NOW)
    late = event.starts_at - timedelta(hours=47)  # Tochigi closes self-cancellation at 48 h
    with pytest.raises(ServiceError, match="この画面で取り消せる期限を過ぎています") as refused:
        services.cancel_assignment(
            db_session, actor=admin, assignment=taken, now=late, by_supporter=True
        )
    assert refused.value.code == "self_cancel_too_late"
    services.cancel_assignment(
        db_session, actor=admin, assignment=taken, now=late, by_supporter=False
    )
    assert event.state == "open"


def test_needed_number_bounds(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    event = factories.dispatch_event(db_session, needed=2)
    for n in (0, 21, 100):
        with pytest.raises(ServiceError, match="必要人数は1人以上20人以内で入力してください"):
            services.change_needed(db_session, actor=admin, event=event, needed=n)
    for reg in (factories.valid_registration(db_session, n=i) for i in range(2)):
        services.sign_up(db_session, actor=admin, event=event, registration=reg, now=NOW)
    with pytest.raises(
        ServiceError,
        match="すでに2人のサポーターが参加予定のため、必要人数をこれより少なくできません",
    ) as refused:
        services.change_needed(db_session, actor=admin, event=event, needed=1)
    assert refused.value.code == "needed_below_holding"
    services.change_needed(db_session, actor=admin, event=event, needed=3)
    assert event.state == "open"
    with pytest.raises(ServiceError, match="終了時刻は開始時刻より後にしてください"):
        factories.dispatch_event(db_session, hours=0)


def test_suggestions_rank_near_and_less_busy_first(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    event = factories.dispatch_event(db_session, place="佐野市")
    far = factories.valid_registration(db_session, n=1, place="那須町")
    near = factories.valid_registration(db_session, n=2, place="佐野市")
    near_busy = factories.valid_registration(db_session, n=3, place="佐野市")
    lapsed = factories.registration(db_session, on=date(2020, 7, 20), email="gone@example.jp")
    past = factories.dispatch_event(db_session, starts_at=NOW - timedelta(days=30))
    db_session.add(
        Assignment(
            event_id=past.id,
            registration_id=near_busy.id,
            person_id=near_busy.person_id,
            starts_at=past.starts_at,
            ends_at=past.ends_at,
            state="attended",
            source="coordinator",
        )
    )
    db_session.flush()
    ranked = [s.registration.id for s in finding.suggestions(db_session, event, now=NOW)]
    assert ranked[:3] == [near.id, near_busy.id, far.id]
    assert lapsed.id not in ranked
    services.sign_up(db_session, actor=admin, event=event, registration=near, now=NOW)
    assert near.id not in [
        s.registration.id for s in finding.suggestions(db_session, event, now=NOW)
    ]


def test_open_places_nearest_first(db_session: Any) -> None:
    near_event = factories.dispatch_event(db_session, place="佐野市")
    far_event = factories.dispatch_event(
        db_session, place="那須町", starts_at=near_event.starts_at - timedelta(days=1)
    )
    reg = factories.valid_registration(db_session, place="佐野市")
    places = finding.open_places(db_session, reg, now=NOW)
    assert [e.id for e, _left, _km in places] == [near_event.id, far_event.id]


def test_attendance_after_the_event(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    event = factories.dispatch_event(db_session)
    regs = [factories.valid_registration(db_session, n=i) for i in range(2)]
    taken = [
        services.sign_up(db_session, actor=admin, event=event, registration=r, now=NOW)
        for r in regs
    ]
    with pytest.raises(ServiceError, match="出席は、派遣が終了した後に記録できます"):
        services.record_attendance(
            db_session, actor=admin, event=event, attended_ids={taken[0].id}, now=NOW
        )
    after = event.ends_at + timedelta(hours=1)
    attended = services.record_attendance(
        db_session, actor=admin, event=event, attended_ids={taken[0].id}, now=after
    )
    assert attended == [taken[0]] and taken[1].state == "no_show" and event.state == "held"


def test_requests_only_from_municipalities_in_the_scheme(db_session: Any) -> None:
    from supporters.dispatch.models import ProgramMunicipality

    chiba = factories.program(db_session, code="chiba")
    narashino = factories.municipality(db_session, name="習志野市", prefecture="千葉県")
    staff = factories.municipal_staff(
        db_session, program_code="chiba", municipality_name="習志野市"
    )
    start = datetime(2030, 6, 1, 1, tzinfo=UTC)
    data = services.EventInput(
        title="家族会",
        municipality_id=narashino.id,
        venue="保健会館",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        needed=2,
        activity="family_meeting",
    )
    with pytest.raises(ServiceError, match="この市町村は、まだこの事業の派遣に参加していません"):
        services.request_dispatch(db_session, actor=staff, program=chiba, data=data, now=NOW)
    db_session.add(
        ProgramMunicipality(
            program_id=chiba.id, municipality_id=narashino.id, joined_on=date(2024, 4, 1)
        )
    )
    db_session.flush()
    event = services.request_dispatch(db_session, actor=staff, program=chiba, data=data, now=NOW)
    assert event.state == "requested"
    with pytest.raises(ServiceError, match="理由を入力してください"):
        services.decline_request(db_session, actor=staff, event=event, reason=" ")
    services.accept_request(db_session, actor=staff, event=event, now=NOW)
    assert event.state == "open"
