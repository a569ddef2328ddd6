"""Login throttling that can be neither bypassed nor turned against users.

- the limits key on the same normalised address the login looks up (NFKC, case-folded);
- one client's failures never lock out another client: limits per (account, client) and per
  client; behind a reverse proxy (SUPPORTERS_TRUSTED_PROXIES) the client is the real one, and
  without a trusted proxy a forged X-Forwarded-For changes nothing;
- past a per-account ceiling (all clients together) guesses are slowed down, and the owner is
  told by mail (through the outbox) once; a device the owner logged in from before is not
  slowed.

Real concurrency (30 parallel guesses against gunicorn and Redis) is in
test_throttling_workers.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from supporters.audit.models import AuditEvent
from supporters.extensions import db, limiter
from supporters.mail.models import OutboxMessage
from tests import factories
from tests.conftest import BACKENDS, CSRF_RE, build_migrated_app

SLOWED = "ログインの受付を遅くしています"
TOO_MANY = "しばらく"
WRONG = "メールアドレスまたはパスワードが正しくありません"


class Client:
    """A browser at one address; `via` is the address a trusted proxy reports for it."""

    def __init__(self, app: Flask, address: str, *, via: str | None = None) -> None:
        self.http = app.test_client()
        self.address = address
        self.via = via

    def _environ(self) -> dict[str, Any]:
        return {"REMOTE_ADDR": self.via or self.address}

    def _headers(self, forged: str | None = None) -> dict[str, str]:
        if forged:
            return {"X-Forwarded-For": forged}
        return {"X-Forwarded-For": self.address} if self.via else {}

    def login(self, email: str, password: str, *, forged: str | None = None) -> Any:
        page = self.http.get("/login", environ_base=self._environ(), headers=self._headers())
        token = CSRF_RE.search(page.get_data(as_text=True))
        assert token, page.status_code
        return self.http.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token.group(1)},
            environ_base=self._environ(),
            headers=self._headers(forged),
        )

    def logout(self) -> None:
        page = self.http.get("/account", environ_base=self._environ(), headers=self._headers())
        token = CSRF_RE.search(page.get_data(as_text=True))
        assert token
        self.http.post(
            "/logout",
            data={"csrf_token": token.group(1)},
            environ_base=self._environ(),
            headers=self._headers(),
        )


def _statuses(
    client: Client,
    email: str,
    count: int,
    password: str = "wrong password",  # noqa: S107
) -> list[int]:
    return [client.login(email, password).status_code for _ in range(count)]


@pytest.fixture(scope="module", params=BACKENDS)
def proxied(request: pytest.FixtureRequest, schema_factory: Any) -> Iterator[Flask]:
    """An app behind one trusted reverse proxy, with its own committed data."""
    app = build_migrated_app(schema_factory.url(request.param, "proxy"), TRUSTED_PROXIES=1)
    with app.app_context():
        factories.user(db.session, email="owner@proxy.example")
        factories.user(db.session, email="audited@proxy.example")
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def fresh_limits(proxied: Flask) -> Iterator[Flask]:
    with proxied.app_context():
        limiter.reset()
        yield proxied


def test_a_full_width_or_upper_case_address_shares_the_accounts_limit(
    app: Flask, client: Any, db_session: Any
) -> None:
    factories.admin(db_session, email="admin@demo.example")
    db_session.commit()
    attacker = Client(app, "192.0.2.10")
    assert _statuses(attacker, "admin@demo.example", 5) == [200] * 5
    for variant in ("ａｄｍｉｎ@demo.example", "ADMIN@DEMO.EXAMPLE", " Ａdmin@ｄemo.example "):
        response = attacker.login(variant, "another guess")
        assert response.status_code == 429, variant
        assert TOO_MANY in response.get_data(as_text=True)


def test_one_clients_guesses_do_not_lock_out_the_owner_elsewhere(
    app: Flask, client: Any, db_session: Any
) -> None:
    factories.user(db_session, email="owner@example.jp")
    db_session.commit()
    attacker = Client(app, "192.0.2.20")
    assert _statuses(attacker, "owner@example.jp", 6) == [200] * 5 + [429]
    assert attacker.login("owner@example.jp", factories.PASSWORD).status_code == 429
    owner = Client(app, "198.51.100.20")
    assert owner.login("owner@example.jp", factories.PASSWORD).status_code == 302


def test_a_clients_failures_on_many_accounts_block_that_client_only(
    app: Flask, client: Any, db_session: Any
) -> None:
    factories.user(db_session, email="someone@example.jp")
    db_session.commit()
    sprayer = Client(app, "192.0.2.30")
    for i in range(20):
        assert sprayer.login(f"user{i}@example.jp", "wrong password").status_code == 200
    assert sprayer.login("someone@example.jp", factories.PASSWORD).status_code == 429
    other = Client(app, "198.51.100.30")
    assert other.login("someone@example.jp", factories.PASSWORD).status_code == 302


def test_a_right_password_does_not_use_up_the_limits(
    app: Flask, client: Any, db_session: Any
) -> None:
    factories.user(db_session, email="daily@example.jp")
    db_session.commit()
    office = Client(app, "192.0.2.40")
    for _ in range(25):  # more than the per-client limit of 20
        assert office.login("daily@example.jp", factories.PASSWORD).status_code == 302
        office.logout()
    assert _statuses(office, "daily@example.jp", 5) == [200] * 5


def test_without_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(
    app: Flask, client: Any, db_session: Any
) -> None:
    attacker = Client(app, "192.0.2.50")
    for i in range(20):
        response = attacker.login(
            "victim@example.jp" if i < 5 else f"x{i}@example.jp", "guess", forged=f"10.0.{i}.1"
        )
        assert response.status_code == 200
    assert attacker.login("victim@example.jp", "guess", forged="10.9.9.9").status_code == 429


def test_behind_the_proxy_each_real_client_has_its_own_limits(fresh_limits: Flask) -> None:
    app = fresh_limits
    proxy = "127.0.0.1"
    stranger = Client(app, "203.0.113.7", via=proxy)
    for i in range(20):
        assert stranger.login(f"nobody{i}@proxy.example", "guess").status_code == 200
    assert stranger.login("owner@proxy.example", "guess").status_code == 429
    # Everyone else comes through the same proxy and is not locked out.
    owner = Client(app, "198.51.100.8", via=proxy)
    assert owner.login("owner@proxy.example", factories.PASSWORD).status_code == 302
    neighbour = Client(app, "198.51.100.9", via=proxy)
    assert neighbour.login("nobody1@proxy.example", "guess").status_code == 200


def test_behind_the_proxy_the_audit_log_records_the_real_client(fresh_limits: Flask) -> None:
    app = fresh_limits
    visitor = Client(app, "198.51.100.77", via="127.0.0.1")
    assert visitor.login("audited@proxy.example", factories.PASSWORD).status_code == 302
    with app.app_context():
        addresses = db.session.scalars(
            select(AuditEvent.ip_address).where(AuditEvent.action == "user.login")
        ).all()
    assert "198.51.100.77" in addresses and "127.0.0.1" not in addresses


def _ceiling_mail(db_session: Any, email: str) -> list[OutboxMessage]:
    return list(
        db_session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.recipient == email, OutboxMessage.kind == "login_attempts"
            )
        )
    )


@pytest.mark.parametrize("known", [True, False])
def test_past_the_ceiling_guesses_are_slowed_and_the_owner_is_told_once(
    app: Flask, client: Any, db_session: Any, known: bool
) -> None:
    email = "target@example.jp" if known else "ghost@example.jp"
    factories.user(db_session, email="target@example.jp")
    db_session.commit()
    owner = Client(app, "198.51.100.60")
    assert owner.login("target@example.jp", factories.PASSWORD).status_code == 302
    owner.logout()
    # Six strangers, five guesses each: 30, the ceiling (all clients together, per hour).
    for n in range(6):
        assert _statuses(Client(app, f"192.0.2.{100 + n}"), email, 5) == [200] * 5
    assert _ceiling_mail(db_session, "target@example.jp") == []
    # Past it, the account takes two guesses a minute, whoever sends them.
    late = [Client(app, f"192.0.2.{120 + n}").login(email, "guess") for n in range(3)]
    assert [r.status_code for r in late] == [200, 200, 429]
    assert SLOWED in late[2].get_data(as_text=True)
    # The owner's mail is queued (not sent by the request), once, and only for a real account.
    mails = _ceiling_mail(db_session, "target@example.jp")
    assert len(mails) == (1 if known else 0)
    if known:
        assert mails[0].status == "pending"  # queued; the sender job sends it
        assert "ログインの失敗が続いています" in mails[0].subject
        assert "/password/forgot" in mails[0].body_text
        slowed = db_session.scalars(
            select(AuditEvent.ip_address).where(AuditEvent.action == "user.login_slowed")
        ).all()
        assert slowed == ["192.0.2.120"]  # the client whose guess crossed the ceiling
    _statuses(Client(app, "192.0.2.140"), email, 2)
    assert len(_ceiling_mail(db_session, "target@example.jp")) == (1 if known else 0)
    # A stranger with the right password is slowed too; the owner's own device is not.
    assert Client(app, "192.0.2.141").login(email, factories.PASSWORD).status_code == 429
    if known:
        assert owner.login("target@example.jp", factories.PASSWORD).status_code == 302


def test_the_slowed_answer_is_the_same_for_known_and_unknown_accounts(
    app: Flask, client: Any, db_session: Any
) -> None:
    factories.user(db_session, email="real@example.jp")
    db_session.commit()
    pages = {}
    for email in ("real@example.jp", "unreal@example.jp"):
        for n in range(6):
            _statuses(Client(app, f"192.0.{len(pages) + 3}.{n}"), email, 5)
        _statuses(Client(app, f"192.0.{len(pages) + 3}.50"), email, 2)
        response = Client(app, f"192.0.{len(pages) + 3}.51").login(email, "guess")
        assert response.status_code == 429
        pages[email] = re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))
    assert pages["real@example.jp"] == pages["unreal@example.jp"]


def test_behind_the_proxy_the_forgot_password_limit_is_per_real_client(
    fresh_limits: Flask,
) -> None:
    browser = fresh_limits.test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    page = browser.get("/password/forgot", environ_base=proxy)
    token = CSRF_RE.search(page.get_data(as_text=True))
    assert token

    def forgot(client_address: str) -> int:
        response = browser.post(
            "/password/forgot",
            data={"email": "nobody@proxy.example", "csrf_token": token.group(1)},
            environ_base=proxy,
            headers={"X-Forwarded-For": client_address},
        )
        return response.status_code

    assert [forgot("203.0.113.44") for _ in range(10)] == [302] * 10
    assert forgot("203.0.113.44") == 429
    assert forgot("198.51.100.44") == 302


def test_only_a_signed_cookie_from_the_owners_own_login_skips_the_slowdown(
    app: Flask, client: Any, db_session: Any
) -> None:
    factories.user(db_session, email="victim@example.jp")
    factories.user(db_session, email="attacker@example.jp")
    db_session.commit()
    attacker = Client(app, "192.0.2.200")
    assert attacker.login("attacker@example.jp", factories.PASSWORD).status_code == 302
    attacker.logout()  # the attacker's browser now holds a device cookie for its own account
    for n in range(6):
        _statuses(Client(app, f"192.0.2.{210 + n}"), "victim@example.jp", 5)
    _statuses(Client(app, "192.0.2.230"), "victim@example.jp", 2)  # the slowed rate, used up
    assert attacker.login("victim@example.jp", "guess").status_code == 429
    forger = Client(app, "192.0.2.231")
    forger.http.set_cookie("supporters_device", "forged.value.here")
    assert forger.login("victim@example.jp", "guess").status_code == 429
