from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.accounts.models import UserSession
from supporters.audit.models import AuditEvent
from tests import factories
from tests.conftest import csrf_token, post_form

WRONG = "メールアドレスまたはパスワードが正しくありません"


def login(client: Any, email: str, password: str, next_url: str | None = None) -> Any:
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return post_form(client, url, {"email": email, "password": password}, form_url="/login")


def test_login_page_is_japanese_by_default(client: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "ログイン" in page and "パスワード" in page


def test_login_page_in_english_from_accept_language(client: Any) -> None:
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in page and "Log in" in page


def test_login_success_case_insensitive_and_full_width(client: Any, db_session: Any) -> None:
    user = factories.coordinator(db_session, email="Kato@Example.jp")
    db_session.commit()
    # Full-width characters and stray spaces in the address are normal input.
    response = login(client, "　ｋａｔｏ＠ｅｘａｍｐｌｅ．ｊｐ ", factories.PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    db_session.refresh(user)
    assert user.last_login_at is not None


@pytest.mark.parametrize("case", ["wrong_password", "unknown_account", "inactive", "no_password"])
def test_login_failure_says_the_same_thing(client: Any, db_session: Any, case: str) -> None:
    factories.user(db_session, email="a@example.jp")
    factories.user(db_session, email="off@example.jp", active=False)
    factories.user(db_session, email="invited@example.jp", password=None)
    db_session.commit()
    email, password = {
        "wrong_password": ("a@example.jp", "not the password"),
        "unknown_account": ("nobody@example.jp", factories.PASSWORD),
        "inactive": ("off@example.jp", factories.PASSWORD),
        "no_password": ("invited@example.jp", ""),
    }[case]
    response = login(client, email, password or "x")
    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(UserSession)) == 0
    assert client.get("/").status_code == 302


def test_malformed_and_overlong_input_is_refused_clearly(client: Any, db_session: Any) -> None:
    response = login(client, "x" * 300 + "@example.jp", "y" * 200)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "文字" in page  # the length message, in Japanese
    assert "Traceback" not in page
    response = login(client, "", "")
    assert "入力してください" in response.get_data(as_text=True)


def test_next_goes_to_local_paths_only(client: Any, db_session: Any) -> None:
    factories.admin(db_session, email="a@example.jp")
    db_session.commit()
    response = login(client, "a@example.jp", factories.PASSWORD, next_url="/admin/users")
    assert response.headers["Location"] == "/admin/users"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_foreign_next_is_ignored_with_a_message(client: Any, db_session: Any, target: str) -> None:
    from urllib.parse import quote

    factories.admin(db_session, email="a@example.jp")
    db_session.commit()
    page = client.get(f"/login?next={quote(target)}").get_data(as_text=True)
    assert "このサイトの外" in page
    token = csrf_token(client, "/login")
    response = client.post(
        f"/login?next={quote(target)}",
        data={"email": "a@example.jp", "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_invalidates_a_replayed_cookie(client: Any, db_session: Any, app: Any) -> None:
    factories.admin(db_session, email="a@example.jp")
    db_session.commit()
    login(client, "a@example.jp", factories.PASSWORD)
    stolen = client.get_cookie("session").value
    assert client.get("/admin/users").status_code == 200
    response = post_form(client, "/logout", {}, form_url="/")
    assert response.status_code == 302
    attacker = app.test_client()
    attacker.set_cookie("session", stolen)
    response = attacker.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logout_needs_post_with_csrf(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_password_change_ends_other_sessions(client: Any, db_session: Any, app: Any) -> None:
    factories.admin(db_session, email="a@example.jp")
    db_session.commit()
    other_device = app.test_client()
    login(other_device, "a@example.jp", factories.PASSWORD)
    login(client, "a@example.jp", factories.PASSWORD)
    assert other_device.get("/").status_code == 200
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": factories.PASSWORD,
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this device stays logged in
    assert other_device.get("/").status_code == 302  # the other is logged out
    fresh = app.test_client()
    assert login(fresh, "a@example.jp", factories.PASSWORD).status_code == 200
    assert login(fresh, "a@example.jp", "a brand new passphrase").status_code == 302
    actions = set(db_session.scalars(select(AuditEvent.action)))
    assert "user.password_change" in actions


def test_password_change_refuses_wrong_current_and_short_new(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": "wrong wrong",
            "password": "another passphrase",
            "confirm": "another passphrase",
        },
    )
    assert "現在のパスワードが正しくありません" in response.get_data(as_text=True)
    response = post_form(
        client,
        "/account/password",
        {"current_password": factories.PASSWORD, "password": "short", "confirm": "short"},
    )
    assert "10" in response.get_data(as_text=True) and response.status_code == 200


def test_throttling_per_account_does_not_reveal_existence(client: Any, db_session: Any) -> None:
    factories.user(db_session, email="real@example.jp")
    db_session.commit()
    bodies = {}
    for email in ("real@example.jp", "ghost@example.jp"):
        statuses = [login(client, email, "wrong password").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429], (email, statuses)
        bodies[email] = login(client, email, "wrong password").get_data(as_text=True)
    assert "しばらく" in bodies["real@example.jp"]
    # Same page for a real and an unknown account (apart from the per-page CSRF token).
    strip = lambda page: csrf_token_re_sub(page)  # noqa: E731
    assert strip(bodies["real@example.jp"]) == strip(bodies["ghost@example.jp"])
    # Even the right password is refused while throttled.
    assert login(client, "real@example.jp", factories.PASSWORD).status_code == 429


def csrf_token_re_sub(page: str) -> str:
    import re

    return re.sub(r'value="[^"]*"', "", page)


def test_throttling_per_address(client: Any, db_session: Any, app: Any) -> None:
    for i in range(20):
        assert login(client, f"user{i}@example.jp", "wrong password").status_code == 200
    assert login(client, "user99@example.jp", "wrong password").status_code == 429
    # Another address is not affected.
    other = app.test_client()
    token = csrf_token(other, "/login")
    response = other.post(
        "/login",
        data={"email": "x@example.jp", "password": "wrong", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 200


def test_successful_logins_do_not_count_against_the_limit(client: Any, db_session: Any) -> None:
    factories.user(db_session, email="a@example.jp")
    db_session.commit()
    for _ in range(7):
        assert login(client, "a@example.jp", factories.PASSWORD).status_code == 302
        post_form(client, "/logout", {}, form_url="/")
