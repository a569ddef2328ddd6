from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from supporters.accounts.models import User
from supporters.db import now_utc
from supporters.mail.models import OutboxMessage
from supporters.mail.services import send_outbox, transport_state
from tests import factories
from tests.conftest import post_form
from tests.mail_server import body_text, smtp_server

LINK_RE = re.compile(r"http://localhost(/\S+)")


def _set_password(client: Any, path: str, password: str) -> Any:
    return post_form(client, path, {"password": password, "confirm": password})


def test_invitation_sets_a_first_password_once(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    response = post_form(
        client,
        "/admin/users/new",
        {
            "display_name": "山田 太郎",
            "email": "Yamada@Example.jp",
            "role": "coordinator",
            "program": str(factories.program(db_session, code="chiba").id),
            "municipality": "",
        },
    )
    assert response.status_code == 302
    user = db_session.scalar(select(User).where(User.email == "yamada@example.jp"))
    assert user is not None and user.password_hash is None
    mail = db_session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == user.email))
    assert mail.status == "pending"  # queued by the request; the sender job sends it
    assert send_outbox(db_session, mail_url=None, sender="x@example.jp", now=now_utc()) == 1
    db_session.refresh(mail)
    assert mail.status == "kept"  # no SMTP in tests: kept for the admin's mail view
    assert "山田 太郎" in mail.body_text
    path = LINK_RE.search(mail.body_text).group(1)
    post_form(client, "/logout", {}, form_url="/")

    page = client.get(path).get_data(as_text=True)
    assert "yamada@example.jp" in page
    response = _set_password(client, path, "my first passphrase")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # Single use: the same link is refused with a clear message.
    response = client.get(path)
    assert response.status_code == 400
    assert "すでに使われ" in response.get_data(as_text=True)
    response = post_form(
        client, "/login", {"email": "yamada@example.jp", "password": "my first passphrase"}
    )
    assert response.status_code == 302


def test_expired_and_tampered_invitations_are_refused(
    client: Any, db_session: Any, app: Any
) -> None:
    from supporters.accounts import services

    user = factories.user(db_session, password=None)
    token = services.issue_invitation(
        db_session, actor=None, user=user, secret_key=app.config["SECRET_KEY"]
    )
    db_session.commit()
    assert client.get(f"/invitation/{token}").status_code == 200
    assert client.get(f"/invitation/{token}x").status_code == 400
    app.config["INVITATION_MAX_AGE"] = -1
    try:
        response = client.get(f"/invitation/{token}")
    finally:
        app.config["INVITATION_MAX_AGE"] = 14 * 86400
    assert response.status_code == 400
    assert "有効期限" in response.get_data(as_text=True)
    db_session.refresh(user)
    assert user.password_hash is None


def test_a_new_invitation_replaces_the_old(client: Any, db_session: Any, app: Any) -> None:
    from supporters.accounts import services

    user = factories.user(db_session, password=None)
    first = services.issue_invitation(
        db_session, actor=None, user=user, secret_key=app.config["SECRET_KEY"]
    )
    second = services.issue_invitation(
        db_session, actor=None, user=user, secret_key=app.config["SECRET_KEY"]
    )
    db_session.commit()
    assert client.get(f"/invitation/{first}").status_code == 400
    assert client.get(f"/invitation/{second}").status_code == 200


def test_invitation_password_rules(client: Any, db_session: Any, app: Any) -> None:
    from supporters.accounts import services

    user = factories.user(db_session, password=None, email="rules@example.jp")
    token = services.issue_invitation(
        db_session, actor=None, user=user, secret_key=app.config["SECRET_KEY"]
    )
    db_session.commit()
    page = _set_password(client, f"/invitation/{token}", "rules@example.jp").get_data(as_text=True)
    assert "メールアドレス" in page
    response = post_form(
        client,
        f"/invitation/{token}",
        {"password": "long enough phrase", "confirm": "different phrase!"},
    )
    assert response.status_code == 200
    db_session.refresh(user)
    assert user.password_hash is None


def test_password_reset_by_mail_over_real_smtp(client: Any, db_session: Any, app: Any) -> None:
    factories.user(db_session, email="reset@example.jp", name="リセット 太郎")
    db_session.commit()
    with smtp_server() as (url, inbox):
        app.config["MAIL_URL"] = url
        try:
            response = post_form(client, "/password/forgot", {"email": "reset@example.jp"})
            unknown = post_form(client, "/password/forgot", {"email": "nobody@example.jp"})
            assert inbox == []  # requests only queue; the sender job sends
            send_outbox(db_session, mail_url=url, sender="x@example.jp", now=now_utc())
        finally:
            app.config["MAIL_URL"] = None
    assert response.status_code == unknown.status_code == 302
    assert client.get("/login").get_data(as_text=True).count("メール") >= 1
    assert len(inbox) == 1  # nothing is sent for an unknown address
    message = inbox[0]
    assert message["To"] == "reset@example.jp"
    assert message["Message-ID"]
    assert "パスワード" in str(message["Subject"]) or "パスワード" in body_text(message)
    path = urlsplit(LINK_RE.search(body_text(message)).group(0)).path
    stored = db_session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "reset@example.jp")
    )
    assert stored.status == "sent" and stored.message_id == message["Message-ID"]

    assert _set_password(client, path, "a fresh passphrase").status_code == 302
    assert client.get(path).status_code == 400  # used once, then dead
    response = post_form(
        client, "/login", {"email": "reset@example.jp", "password": "a fresh passphrase"}
    )
    assert response.status_code == 302


def test_unreachable_smtp_keeps_the_mail_for_a_retry(
    client: Any, db_session: Any, app: Any
) -> None:
    from tests.mail_server import _free_port

    factories.user(db_session, email="retry@example.jp")
    db_session.commit()
    url = f"smtp://127.0.0.1:{_free_port()}"
    response = post_form(client, "/password/forgot", {"email": "retry@example.jp"})
    assert response.status_code == 302
    assert send_outbox(db_session, mail_url=url, sender="x@example.jp", now=now_utc()) == 0
    mail = db_session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "retry@example.jp")
    )
    # An unreachable server is the transport's failure, not the message's: no attempt spent,
    # the whole queue waits (issue 14).
    assert mail.status == "pending" and mail.attempts == 0
    transport = transport_state(db_session)
    assert transport is not None and transport.failures == 1
    assert transport.next_try_at is not None and transport.next_try_at > now_utc()


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "x" * 260])
def test_forgot_password_malformed_email(client: Any, db_session: Any, email: str) -> None:
    response = post_form(client, "/password/forgot", {"email": email})
    assert response.status_code == 200
    assert "メールアドレス" in response.get_data(as_text=True)
    assert db_session.scalar(select(OutboxMessage)) is None
