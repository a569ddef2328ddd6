"""`reminders run-due --dry-run` writes nothing; a `--now` in the future acts only with
`--force` (the probe: `--now` two weeks ahead mailed 17 dispatch reminders early)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from supporters.db import now_utc
from supporters.dispatch import services as dispatch
from supporters.extensions import db
from supporters.mail.models import OutboxMessage
from supporters.mail.services import enqueue_mail
from supporters.reminders.cli import reminders_cli
from supporters.reminders.models import ReminderLedger
from tests import factories


def snapshot(session: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table in db.metadata.sorted_tables:
        rows = session.execute(sa.select(table)).all()
        tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def _world(session: Any, start: Any) -> None:
    """A supporter signed up for a dispatch at `start`, and one message waiting."""
    event = factories.dispatch_event(session, starts_at=start)
    registration = factories.valid_registration(session)
    user = factories.supporter(session, program_code="tochigi", email="dry@example.jp")
    user.person_id = registration.person_id
    session.flush()
    dispatch.sign_up(session, actor=user, event=event, registration=registration, now=now_utc())
    enqueue_mail(
        session, kind="test", recipient="queued@example.jp", subject="待機中", body_text="b"
    )
    session.commit()


def test_a_dry_run_on_a_future_date_shows_the_reminders_and_writes_nothing(
    app: Flask, db_session: Any
) -> None:
    start = now_utc() + timedelta(days=14)
    _world(db_session, start)
    before = snapshot(db_session)
    when = (start - timedelta(days=1)).isoformat()
    result = app.test_cli_runner().invoke(reminders_cli, ["run-due", "--now", when, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "DRY RUN" in result.output
    assert "upcoming_dispatch assignment:" in result.output
    assert "mail to dry@example.jp" in result.output
    assert "to queued@example.jp: 待機中" in result.output
    db_session.expire_all()
    assert snapshot(db_session) == before


@pytest.mark.parametrize(
    ("ahead", "acts"),
    [(timedelta(minutes=4), True), (timedelta(minutes=6), False), (timedelta(days=14), False)],
    ids=["inside-tolerance", "just-after", "two-weeks"],
)
def test_now_in_the_future_is_refused_without_force(
    app: Flask, db_session: Any, ahead: timedelta, acts: bool
) -> None:
    start = now_utc() + timedelta(days=15)
    _world(db_session, start)
    before = snapshot(db_session)
    when = (now_utc() + ahead).isoformat()
    result = app.test_cli_runner().invoke(reminders_cli, ["run-due", "--now", when])
    db_session.expire_all()
    if acts:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2
    assert "is in the future" in result.output and "--dry-run" in result.output
    assert snapshot(db_session) == before


def test_force_acts_on_a_future_date(app: Flask, db_session: Any) -> None:
    start = now_utc() + timedelta(days=14)
    _world(db_session, start)
    when = (start - timedelta(days=1)).isoformat()
    result = app.test_cli_runner().invoke(reminders_cli, ["run-due", "--now", when, "--force"])
    assert result.exit_code == 0, result.output
    rules = db_session.scalars(sa.select(ReminderLedger.rule)).all()
    assert "upcoming_dispatch" in rules
    assert db_session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) >= 2


def test_a_rule_that_commits_cannot_write_in_a_dry_run(
    app: Flask, db_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supporters.reminders import jobs

    def committing_rule(session: Any, now: Any) -> int:
        enqueue_mail(session, kind="x", recipient="c@example.jp", subject="s", body_text="b")
        session.commit()
        return 1

    monkeypatch.setattr(jobs, "RULES", [committing_rule])
    before = snapshot(db_session)
    result = app.test_cli_runner().invoke(reminders_cli, ["run-due", "--dry-run"])
    assert result.exit_code == 1
    assert "a dry run never commits" in result.output
    db_session.expire_all()
    assert snapshot(db_session) == before
