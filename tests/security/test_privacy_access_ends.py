"""Issue 12 item 4: access ends when the role ends. Revoking a supporter's role, withdrawing
the registration or erasing it ends access to the supporter's pages, card PDF, report filing
and calendar feed at once: the same request from the same logged-in session (and the same
calendar-feed URL) answers 403/404 right after the change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from supporters.accounts import services as account_services
from supporters.accounts.models import RoleGrant
from supporters.db import now_utc
from supporters.registry import services as registry
from supporters.registry.models import Registration
from tests.security.world import World, build_path, client_as, csrf_pair

# What the supporter can reach before the change (endpoint, method).
PATHS = [
    ("registry.person_page", "GET"),
    ("certificates.my_card", "GET"),
    ("registry.new_report", "GET"),
    ("registry.new_report", "POST"),
    ("dispatch.event_ics", "GET"),
    ("dispatch.answer", "POST"),
    ("dispatch.calendar_feed", "GET"),
]


def _end_role(db_session: Any, world: World) -> None:
    grant = db_session.scalar(
        select(RoleGrant)
        .where(RoleGrant.user_id == world.users["sup"].id, RoleGrant.revoked_at.is_(None))
        .order_by(RoleGrant.id)
    )
    account_services.revoke_role(db_session, actor=world.users["admin"], grant=grant, now=now_utc())


def _withdraw(db_session: Any, world: World) -> None:
    registration = db_session.get(Registration, world.params["own"]["registration_id"])
    registry.withdraw(
        db_session, actor=world.users["coord"], registration=registration, on=now_utc().date()
    )


def _erase(db_session: Any, world: World) -> None:
    _withdraw(db_session, world)
    registry.erase_withdrawn(db_session, now=now_utc() + timedelta(days=2), retention_days=1)
    registration = db_session.get(Registration, world.params["own"]["registration_id"])
    assert registration.erased_at is not None


CHANGES = {"role revoked": _end_role, "withdrawn": _withdraw, "erased": _erase}


def _request(app: Flask, world: World, endpoint: str, method: str) -> Any:
    params = {**world.params["own"], "feed_token": world.params["-"]["feed_token"]}
    path = build_path(app, endpoint, params)
    raw, signed = csrf_pair(app)
    client = client_as(app, world, "sup", csrf_raw=raw)
    if method == "GET":
        return client.get(path)
    form = {
        "csrf_token": signed,
        "activity_on": now_utc().date().isoformat(),
        "hours": "1",
        "kind": "phone",
        "answer": "confirm",
    }
    return client.post(path, data=form)


def _allowed(response: Any) -> bool:
    return response.status_code in (200, 302) and "/login" not in response.headers.get(
        "Location", ""
    )


@pytest.mark.parametrize("change", CHANGES)
def test_access_ends_at_once_for_the_same_session_and_feed(
    app: Flask, db_session: Any, world: World, change: str
) -> None:
    for endpoint, method in PATHS:
        if method == "GET":
            before = _request(app, world, endpoint, method)
            assert _allowed(before), (endpoint, before.status_code)
    CHANGES[change](db_session, world)
    db_session.commit()
    for endpoint, method in PATHS:
        after = _request(app, world, endpoint, method)
        assert after.status_code in (403, 404), (change, endpoint, method, after.status_code)


@pytest.mark.parametrize("change", CHANGES)
def test_own_page_no_longer_lists_the_ended_registration(
    app: Flask, db_session: Any, world: World, change: str
) -> None:
    registration = db_session.get(Registration, world.params["own"]["registration_id"])
    number = registration.number
    client = client_as(app, world, "sup")
    assert number in client.get("/me").get_data(as_text=True)
    CHANGES[change](db_session, world)
    db_session.commit()
    response = client.get("/me", follow_redirects=True)
    assert number not in response.get_data(as_text=True)
    schedule = client.get("/schedule", follow_redirects=True).get_data(as_text=True)
    assert "保健センター" not in schedule


def test_another_programs_role_keeps_only_its_own_access(
    app: Flask, db_session: Any, world: World
) -> None:
    """Still a supporter of another program: the ended program's pages stay closed."""
    from supporters.accounts.models import Role
    from tests import factories

    account_services.grant_role(
        db_session,
        actor=None,
        user=world.users["sup"],
        role=Role.SUPPORTER,
        program=factories.program(db_session, code="kagawa"),
        municipality=None,
        now=now_utc(),
    )
    _end_role(db_session, world)
    db_session.commit()
    for endpoint, method in PATHS:
        after = _request(app, world, endpoint, method)
        assert after.status_code in (403, 404), (endpoint, method, after.status_code)
