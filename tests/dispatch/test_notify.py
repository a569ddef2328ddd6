"""Who is told when a dispatch changes: the other side of every change, through the outbox,
and nothing for a change that was refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from supporters.dispatch import services
from supporters.dispatch.models import Assignment
from tests import factories
from tests.conftest import post_form


def _outbox(db_session: Any) -> list[tuple[str, str]]:
    """(kind, recipient) of every queued message; by table, wherever the model lives."""
    db_session.expire_all()
    rows = db_session.execute(text("SELECT kind, recipient FROM outbox_message ORDER BY id"))
    return [(kind, recipient) for kind, recipient in rows]


def _world(db_session: Any) -> tuple[Any, Any, Any, Any]:
    coordinator = factories.coordinator(
        db_session, program_code="tochigi", email="coord@example.jp"
    )
    reg = factories.valid_registration(db_session, place="佐野市")
    supporter = factories.supporter(db_session, program_code="tochigi", email="sup@example.jp")
    supporter.person_id = reg.person_id
    start = (datetime.now(UTC) + timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    event = factories.dispatch_event(db_session, starts_at=start)
    db_session.flush()
    return coordinator, supporter, reg, event


def test_asking_a_supporter_tells_them(client: Any, db_session: Any, login_as: Any) -> None:
    coordinator, _supporter, reg, event = _world(db_session)
    login_as(coordinator)
    post_form(
        client,
        f"/dispatch/{event.id}/assign",
        {"registration_id": str(reg.id)},
        form_url=f"/dispatch/{event.id}",
    )
    assert _outbox(db_session) == [("dispatch_changed", "sup@example.jp")]


def test_a_refusal_tells_no_one(client: Any, db_session: Any, login_as: Any) -> None:
    coordinator, _supporter, reg, event = _world(db_session)
    services.sign_up(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(coordinator)
    post_form(  # already taking part: refused, so nothing is queued
        client,
        f"/dispatch/{event.id}/assign",
        {"registration_id": str(reg.id)},
        form_url=f"/dispatch/{event.id}",
    )
    assert _outbox(db_session) == []


def test_cancelling_the_event_tells_its_supporters(
    client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator, _supporter, reg, event = _world(db_session)
    services.sign_up(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(coordinator)
    post_form(
        client, f"/dispatch/{event.id}/cancel", {"reason": "荒天"}, form_url=f"/dispatch/{event.id}"
    )
    assert _outbox(db_session) == [("dispatch_changed", "sup@example.jp")]


def test_declining_tells_the_coordinators(client: Any, db_session: Any, login_as: Any) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    asked = services.assign(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(supporter)
    post_form(client, f"/schedule/{asked.id}/answer", {"answer": "decline"}, form_url="/schedule")
    assert _outbox(db_session) == [("assignment_cancelled", "coord@example.jp")]


def test_confirming_tells_no_one(client: Any, db_session: Any, login_as: Any) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    asked = services.assign(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(supporter)
    post_form(client, f"/schedule/{asked.id}/answer", {"answer": "confirm"}, form_url="/schedule")
    assert _outbox(db_session) == []


def test_a_cancelled_place_tells_the_other_side(
    client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    services.sign_up(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    place = db_session.scalar(select(Assignment).where(Assignment.event_id == event.id))
    login_as(supporter)
    post_form(client, f"/assignments/{place.id}/cancel", {}, form_url="/schedule")
    assert _outbox(db_session) == [("assignment_cancelled", "coord@example.jp")]

    again = services.sign_up(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(coordinator)
    post_form(client, f"/assignments/{again.id}/cancel", {}, form_url=f"/dispatch/{event.id}")
    assert _outbox(db_session)[1:] == [("dispatch_changed", "sup@example.jp")]
