"""Login by default, security headers, CSRF on every form, role checks."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests import factories

PUBLIC_ENDPOINTS = {
    "static",
    "accounts.login",
    "accounts.forgot_password",
    "accounts.reset_password",
    "accounts.accept_invitation",
    "main.healthz",
    "main.set_language",
    "verify.verify",
    "dispatch.calendar_feed",
    # One-tap answers from mail: the token is the credential (tests/answers).
    "answers.show",
    "answers.answer",
}


def test_the_public_endpoints_are_exactly_these(app: Flask) -> None:
    """A new public page must be added here on purpose."""
    public = {
        endpoint for endpoint, view in app.view_functions.items() if getattr(view, "_public", False)
    }
    assert public | {"static"} == PUBLIC_ENDPOINTS


def _routes(app: Flask, method: str) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if method not in (rule.methods or set()):
            continue
        values = {
            arg: 1 if "int" in str(rule._converters.get(arg, "")).lower() else "x"
            for arg in rule.arguments
        }
        path = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
        routes.append((rule.endpoint, path))
    return routes


def test_every_private_page_redirects_anonymous_visitors_to_login(app: Flask, client: Any) -> None:
    checked = 0
    for endpoint, path in _routes(app, "GET"):
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        with client.get(path) as response:
            pass
        assert response.status_code == 302, (endpoint, path, response.status_code)
        assert response.headers["Location"].startswith("/login?next="), endpoint
        checked += 1
    assert checked >= 10
    # Unknown URLs do not tell an anonymous visitor what exists.
    assert client.get("/no/such/page").status_code == 302


def test_public_pages_answer_without_login(client: Any) -> None:
    assert client.get("/login").status_code == 200
    assert client.get("/password/forgot").status_code == 200
    health = client.get("/healthz").get_json()
    assert (health["status"], health["database"]) == ("ok", "ok")
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200


def test_every_post_without_csrf_token_gets_400(
    app: Flask, client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    for endpoint, path in _routes(app, "POST"):
        response = client.post(path, data={"email": "a@example.jp", "password": "x"})
        assert response.status_code == 400, (endpoint, path, response.status_code)


@pytest.mark.parametrize("path", ["/login", "/", "/healthz", "/admin/users"])
def test_security_headers(client: Any, db_session: Any, login_as: Any, path: str) -> None:
    login_as(factories.admin(db_session))
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP in tests


def test_no_inline_script_or_style_attributes(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    for path in ["/", "/admin/users", "/admin/users/new", "/programs/tochigi", "/account"]:
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and " style=" not in page and "onclick" not in page, path
        assert '="None"' not in page, path


def test_https_deployment_gets_hsts_and_secure_cookies(schema_factory: Any) -> None:
    from tests.conftest import build_migrated_app

    app = build_migrated_app(schema_factory.url("sqlite", "https"), BASE_URL="https://example.jp")
    app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    response = client.get("/login", base_url="https://example.jp")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_roles_are_scoped(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="chiba"))
    assert client.get("/programs/chiba").status_code == 200
    assert client.get("/programs/tochigi").status_code == 403
    assert client.get("/programs/nowhere").status_code == 404
    page = client.get("/programs/").get_data(as_text=True)
    assert "/programs/chiba" in page and "/programs/tochigi" not in page


def test_supporter_sees_no_admin_navigation(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.supporter(db_session))
    page = client.get("/").get_data(as_text=True)
    assert "/admin/users" not in page and "/audit/" not in page


def test_error_pages_show_no_stack_trace(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.supporter(db_session))
    response = client.get("/admin/users/999999")
    assert response.status_code == 403
    assert "Traceback" not in response.get_data(as_text=True)
