"""A session cookie stops working when its session ends: after logout, after a password
change (on the other devices), after the account is deactivated; a revoked role stops
working at once. For every kind of user, through the real login form."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from supporters.accounts.models import RoleGrant, User
from tests import factories
from tests.conftest import csrf_token, post_form

# A page each kind of user can see, and only while logged in with that role.
KINDS = {
    "admin": "/admin/users",
    "coordinator": "/register/",
    "municipal_staff": "/municipality/supporters",
    "supporter": "/me",
}


def _user(db_session: Any, kind: str) -> User:
    email = f"{kind}@sessions.example"
    if kind == "admin":
        user = factories.admin(db_session, email=email)
    elif kind == "coordinator":
        user = factories.coordinator(db_session, program_code="tochigi", email=email)
    elif kind == "municipal_staff":
        user = factories.municipal_staff(
            db_session, program_code="tochigi", municipality_name="佐野市", email=email
        )
    else:
        user = factories.supporter(db_session, program_code="tochigi", email=email)
        user.person_id = factories.person(db_session, email="me@sessions.example").id
    db_session.commit()
    return user


def _log_in(client: Any, user: User, password: str = factories.PASSWORD) -> None:
    response = post_form(client, "/login", {"email": user.email, "password": password})
    assert response.status_code == 302 and response.headers["Location"] == "/", user.email


def _refused(response: Any) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def _replay(app: Flask, cookie: str) -> Any:
    attacker = app.test_client()
    attacker.set_cookie("session", cookie)
    return attacker


@pytest.mark.parametrize("kind", KINDS)
def test_a_cookie_replayed_after_logout_is_refused(
    app: Flask, client: Any, db_session: Any, kind: str
) -> None:
    user = _user(db_session, kind)
    page = KINDS[kind]
    _log_in(client, user)
    assert client.get(page).status_code == 200
    token = csrf_token(client, "/account")
    stolen = client.get_cookie("session").value
    assert post_form(client, "/logout", {}, form_url="/account").status_code == 302
    assert _refused(client.get(page))
    attacker = _replay(app, stolen)
    assert _refused(attacker.get(page))
    # The stolen cookie carries a valid CSRF token, but no longer a login.
    assert _refused(attacker.post("/account", data={"csrf_token": token, "language": "en"}))
    db_session.expire_all()
    assert db_session.get(User, user.id).locale != "en"


@pytest.mark.parametrize("kind", KINDS)
def test_a_cookie_replayed_after_a_password_change_is_refused(
    app: Flask, client: Any, db_session: Any, kind: str
) -> None:
    user = _user(db_session, kind)
    page = KINDS[kind]
    other_device = app.test_client()
    _log_in(other_device, user)
    _log_in(client, user)
    stolen = other_device.get_cookie("session").value
    assert other_device.get(page).status_code == 200
    new_password = "another long passphrase"
    response = post_form(
        client,
        "/account/password",
        {"current_password": factories.PASSWORD, "password": new_password, "confirm": new_password},
    )
    assert response.status_code == 302
    assert client.get(page).status_code == 200  # the device that changed it stays in
    assert _refused(other_device.get(page))
    assert _refused(_replay(app, stolen).get(page))
    # The old password no longer works; the new one does.
    fresh = app.test_client()
    assert (
        post_form(
            fresh, "/login", {"email": user.email, "password": factories.PASSWORD}
        ).status_code
        == 200
    )
    _log_in(fresh, user, new_password)


def test_deactivating_an_account_ends_its_sessions(
    app: Flask, client: Any, db_session: Any, login_as: Any
) -> None:
    supporter = _user(db_session, "supporter")
    victim = app.test_client()
    _log_in(victim, supporter)
    assert victim.get("/me").status_code == 200
    stolen = victim.get_cookie("session").value
    login_as(factories.admin(db_session))
    response = post_form(
        client, f"/admin/users/{supporter.id}/active", {}, form_url=f"/admin/users/{supporter.id}"
    )
    assert response.status_code == 302
    assert _refused(victim.get("/me"))
    assert _refused(_replay(app, stolen).get("/me"))


def test_a_revoked_role_stops_working_in_a_live_session(
    app: Flask, client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator = _user(db_session, "coordinator")
    live = app.test_client()
    _log_in(live, coordinator)
    assert live.get("/register/").status_code == 200
    grant = db_session.scalar(select(RoleGrant).where(RoleGrant.user_id == coordinator.id))
    login_as(factories.admin(db_session))
    response = post_form(
        client,
        f"/admin/users/{coordinator.id}/grants/{grant.id}/revoke",
        {},
        form_url=f"/admin/users/{coordinator.id}",
    )
    assert response.status_code == 302
    assert live.get("/register/").status_code == 403


def test_a_cookie_from_before_the_login_does_not_become_logged_in(
    app: Flask, client: Any, db_session: Any
) -> None:
    """No session fixation: what a visitor (or someone who planted it) had before logging in
    is not the logged-in session."""
    user = _user(db_session, "coordinator")
    client.get("/login")
    before = client.get_cookie("session").value
    _log_in(client, user)
    assert client.get_cookie("session").value != before
    assert _refused(_replay(app, before).get("/register/"))
