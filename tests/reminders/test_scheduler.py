"""The scheduler: every job under a stable id, jobs that commit at the edge, one scheduler
at a time (advisory lock on PostgreSQL, lock file on SQLite), and `reminders run-due`."""

from __future__ import annotations

import logging
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from supporters import create_app
from supporters import scheduler as scheduler_module
from supporters.extensions import db
from supporters.mail.models import OutboxMessage
from supporters.mail.services import enqueue_mail
from supporters.reminders import jobs
from supporters.reminders.cli import reminders_cli
from supporters.scheduler import (
    LOCK_CLASS,
    FileLock,
    PostgresAdvisoryLock,
    SchedulerLockLost,
    build_scheduler,
    run_job,
    sqlite_lock_path,
)
from tests.conftest import make_test_config
from tests.reminders import FlaskProcess, flask_env


@pytest.fixture
def rules(monkeypatch: pytest.MonkeyPatch) -> list[jobs.Rule]:
    """An empty, private `RULES` list for the test to plug rules into."""
    replacement: list[jobs.Rule] = []
    monkeypatch.setattr(jobs, "RULES", replacement)
    return replacement


def outbox_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(OutboxMessage.id))) or 0)


def idempotent_rule(session: Any, now: datetime) -> int:
    """A rule as the real ones will be: decide once, queue in the caller's transaction."""
    key = f"test-{now:%Y%m%d}"
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == key)):
        return 0
    enqueue_mail(session, kind=key, recipient="rule@example.jp", subject="件名", body_text="本文")
    return 1


def broken_rule(session: Any, now: datetime) -> int:
    enqueue_mail(session, kind="broken", recipient="x@example.jp", subject="s", body_text="b")
    raise RuntimeError("this rule is broken")


def test_every_job_is_registered_under_a_stable_id() -> None:
    app = create_app(make_test_config("sqlite://"))
    scheduler = build_scheduler(app)
    assert str(scheduler.timezone) == "Asia/Tokyo"
    found = {job.id: job for job in scheduler.get_jobs()}
    assert set(found) == {"reminders.run_due", "outbox.send", "registry.refresh_statuses"}
    assert found["reminders.run_due"].trigger.interval == timedelta(minutes=5)
    assert found["outbox.send"].trigger.interval == timedelta(minutes=1)
    assert found["registry.refresh_statuses"].trigger.interval == timedelta(hours=1)
    assert found["registry.refresh_statuses"].func is scheduler_module.refresh_statuses_job
    for job in found.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == job.trigger.interval.total_seconds()
        assert job.args == (app,)
    assert found["reminders.run_due"].func is scheduler_module.run_due_job
    assert found["outbox.send"].func is scheduler_module.send_outbox_job
    # A second build gives the same ids: registering again replaces, never duplicates.
    assert {job.id for job in build_scheduler(app).get_jobs()} == set(found)


def test_creating_the_app_starts_no_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    from apscheduler.schedulers.base import BaseScheduler

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("a scheduler was started outside `scheduler run`")

    monkeypatch.setattr(BaseScheduler, "start", refuse)
    app = create_app(make_test_config("sqlite://"))  # as each gunicorn worker does
    assert app.test_client().get("/login").status_code == 200


