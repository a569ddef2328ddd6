"""One scheduler, also when its lock connection dies: the scheduler that lost its
PostgreSQL advisory lock (connection killed with pg_terminate_backend, or the lock gone
behind its back) runs no further job, commits no rule and sends no further message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from supporters.extensions import db
from supporters.mail.models import OutboxMessage, ServiceState
from supporters.mail.services import enqueue_mail
from supporters.reminders import jobs
from supporters.scheduler import (
    FENCE,
    PostgresAdvisoryLock,
    SchedulerLockLost,
    ensure_active,
    heartbeat,
    run_due_job,
    send_outbox_job,
)
from tests.conftest import build_migrated_app
from tests.reminders.test_outbox import Inbox, smtp


@pytest.fixture(scope="module")
def pg_app(schema_factory: Any) -> Iterator[Flask]:
    app = build_migrated_app(schema_factory.url("postgresql", "lock"))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def held(pg_app: Flask) -> Iterator[tuple[PostgresAdvisoryLock, list[SchedulerLockLost]]]:
    """This process holds the scheduler lock and acts under it, as `scheduler run` does."""
    with pg_app.app_context():
        db.session.execute(sa.delete(OutboxMessage))
        db.session.commit()
        lock = PostgresAdvisoryLock(db.engine.url)
    assert lock.try_acquire()
    lost: list[SchedulerLockLost] = []
    FENCE.arm(lock, lost.append)
    try:
        yield lock, lost
    finally:
        FENCE.disarm(wait=5)
        lock.release()


def _kill(pg_app: Flask, pid: int) -> None:
    with pg_app.app_context():
        db.session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        db.session.commit()


def _queue(app: Flask, count: int) -> None:
    with app.app_context():
        for number in range(count):
            enqueue_mail(
                db.session, kind="t", recipient=f"s{number}@example.jp", subject="s", body_text="b"
            )
        db.session.commit()


def _statuses(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts).order_by(OutboxMessage.id)
        ).all()
        db.session.rollback()
        return [(status, attempts) for status, attempts in rows]


def test_a_killed_lock_connection_stops_every_job_before_it_acts(
    pg_app: Flask, held: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock, lost = held
    ran: list[datetime] = []

    def rule(session: Any, now: datetime) -> int:
        ran.append(now)
        enqueue_mail(session, kind="rule", recipient="r@example.jp", subject="s", body_text="b")
        return 1

    monkeypatch.setattr(jobs, "RULES", [rule])
    _queue(pg_app, 3)
    ensure_active()  # held: no error
    assert lock.connection is not None
    _kill(pg_app, int(lock.connection.scalar(sa.text("SELECT pg_backend_pid()"))))

    inbox = Inbox()
    with smtp(inbox) as url:
        pg_app.config["MAIL_URL"] = url
        try:
            assert run_due_job(pg_app) is None
            assert send_outbox_job(pg_app) is None
        finally:
            pg_app.config["MAIL_URL"] = None
    assert ran == [] and inbox.raw == []
    assert _statuses(pg_app) == [("pending", 0)] * 3
    assert len(lost) == 1  # told once: the scheduler shuts down
    with pytest.raises(SchedulerLockLost, match="connection is gone"):
        ensure_active()


def test_a_lock_lost_mid_pass_sends_nothing_further(pg_app: Flask, held: Any) -> None:
    lock, lost = held
    _queue(pg_app, 4)
    assert lock.connection is not None
    pid = int(lock.connection.scalar(sa.text("SELECT pg_backend_pid()")))

    class KillOnFirst(Inbox):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if not self.raw:  # the connection dies while the first message is in flight
                _kill(pg_app, pid)
            return await super().handle_DATA(server, session, envelope)

    inbox = KillOnFirst()
    with smtp(inbox) as url:
        pg_app.config["MAIL_URL"] = url
        try:
            assert send_outbox_job(pg_app) is None
        finally:
            pg_app.config["MAIL_URL"] = None
    assert len(inbox.raw) == 1  # the one in flight went; nothing after the loss
    assert _statuses(pg_app) == [("sent", 1)] + [("pending", 0)] * 3
    assert len(lost) == 1


def test_a_lock_released_behind_its_back_is_noticed(pg_app: Flask, held: Any) -> None:
    lock, lost = held
    assert lock.connection is not None and lock.key is not None
    lock.connection.execute(
        sa.text("SELECT pg_advisory_unlock(:k1, :k2)"), {"k1": lock.key[0], "k2": lock.key[1]}
    )
    with pytest.raises(SchedulerLockLost, match="no longer held"):
        ensure_active()
    assert len(lost) == 1


def test_the_heartbeat_is_recorded_for_healthz(pg_app: Flask) -> None:
    heartbeat(pg_app)
    with pg_app.app_context():
        row = db.session.get(ServiceState, "scheduler")
        assert row is not None and row.detail and row.detail.startswith("pid ")
        db.session.rollback()
    report = pg_app.test_client().get("/healthz").get_json()
    assert report["scheduler"]["age_seconds"] < 60
