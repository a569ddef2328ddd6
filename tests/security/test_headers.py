"""Security headers on every HTML response: CSP without 'unsafe-inline' and with
frame-ancestors 'none', nosniff, a referrer policy that keeps URLs on the site.

Every GET route for every role (and every POST answer) is checked by the route matrix
(test_route_matrix.py, through `assert_security_headers`); here: the error pages (400, 403,
404, 405, 429) and the public certificate check."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests import factories
from tests.conftest import csrf_token
from tests.security.world import ROLES, World, assert_security_headers, client_as


def _html(response: Any, status: int, what: object) -> None:
    assert response.status_code == status, (what, response.status_code)
    assert response.mimetype == "text/html", what
    assert_security_headers(response, what)
    page = response.get_data(as_text=True)
    assert "Traceback" not in page and "<script>" not in page, what


def test_error_pages_of_every_role_carry_the_headers(
    app: Flask, db_session: Any, world: World
) -> None:
    for role in ROLES:
        client = client_as(app, world, role)
        if role == "anon":
            _html(client.get("/login"), 200, role)
            _html(client.get("/calendar/not-a-feed-token.ics"), 404, (role, "feed 404"))
            _html(client.post("/login", data={"email": "a@example.jp"}), 400, (role, "csrf"))
            continue
        _html(client.get("/no/such/page"), 404, (role, 404))
        _html(client.get("/courses/999999"), 404, (role, "404 object"))
        _html(client.get("/logout"), 405, (role, 405))
        _html(client.post("/account", data={"language": "en"}), 400, (role, "400 csrf"))
        if role != "admin":
            _html(client.get("/admin/users"), 403, (role, 403))


def test_the_logged_in_pages_are_not_cached(app: Flask, db_session: Any, world: World) -> None:
    for role in ROLES[1:]:
        response = client_as(app, world, role).get("/")
        assert "no-store" in response.headers.get("Cache-Control", ""), role


def test_the_login_throttle_page_carries_the_headers(client: Any, db_session: Any) -> None:
    factories.user(db_session, email="t@example.jp")
    db_session.commit()
    token = csrf_token(client, "/login")
    statuses = [
        client.post(
            "/login", data={"email": "t@example.jp", "password": "wrong", "csrf_token": token}
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [200] * 5
    response = client.post(
        "/login", data={"email": "t@example.jp", "password": "wrong", "csrf_token": token}
    )
    _html(response, 429, "login 429")


def test_the_generic_throttle_page_carries_the_headers(client: Any, db_session: Any) -> None:
    token = csrf_token(client, "/password/forgot")
    for _ in range(10):
        response = client.post(
            "/password/forgot", data={"email": "x@example.jp", "csrf_token": token}
        )
        assert response.status_code == 302
    response = client.post("/password/forgot", data={"email": "x@example.jp", "csrf_token": token})
    _html(response, 429, "forgot 429")


@pytest.mark.parametrize("known", [True, False])
def test_the_public_verify_page_carries_the_headers_and_no_cookie(
    app: Flask, client: Any, db_session: Any, world: World, known: bool
) -> None:
    code = world.params["own"]["verify_code"] if known else "no-such-code-0000"
    response = client.get(f"/verify/{code}")
    _html(response, 200 if known else 404, "verify")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    # Nothing ties two checks together: no cookie is set (at most an empty one is cleared).
    for cookie in response.headers.getlist("Set-Cookie"):
        assert cookie.startswith("session=;") and "Max-Age=0" in cookie, cookie


def test_the_verify_throttle_page_carries_the_headers(
    client: Any, db_session: Any, world: World
) -> None:
    code = world.params["own"]["verify_code"]
    for _ in range(30):
        assert client.get(f"/verify/{code}").status_code == 200
    response = client.get(f"/verify/{code}")
    _html(response, 429, "verify 429")
    assert response.headers["Referrer-Policy"] == "no-referrer"