def test_a_job_commits_at_the_edge_and_rolls_back_on_error(
    committed: Flask, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def good(session: Any, now: datetime, config: Any) -> int:
        enqueue_mail(session, kind="job", recipient="a@example.jp", subject="s", body_text="b")
        return 1

    def bad(session: Any, now: datetime, config: Any) -> int:
        enqueue_mail(session, kind="job", recipient="b@example.jp", subject="s", body_text="b")
        raise RuntimeError("boom")

    # Running the migrations (alembic's fileConfig) disables loggers that already exist.
    monkeypatch.setattr(logging.getLogger("supporters.scheduler"), "disabled", False)
    assert run_job(committed, "test.good", good) == 1
    with caplog.at_level(logging.ERROR, logger="supporters.scheduler"):
        assert run_job(committed, "test.bad", bad) is None
    assert "job test.bad failed" in caplog.text and "boom" in caplog.text
    with committed.app_context():
        assert db.session.scalars(select(OutboxMessage.recipient)).all() == ["a@example.jp"]


def test_the_jobs_run_every_rule_then_send_and_are_idempotent(
    committed: Flask, rules: list[jobs.Rule]
) -> None:
    rules.extend([broken_rule, idempotent_rule])
    report = scheduler_module.run_due_job(committed)
    assert report is not None
    assert report.decided == {f"{__name__}.idempotent_rule": 1}
    assert "this rule is broken" in report.errors[f"{__name__}.broken_rule"]
    assert report.outbox.kept == 1  # no SMTP configured: kept for the admin's mail view
    assert "1 reminder(s) decided" in report.summary()
    again = scheduler_module.run_due_job(committed)
    assert again is not None and again.decided == {f"{__name__}.idempotent_rule": 0}
    assert outbox_count(committed) == 1  # the broken rule's message was rolled back

    with committed.app_context():
        enqueue_mail(db.session, kind="x", recipient="c@example.jp", subject="s", body_text="b")
        db.session.commit()
    assert scheduler_module.send_outbox_job(committed) == 1
    assert scheduler_module.send_outbox_job(committed) == 0


def test_run_due_now_is_tokyo_time_unless_an_offset_is_given(
    committed: Flask, rules: list[jobs.Rule]
) -> None:
    seen: list[datetime] = []
    rules.append(lambda session, now: seen.append(now) or 0)
    runner = committed.test_cli_runner()
    for value in ("2026-04-01T09:00", "2026-04-01", "2026-04-01T00:00:00Z"):
        result = runner.invoke(reminders_cli, ["run-due", "--now", value])
        assert result.exit_code == 0, result.output
    assert seen == [
        datetime(2026, 4, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 31, 15, 0, tzinfo=UTC),
        datetime(2026, 4, 1, 0, 0, tzinfo=UTC),
    ]
    assert (
        "2026-04-01T09:00:00+09:00"
        in runner.invoke(reminders_cli, ["run-due", "--now", "2026-04-01T09:00"]).output
    )


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday", "2026-04-01T25:00", ""])
def test_run_due_refuses_a_malformed_now_and_writes_nothing(
    committed: Flask, rules: list[jobs.Rule], value: str
) -> None:
    rules.append(idempotent_rule)
    result = committed.test_cli_runner().invoke(reminders_cli, ["run-due", "--now", value])
    assert result.exit_code == 2
    assert "Invalid value for '--now'" in result.output
    assert "ISO 8601" in result.output and "2026-04-01T09:00" in result.output
    assert outbox_count(committed) == 0


def test_run_due_exits_1_when_a_rule_fails(committed: Flask, rules: list[jobs.Rule]) -> None:
    rules.extend([broken_rule, idempotent_rule])
    result = committed.test_cli_runner().invoke(reminders_cli, ["run-due"])
    assert result.exit_code == 1
    assert "broken_rule failed: RuntimeError: this rule is broken" in result.output
    assert outbox_count(committed) == 1  # the other rule's reminder is kept


def _lock_for(app: Flask) -> PostgresAdvisoryLock | FileLock:
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresAdvisoryLock(url)
    return FileLock(sqlite_lock_path(app, url))


def test_only_one_scheduler_runs_and_a_second_one_waits(committed: Flask) -> None:
    env = flask_env(committed.config["SQLALCHEMY_DATABASE_URI"])
    args = ["scheduler", "run", "--lock-poll", "0.2"]
    with FlaskProcess(args, env) as first:
        assert first.wait_for("acquired the scheduler lock"), first.output
        assert first.wait_for("scheduler started"), first.output
        with FlaskProcess(args, env) as second:
            assert second.wait_for("waiting for the scheduler lock"), second.output
            probe = _lock_for(committed)  # a third contender, from this process
            try:
                assert probe.try_acquire() is False
            finally:
                probe.release()
            assert first.running() and second.running()
            assert "acquired the scheduler lock" not in second.output
            assert first.wait_for("job reminders.run_due")  # the holder runs its jobs

            assert first.stop() == 0  # SIGTERM: jobs finish, the lock is released
            assert "lock released" in first.output
            assert second.wait_for("acquired the scheduler lock"), second.output
            assert second.stop() == 0
    with committed.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":  # the lock file lies next to the database file
        assert sqlite_lock_path(committed, url) == Path(f"{url.database}.scheduler.lock")
        assert sqlite_lock_path(committed, url).exists()
    probe = _lock_for(committed)
    try:
        assert probe.try_acquire() is True  # both gone: the lock is free
    finally:
        probe.release()


def test_tokyo_is_the_scheduler_timezone() -> None:
    app = create_app(make_test_config("sqlite://"))
    job = next(iter(build_scheduler(app).get_jobs()))
    assert job.trigger.timezone == ZoneInfo("Asia/Tokyo")


def test_a_scheduler_that_loses_its_postgresql_lock_stops(
    committed: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the lock connection dies, the lock is gone and another scheduler may take over:
    this one must stop instead of running beside it."""
    with committed.app_context():
        url = db.engine.url
        if url.get_backend_name() != "postgresql":
            pytest.skip("advisory locks are PostgreSQL's")
        schema = str(db.session.scalar(sa.text("SELECT current_schema()")))
        db.session.rollback()
    monkeypatch.setattr(scheduler_module, "LOCK_CHECK_INTERVAL", timedelta(seconds=0.2))
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            scheduler_module.run_scheduler(committed, poll_seconds=0.1)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, name="test-scheduler")
    thread.start()
    try:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            holder = None
            deadline = time.monotonic() + 8
            while holder is None and time.monotonic() < deadline:
                holder = connection.scalar(
                    sa.text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND classid::bigint = :k1 AND objid::bigint = :k2 AND objsubid = 2"
                    ),
                    {"k1": LOCK_CLASS, "k2": zlib.crc32(schema.encode()) & 0x7FFFFFFF},
                )
                connection.rollback()
                time.sleep(0.05)
            assert holder is not None, "the scheduler never took its lock"
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
            connection.commit()
        engine.dispose()
        thread.join(8)
        assert not thread.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], SchedulerLockLost)
    finally:
        if thread.is_alive():  # never leave a scheduler running behind the test
            thread.join(10)
