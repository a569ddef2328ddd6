"""No user enumeration, no worker held by mail.

Requests only queue mail (the outbox); the sender job sends it. Forgot-password answers
known, unknown and deactivated addresses alike, in content and, within noise, in time."""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from supporters.db import now_utc
from supporters.mail.models import OutboxMessage
from supporters.mail.services import send_outbox
from tests import factories
from tests.conftest import csrf_token
from tests.mail_server import smtp_server

SENDER = "supporters@example.jp"


def _forgot(client: Any, email: str, token: str) -> Any:
    return client.post("/password/forgot", data={"email": email, "csrf_token": token})


def _outbox(db_session: Any, email: str) -> list[OutboxMessage]:
    return list(db_session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)))


def test_forgot_password_only_queues_the_mail_and_the_sender_sends_it(
    app: Flask, client: Any, db_session: Any
) -> None:
    factories.user(db_session, email="queued@example.jp")
    db_session.commit()
    with smtp_server() as (url, inbox):
        app.config["MAIL_URL"] = url
        try:
            response = _forgot(client, "queued@example.jp", csrf_token(client, "/password/forgot"))
            assert response.status_code == 302
            assert inbox == []  # the request did not talk to the mail server
            [queued] = _outbox(db_session, "queued@example.jp")
            assert queued.status == "pending" and queued.attempts == 0
            assert send_outbox(db_session, mail_url=url, sender=SENDER, now=now_utc()) == 1
        finally:
            app.config["MAIL_URL"] = None
    assert len(inbox) == 1 and inbox[0]["To"] == "queued@example.jp"


def test_an_invitation_only_queues_the_mail(
    app: Flask, client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    with smtp_server() as (url, inbox):
        app.config["MAIL_URL"] = url
        try:
            token = csrf_token(client, "/admin/users/new")
            response = client.post(
                "/admin/users/new",
                data={
                    "display_name": "招待 花子",
                    "email": "invited.later@example.jp",
                    "role": "admin",
                    "program": "",
                    "municipality": "",
                    "csrf_token": token,
                },
            )
        finally:
            app.config["MAIL_URL"] = None
    assert response.status_code == 302
    assert inbox == []
    assert [m.status for m in _outbox(db_session, "invited.later@example.jp")] == ["pending"]


CASES = {
    "known": "known@example.jp",
    "unknown": "nobody@example.jp",
    "deactivated": "gone@example.jp",
    "no password yet": "invited@example.jp",
}


def _setup_accounts(db_session: Any) -> None:
    factories.user(db_session, email="known@example.jp")
    factories.user(db_session, email="gone@example.jp", active=False)
    factories.user(db_session, email="invited@example.jp", password=None)
    db_session.commit()


def test_known_unknown_and_deactivated_addresses_get_the_same_answer(
    app: Flask, client: Any, db_session: Any
) -> None:
    _setup_accounts(db_session)
    answers = {}
    for case, email in CASES.items():
        browser = app.test_client()
        response = _forgot(browser, email, csrf_token(browser, "/password/forgot"))
        follow = browser.get(response.headers["Location"])
        page = re.sub(r'value="[^"]*"', "", follow.get_data(as_text=True))
        answers[case] = (response.status_code, response.headers["Location"], page)
    assert len(set(answers.values())) == 1, answers.keys()
    assert "リンク" in answers["known"][2]


def test_forgot_password_takes_the_same_time_for_every_kind_of_address(
    app: Flask, client: Any, db_session: Any
) -> None:
    """Interleaved runs with a real mail server configured; the medians differ by less than
    the noise of this shared machine (the interquartile range here is about 10 ms): a mail
    queued or not, a token made or not, an SMTP conversation (before: in the request) must
    not show."""
    _setup_accounts(db_session)
    browser = app.test_client()
    token = csrf_token(browser, "/password/forgot")
    app.config["PASSWORD_RESET_MAILS_PER_ACCOUNT"] = "1000 per hour"
    with smtp_server() as (url, _inbox):
        app.config["MAIL_URL"] = url
        try:
            medians = _time_forgot_password(browser, token)
        finally:
            app.config["MAIL_URL"] = None
            app.config["PASSWORD_RESET_MAILS_PER_ACCOUNT"] = "3 per hour"
    spread = max(medians.values()) - min(medians.values())
    assert spread < max(0.005, 0.25 * min(medians.values())), medians


def _time_forgot_password(browser: Any, token: str) -> dict[str, float]:
    for n, email in enumerate(CASES.values()):  # warm up every path
        browser.post(
            "/password/forgot",
            data={"email": email, "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"10.99.{n}.1"},
        )
    times: dict[str, list[float]] = {case: [] for case in CASES}
    for run in range(30):
        for n, (case, email) in enumerate(CASES.items()):
            here = {"REMOTE_ADDR": f"10.{run}.{n}.1"}  # under the per-client limit
            started = time.perf_counter()
            response = browser.post(
                "/password/forgot",
                data={"email": email, "csrf_token": token},
                environ_base=here,
            )
            assert response.status_code == 302
            times[case].append(time.perf_counter() - started)
    return {case: _low(values) for case, values in times.items()}


def _low(values: list[float]) -> float:
    """The first quartile: other work on a shared machine only ever adds time, so the low
    end shows what a path costs."""
    return statistics.quantiles(values, n=4)[0]


def test_reset_mails_to_one_address_are_capped_with_the_same_answer(
    app: Flask, client: Any, db_session: Any
) -> None:
    factories.user(db_session, email="flooded@example.jp")
    db_session.commit()
    answers = set()
    for n in range(6):  # from different clients: the cap is per address
        browser = app.test_client()
        token = csrf_token(browser, "/password/forgot")
        response = browser.post(
            "/password/forgot",
            data={"email": "flooded@example.jp", "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"},
        )
        answers.add((response.status_code, response.headers.get("Location")))
    assert answers == {(302, "/login")}
    count = db_session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.recipient == "flooded@example.jp")
    )
    assert count == 3


