"""The outbox sender against a real SMTP server on loopback (aiosmtpd), in real processes:
Japanese mail that decodes, each message sent once by concurrent senders, nothing lost when a
sender is killed, retries with backoff, and permanent failures shown to admins."""

from __future__ import annotations

import asyncio
import email.policy
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import event, func, select

from supporters.db import now_utc
from supporters.extensions import db
from supporters.mail.models import OutboxMessage, OutboxStatus
from supporters.mail.services import (
    LEASE,
    MAX_ATTEMPTS,
    enqueue_mail,
    retry_delay,
    send_outbox,
    send_outbox_report,
)
from tests import factories
from tests.mail_server import _free_port
from tests.reminders import FlaskProcess, flask_env

SENDER = "supporters@example.jp"


# --- a scriptable SMTP server ---------------------------------------------------------------


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives, and can misbehave on purpose."""

    raw: list[bytes] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    refuse_data: str | None = None
    hold: bool = False  # keep each DATA reply back until `release` is set (or 10 s pass)
    release: threading.Event = field(default_factory=threading.Event)
    wait_for_peers: int = 0  # hold the first replies until this many connections sent DATA
    received: threading.Event = field(default_factory=threading.Event)
    peers: set[Any] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return self.refuse_data
        self.raw.append(bytes(envelope.content))
        self.peers.add(session.peer)
        self.received.set()
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and (
            (self.hold and not self.release.is_set()) or len(self.peers) < self.wait_for_peers
        ):
            await asyncio.sleep(0.01)
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=email.policy.default) for raw in list(self.raw)]

    def message_ids(self) -> Counter[str]:
        return Counter(str(message["Message-ID"]) for message in self.messages)


@contextmanager
def smtp(inbox: Inbox, port: int | None = None) -> Iterator[str]:
    port = port or _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        inbox.release.set()
        controller.stop()


# --- a database the tests (and subprocesses) commit to -----------------------------------------


def queue(app: Flask, count: int, *, prefix: str = "user") -> list[str]:
    """Commit `count` messages; returns their Message-IDs in queue order."""
    with app.app_context():
        messages = [
            enqueue_mail(
                db.session,
                kind="test",
                recipient=f"{prefix}{number}@example.jp",
                subject=f"テスト {number}",
                body_text=f"本文 {number}",
                domain="test.example",
            )
            for number in range(count)
        ]
        db.session.commit()
        return [message.message_id for message in messages]


def states(app: Flask) -> Counter[str]:
    with app.app_context():
        return Counter(db.session.scalars(select(OutboxMessage.status)).all())


def send(app: Flask, mail_url: str | None, **kwargs: Any) -> int:
    with app.app_context():
        kwargs.setdefault("now", now_utc())
        return send_outbox(db.session, mail_url=mail_url, sender=SENDER, **kwargs)


def wait_until_received(inbox: Inbox, process: FlaskProcess, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while not inbox.received.wait(0.05):
        assert process.running(), f"the sender ended early:\n{process.output}"
        assert time.monotonic() < deadline, f"nothing received:\n{process.output}"


# --- tests ---------------------------------------------------------------------------------------


def test_japanese_subject_and_body_decode_at_the_server(db_session: Any) -> None:
    subject = "【ひきこもりサポーター】フォローアップ研修のご案内(栃木県)"
    text = "山田 太郎 様\n\n令和8年4月1日(水)10:00〜 宇都宮市総合福祉センターで研修があります。\n"
    html = "<p>山田 太郎 様</p><p>研修のご案内です。①②③ 髙橋 﨑</p>"
    stored = enqueue_mail(
        db_session,
        kind="test",
        recipient="yamada@example.jp",
        subject=subject,
        body_text=text,
        body_html=html,
        domain="supporters.example",
    )
    db_session.commit()
    inbox = Inbox()
    with smtp(inbox) as url:
        assert send_outbox(db_session, mail_url=url, sender=SENDER, now=now_utc()) == 1
    assert len(inbox.raw) == 1
    assert inbox.raw[0].isascii()  # 7-bit clean: survives any relay
    message = inbox.messages[0]
    assert message["Subject"] == subject
    assert message["To"] == "yamada@example.jp"
    assert message["From"].addresses[0].display_name == "ひきこもりサポーター"
    assert message["From"].addresses[0].addr_spec == SENDER
    assert message["Message-ID"] == stored.message_id
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert message.get_body(("html",)).get_content().strip() == html
    db_session.refresh(stored)
    assert stored.status == OutboxStatus.SENT and stored.sent_at is not None
    assert stored.attempts == 1 and stored.lease_until is None


def test_two_sender_processes_send_each_message_once(committed: Flask) -> None:
    ids = queue(committed, 24)
    inbox = Inbox(wait_for_peers=2)  # both senders are mid-batch at the same time
    with smtp(inbox) as url:
        env = flask_env(committed.config["SQLALCHEMY_DATABASE_URI"], MAIL_URL=url)
        with (
            FlaskProcess(["reminders", "run-due"], env) as first,
            FlaskProcess(["reminders", "run-due"], env) as second,
        ):
            assert first.process.wait(60) == 0, first.output
            assert second.process.wait(60) == 0, second.output
    assert len(inbox.peers) == 2  # the two processes really sent side by side
    assert inbox.message_ids() == Counter(ids)  # every message exactly once
    assert states(committed) == {"sent": 24}


def test_a_killed_sender_loses_nothing_and_duplicates_at_most_one(committed: Flask) -> None:
    ids = queue(committed, 6)
    inbox = Inbox(hold=True)
    with smtp(inbox) as url:
        env = flask_env(committed.config["SQLALCHEMY_DATABASE_URI"], MAIL_URL=url)
        with FlaskProcess(["reminders", "run-due"], env) as sender:
            wait_until_received(inbox, sender)  # the first message is in flight
            sender.kill()  # SIGKILL before the server answered 250
        inbox.hold = False
        inbox.release.set()
        assert inbox.message_ids() == Counter(ids[:1])

        # The next pass sends the rest at once; the message in flight is still leased.
        assert send(committed, url) == 5
        assert inbox.message_ids() == Counter(ids)
        assert states(committed) == {"sent": 5, "pending": 1}
        # When its lease has expired, it is sent again: the only duplicate.
        assert send(committed, url, now=now_utc() + LEASE + timedelta(seconds=1)) == 1
    assert inbox.message_ids() == Counter(ids) + Counter(ids[:1])
    assert states(committed) == {"sent": 6}


def test_smtp_down_then_up_is_delivered_when_it_answers_again(db_session: Any) -> None:
    for number in range(3):
        enqueue_mail(
            db_session, kind="test", recipient=f"r{number}@example.jp", subject="s", body_text="b"
        )
    db_session.commit()
    port = _free_port()
    url = f"smtp://127.0.0.1:{port}"
    now = now_utc()
    report = send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now)
    assert (report.sent, report.retrying, report.failed) == (0, 0, 0)
    assert report.transport_down
    rows = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    # The server is down: the pass stops at the first message, which gets its attempt
    # back; the whole queue waits for the transport, not for the message.
    assert [row.attempts for row in rows] == [0, 0, 0]
    assert rows[0].status == "pending" and rows[0].lease_until is None
    assert rows[0].last_error and "Connection" in rows[0].last_error

    inbox = Inbox()
    with smtp(inbox, port):
        # Still inside the queue's wait: nothing is tried.
        assert send_outbox(db_session, mail_url=url, sender=SENDER, now=now) == 0
        later = now + timedelta(minutes=1, seconds=1)
        assert send_outbox(db_session, mail_url=url, sender=SENDER, now=later) == 3
    assert sorted(m["To"] for m in inbox.messages) == [f"r{n}@example.jp" for n in range(3)]
    db_session.refresh(rows[0])
    assert rows[0].status == "sent" and rows[0].attempts == 1


def test_backoff_grows_and_ends_in_failed(db_session: Any) -> None:
    message = enqueue_mail(
        db_session, kind="test", recipient="down@example.jp", subject="s", body_text="b"
    )
    db_session.commit()
    now = now_utc() + timedelta(seconds=5)  # ahead of the real clock: backoffs are exact
    delays = []
    # A 4xx answer about the recipient is about the message: each one spends an attempt.
    with smtp(Inbox(refuse_rcpt={"down@example.jp": "450 4.2.1 Mailbox busy"})) as url:
        for _ in range(MAX_ATTEMPTS):
            now = max(now, message.next_attempt_at)
            send_outbox(db_session, mail_url=url, sender=SENDER, now=now)
            db_session.refresh(message)
            delays.append(message.next_attempt_at - now)
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert message.status == "failed" and message.attempts == MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("refuse", "error"),
    [
        ({"refuse_rcpt": {"nobody@example.jp": "550 5.1.1 No such user"}}, "550"),
        ({"refuse_data": "554 5.6.0 Message rejected"}, "554"),
    ],
    ids=["rcpt-550", "data-554"],
)
def test_a_permanent_rejection_is_failed_not_retried_and_shown_to_admins(
    client: Any, db_session: Any, login_as: Any, refuse: dict[str, Any], error: str
) -> None:
    rejected = enqueue_mail(
        db_session, kind="test", recipient="nobody@example.jp", subject="s", body_text="b"
    )
    db_session.commit()
    inbox = Inbox(**refuse)
    with smtp(inbox) as url:
        report = send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now_utc())
        assert (report.sent, report.failed, report.retrying) == (0, 1, 0)
        db_session.refresh(rejected)
        assert rejected.status == "failed" and rejected.attempts == 1
        assert rejected.last_error and error in rejected.last_error
        # Never retried, however late the next pass.
        later = now_utc() + timedelta(days=30)
        assert send_outbox(db_session, mail_url=url, sender=SENDER, now=later) == 0
    db_session.refresh(rejected)
    assert rejected.attempts == 1 and inbox.raw == []

    login_as(factories.admin(db_session))
    page = client.get("/mail/?status=failed").get_data(as_text=True)
    assert "nobody@example.jp" in page and error in page


def test_a_refused_recipient_does_not_stop_the_others(db_session: Any) -> None:
    for recipient in ("a@example.jp", "nobody@example.jp", "busy@example.jp", "b@example.jp"):
        enqueue_mail(db_session, kind="test", recipient=recipient, subject="s", body_text="b")
    enqueue_mail(db_session, kind="test", recipient=" ", subject="s", body_text="no address")
    db_session.commit()
    inbox = Inbox(
        refuse_rcpt={
            "nobody@example.jp": "550 5.1.1 No such user",
            "busy@example.jp": "450 4.2.1 Mailbox busy, try later",
        }
    )
    now = now_utc()
    with smtp(inbox) as url:
        report = send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now)
    assert (report.sent, report.failed, report.retrying) == (2, 2, 1)
    assert sorted(m["To"] for m in inbox.messages) == ["a@example.jp", "b@example.jp"]
    rows = {row.recipient: row for row in db_session.scalars(select(OutboxMessage))}
    assert rows["nobody@example.jp"].status == "failed"
    assert rows[" "].status == "failed" and rows[" "].last_error == "no e-mail address"
    busy = rows["busy@example.jp"]
    assert busy.status == "pending" and busy.last_error and "450" in busy.last_error
    assert busy.next_attempt_at >= now + retry_delay(1)


def test_a_leased_message_waits_for_its_lease(db_session: Any) -> None:
    message = enqueue_mail(
        db_session, kind="test", recipient="leased@example.jp", subject="s", body_text="b"
    )
    db_session.commit()
    now = now_utc()
    message.lease_until = now + LEASE  # another sender holds it
    message.attempts = 1
    db_session.commit()
    inbox = Inbox()
    with smtp(inbox) as url:
        assert send_outbox(db_session, mail_url=url, sender=SENDER, now=now) == 0
        assert send_outbox(db_session, mail_url=url, sender=SENDER, now=now + LEASE) == 0
        expired = now + LEASE + timedelta(seconds=1)
        assert send_outbox(db_session, mail_url=url, sender=SENDER, now=expired) == 1
    assert len(inbox.raw) == 1
    db_session.refresh(message)
    assert message.status == "sent" and message.attempts == 2


def test_an_interrupted_last_attempt_is_failed(db_session: Any) -> None:
    message = enqueue_mail(
        db_session, kind="test", recipient="poison@example.jp", subject="s", body_text="b"
    )
    db_session.commit()
    message.attempts = MAX_ATTEMPTS
    message.lease_until = now_utc() - timedelta(seconds=1)  # its sender died
    db_session.commit()
    with smtp(Inbox()) as url:
        assert send_outbox(db_session, mail_url=url, sender=SENDER, now=now_utc()) == 0
    db_session.refresh(message)
    assert message.status == "failed" and "last attempt" in (message.last_error or "")


def test_without_smtp_mail_is_kept_once(committed: Flask) -> None:
    ids = queue(committed, 3)
    assert send(committed, None) == 3
    assert send(committed, None) == 0
    assert states(committed) == {"kept": 3}
    with committed.app_context():
        kept = db.session.scalars(select(OutboxMessage.message_id)).all()
        assert sorted(kept) == sorted(ids)
        assert (
            db.session.scalar(select(func.count()).where(OutboxMessage.lease_until.is_not(None)))
            == 0
        )


def test_without_smtp_a_pass_keeps_its_batch_of_due_mail_in_one_statement(
    db_session: Any,
) -> None:
    """The keeping side of a pass: the oldest due messages up to the limit, as claiming them
    one by one did, with one UPDATE however many; leased, not yet due and expired ones are
    left to their own rules, and the rest of the queue waits for the next pass."""
    now = now_utc()
    queued = [
        enqueue_mail(
            db_session, kind="test", recipient=f"k{n}@example.jp", subject=f"s{n}", body_text="b"
        )
        for n in range(6)
    ]
    db_session.commit()
    leased, later, expired = queued[1], queued[3], queued[5]
    leased.lease_until, leased.attempts = now + LEASE, 1  # another sender holds it
    later.next_attempt_at = now + timedelta(hours=1)  # backing off
    expired.expires_at = now - timedelta(seconds=1)  # the event has begun
    db_session.commit()
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "UPDATE OUTBOX_MESSAGE" in statement.upper():
            seen.append(statement)

    engine = db_session.connection().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        report = send_outbox_report(db_session, mail_url=None, sender=SENDER, now=now, limit=2)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (report.kept, report.dropped) == (2, 1)
    # Interrupted last attempts failed, expired ones dropped, the batch kept: one each.
    assert len(seen) == 3
    for message in queued:
        db_session.refresh(message)
    assert [m.status for m in queued] == [
        "kept",
        "pending",
        "kept",
        "pending",
        "pending",
        "dropped",
    ]
    assert queued[0].attempts == 1 and queued[0].lease_until is None  # as a claim counted it
    assert leased.attempts == 1 and leased.lease_until is not None  # untouched
    # The next pass keeps what is left and due; the leased one waits for its lease.
    assert send_outbox(db_session, mail_url=None, sender=SENDER, now=now) == 1
    assert send_outbox(db_session, mail_url=None, sender=SENDER, now=now + LEASE * 2) == 1
    db_session.refresh(leased)
    assert leased.status == "kept" and leased.attempts == 2
    assert send_outbox(db_session, mail_url=None, sender=SENDER, now=now + LEASE * 12) == 1
    db_session.refresh(later)
    assert later.status == "kept"


def test_two_passes_without_smtp_keep_each_message_once(committed: Flask) -> None:
    ids = queue(committed, 300)
    start = threading.Barrier(2)
    kept: list[int] = []

    def one_pass() -> None:
        with committed.app_context():
            start.wait(10)
            kept.append(
                send_outbox(db.session, mail_url=None, sender=SENDER, now=now_utc(), limit=500)
            )
            db.session.remove()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(kept) == 300 and len(kept) == 2
    assert states(committed) == {"kept": 300}
    with committed.app_context():
        attempts = db.session.scalars(select(OutboxMessage.attempts)).all()
        assert set(attempts) == {1}  # each kept once, by one of the passes
        kept_ids = db.session.scalars(select(OutboxMessage.message_id)).all()
        assert sorted(kept_ids) == sorted(ids)
