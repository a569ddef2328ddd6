"""Taking part without registering: Kagawa's completers who chose not to register join group
activities as participants, not supporters (they fill no place); Chiba does not allow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.db import ServiceError
from supporters.dispatch import participation, services
from supporters.dispatch.models import EventState, Participation
from supporters.dispatch.places import holding_count
from tests import factories
from tests.conftest import post_form

STARTS = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)
BEFORE = STARTS - timedelta(days=1)


def _completer(session: Any, program_code: str, n: int) -> Any:
    return factories.completed_enrolment(
        session,
        program_code=program_code,
        name=f"修了 {n}",
        reading="シュウリョウ " + "アイウエオ"[n],
        email=f"completer{n}@example.jp",
    )


def test_a_kagawa_completer_takes_part_as_a_participant(db_session: Any) -> None:
    event = factories.dispatch_event(db_session, program_code="kagawa", starts_at=STARTS, needed=1)
    completer = _completer(db_session, "kagawa", 0).person
    actor = factories.admin_user(db_session)
    joined = participation.join(db_session, actor=actor, event=event, person=completer, now=BEFORE)
    assert participation.participant_count(db_session, event) == 1
    assert [p.person_id for p in participation.participants(db_session, event)] == [completer.id]
    # Not a supporter: the place is still open, and a supporter still fills it.
    assert holding_count(db_session, event) == 0 and event.state == EventState.OPEN
    supporter = factories.valid_registration(db_session, program_code="kagawa", n=3)
    services.sign_up(db_session, actor=actor, event=event, registration=supporter, now=BEFORE)
    assert event.state == EventState.STAFFED and holding_count(db_session, event) == 1
    assert participation.participant_count(db_session, event) == 1
    # Joining twice changes nothing.
    again = participation.join(db_session, actor=actor, event=event, person=completer, now=BEFORE)
    assert again.id == joined.id and participation.participant_count(db_session, event) == 1
    participation.leave(db_session, actor=actor, participation=joined, now=BEFORE)
    participation.leave(db_session, actor=actor, participation=joined, now=BEFORE)
    assert participation.participant_count(db_session, event) == 0
    # ...and may join again later.
    participation.join(db_session, actor=actor, event=event, person=completer, now=BEFORE)
    assert participation.participant_count(db_session, event) == 1


def test_a_chiba_completer_cannot_take_part_without_registering(db_session: Any) -> None:
    event = factories.dispatch_event(
        db_session, program_code="chiba", place="習志野市", starts_at=STARTS
    )
    completer = _completer(db_session, "chiba", 1).person
    with pytest.raises(ServiceError) as error:
        participation.join(
            db_session,
            actor=factories.admin_user(db_session),
            event=event,
            person=completer,
            now=BEFORE,
        )
    assert error.value.code == "participation_not_allowed"
    assert "登録" in error.value.message
    assert participation.participant_count(db_session, event) == 0


def test_who_may_not_take_part_as_a_participant(db_session: Any) -> None:
    event = factories.dispatch_event(db_session, program_code="kagawa", starts_at=STARTS)
    actor = factories.admin_user(db_session)
    registered = factories.valid_registration(db_session, program_code="kagawa", n=2).person
    untrained = factories.person(db_session, name="未修了 太郎", reading="ミシュウリョウ タロウ")
    other_program = _completer(db_session, "tochigi", 4).person
    for person, code in (
        (registered, "registered_supporter"),
        (untrained, "training_not_completed"),
        (other_program, "training_not_completed"),
    ):
        with pytest.raises(ServiceError) as error:
            participation.join(db_session, actor=actor, event=event, person=person, now=BEFORE)
        assert error.value.code == code
    assert participation.candidates(db_session, event) == []


def test_joining_closes_when_the_event_starts(db_session: Any) -> None:
    event = factories.dispatch_event(db_session, program_code="kagawa", starts_at=STARTS)
    actor = factories.admin_user(db_session)
    people = [_completer(db_session, "kagawa", n).person for n in range(3)]
    participation.join(
        db_session, actor=actor, event=event, person=people[0], now=STARTS - timedelta(seconds=1)
    )
    for person, now in ((people[1], STARTS), (people[2], STARTS + timedelta(seconds=1))):
        with pytest.raises(ServiceError) as error:
            participation.join(db_session, actor=actor, event=event, person=person, now=now)
        assert error.value.code == "event_started"
    services.cancel_event(db_session, actor=actor, event=event, reason="台風")
    with pytest.raises(ServiceError) as error:
        participation.join(db_session, actor=actor, event=event, person=people[1], now=BEFORE)
    assert error.value.code == "event_not_open"


def test_the_coordinator_adds_a_participant_on_the_event_page(
    client: Any, db_session: Any, login_as: Any
) -> None:
    event = factories.dispatch_event(db_session, program_code="kagawa", starts_at=STARTS)
    completer = _completer(db_session, "kagawa", 0).person
    supporter = factories.valid_registration(db_session, program_code="kagawa", n=1)
    db_session.commit()
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    page = client.get(f"/dispatch/{event.id}").get_data(as_text=True)
    choices = page.split('<select id="person_id"')[1].split("</select>")[0]
    assert "修了 0" in choices and supporter.person.name not in choices
    for _ in range(2):  # sent twice: one participant
        response = post_form(
            client,
            f"/dispatch/{event.id}/participants",
            {"person_id": str(completer.id)},
            form_url=f"/dispatch/{event.id}",
        )
        assert response.status_code == 302
    count = select(func.count()).select_from(Participation)
    assert db_session.scalar(count.where(Participation.cancelled_at.is_(None))) == 1
    page = client.get(f"/dispatch/{event.id}").get_data(as_text=True)
    assert "修了 0" in page.split("<h2>参加者</h2>")[1] and 'id="person_id"' not in page
    row = db_session.scalar(select(Participation))
    response = post_form(
        client, f"/participations/{row.id}/leave", {}, form_url=f"/dispatch/{event.id}"
    )
    assert response.status_code == 302
    assert db_session.scalar(count.where(Participation.cancelled_at.is_(None))) == 0


def test_participants_are_not_shown_where_the_program_does_not_allow_them(
    client: Any, db_session: Any, login_as: Any
) -> None:
    event = factories.dispatch_event(
        db_session, program_code="chiba", place="習志野市", starts_at=STARTS
    )
    completer = _completer(db_session, "chiba", 0).person
    db_session.commit()
    login_as(factories.coordinator(db_session, program_code="chiba"))
    assert "person_id" not in client.get(f"/dispatch/{event.id}").get_data(as_text=True)
    post_form(
        client,
        f"/dispatch/{event.id}/participants",
        {"person_id": str(completer.id)},
        form_url=f"/dispatch/{event.id}",
    )
    assert db_session.scalar(select(func.count()).select_from(Participation)) == 0


# --- municipalities staffing their own requests (issue 16, item 6) -----------------------


def _ask(client: Any, event: Any, registration: Any) -> Any:
    return post_form(
        client,
        f"/dispatch/{event.id}/assign",
        {"registration_id": str(registration.id)},
        form_url=f"/dispatch/{event.id}",
    )


def test_municipal_staff_staff_their_own_requests_where_the_program_allows(
    client: Any, db_session: Any, login_as: Any
) -> None:
    from supporters.dispatch.models import Assignment

    event = factories.dispatch_event(
        db_session, program_code="chiba", place="習志野市", starts_at=STARTS
    )
    supporter = factories.valid_registration(db_session, program_code="chiba", n=5)
    other = factories.valid_registration(db_session, program_code="chiba", n=6)
    chiba = factories.program(db_session, code="chiba")
    assert chiba.staff_own_requests  # the seed: the municipalities run the dispatch programme
    sakura = factories.municipal_staff(
        db_session, program_code="chiba", municipality_name="佐倉市", email="s@example.jp"
    )
    narashino = factories.municipal_staff(
        db_session, program_code="chiba", municipality_name="習志野市", email="n@example.jp"
    )
    db_session.commit()
    login_as(sakura)
    assert _ask(client, event, supporter).status_code == 403  # not their municipality
    login_as(narashino)
    assert "依頼する" in client.get(f"/dispatch/{event.id}").get_data(as_text=True)
    assert _ask(client, event, supporter).status_code == 302
    assert _ask(client, event, supporter).status_code == 302  # sent twice: one place held
    held = select(func.count()).select_from(Assignment).where(Assignment.event_id == event.id)
    assert db_session.scalar(held) == 1
    chiba.staff_own_requests = False
    db_session.commit()
    assert _ask(client, event, other).status_code == 403
    assert "依頼する" not in client.get(f"/dispatch/{event.id}").get_data(as_text=True)
    assert db_session.scalar(held) == 1