@pytest.mark.parametrize("email", ["known@example.jp", "nobody@example.jp"])
def test_the_forgot_password_limit_is_per_client(
    app: Flask, client: Any, db_session: Any, email: str
) -> None:
    _setup_accounts(db_session)
    browser = app.test_client()
    token = csrf_token(browser, "/password/forgot")
    here = {"REMOTE_ADDR": "192.0.2.77"}
    for _ in range(10):
        response = browser.post(
            "/password/forgot", data={"email": email, "csrf_token": token}, environ_base=here
        )
        assert response.status_code == 302
    response = browser.post(
        "/password/forgot", data={"email": email, "csrf_token": token}, environ_base=here
    )
    assert response.status_code == 429
    elsewhere = {"REMOTE_ADDR": "198.51.100.77"}
    response = browser.post(
        "/password/forgot", data={"email": email, "csrf_token": token}, environ_base=elsewhere
    )
    assert response.status_code == 302


def test_login_takes_the_same_time_for_every_kind_of_account(
    app: Flask, client: Any, db_session: Any
) -> None:
    """With the production password hash: a wrong password for a known, an unknown, a
    deactivated and a not-yet-activated account costs one full hash check each."""
    cheap = app.config["PASSWORD_HASH"]
    app.config["PASSWORD_HASH"] = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
    try:
        _setup_accounts(db_session)
        browser = app.test_client()
        token = csrf_token(browser, "/login")
        times: dict[str, list[float]] = {case: [] for case in CASES}
        # Up to two rounds of ten (the account ceiling allows 30 guesses an hour): other work
        # on the machine only ever adds time, so a round spoilt by a neighbour is outvoted,
        # while a path that skips the hash stays faster in every round.
        for run in range(20):
            for n, (case, email) in enumerate(CASES.items()):
                started = time.perf_counter()
                response = browser.post(
                    "/login",
                    data={"email": email, "password": "not the password", "csrf_token": token},
                    environ_base={"REMOTE_ADDR": f"10.{run}.{n}.2"},
                )
                times[case].append(time.perf_counter() - started)
                assert response.status_code == 200
            if run % 10 == 9 and _even(times):
                break
    finally:
        app.config["PASSWORD_HASH"] = cheap
    lows = {case: _low(values) for case, values in times.items()}
    # Before: a deactivated account answered in a fifth of the time of the others.
    assert _even(times), lows


def _even(times: dict[str, list[float]]) -> bool:
    lows = [_low(values) for values in times.values()]
    return max(lows) - min(lows) < 0.4 * min(lows)
