"""Essential reminders survive a long outage: a lapse notice that fell due while the
scheduler was away is sent when it returns, late and with its date, however long it was
away; without any earlier pass (a new installation) it still reaches back 7 days only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from supporters.mail.models import OutboxMessage
from supporters.registry import jobs as registry_jobs
from supporters.reminders import jobs
from supporters.reminders.models import ReminderLedger
from supporters.reminders.rules import last_pass_of
from tests import factories


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 0, tzinfo=UTC)  # 09:00 in Japan


@pytest.fixture
def lapsing(db_session: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A Tochigi registration valid until 2023-07-20 (lapsed from 2023-07-21)."""
    monkeypatch.setattr(jobs, "RULES", [registry_jobs.follow_up_due])
    registration = factories.registration(db_session, on=date(2020, 7, 20), email="l@example.jp")
    assert registration.valid_until == date(2023, 7, 20)
    db_session.commit()
    return registration


def _lapse_notices(db_session: Any) -> list[ReminderLedger]:
    return list(db_session.scalars(select(ReminderLedger).where(ReminderLedger.rule == "lapse")))


def test_a_lapse_during_a_six_week_outage_is_told_when_the_scheduler_returns(
    app: Flask, db_session: Any, lapsing: Any
) -> None:
    jobs.run_due(db_session, now=_at(date(2023, 7, 19)), app_config=app.config)
    assert last_pass_of(db_session, "follow_up_due") == _at(date(2023, 7, 19))
    assert _lapse_notices(db_session) == []
    # The scheduler is away until 2023-08-30: 40 days after the lapse.
    jobs.run_due(db_session, now=_at(date(2023, 8, 30)), app_config=app.config)
    [notice] = _lapse_notices(db_session)
    assert notice.occurrence == "2023-07-20:lapse"
    mail = db_session.get(OutboxMessage, notice.outbox_message_id)
    assert mail.recipient == "l@example.jp"
    assert "2023" in mail.body_text or "令和5" in mail.body_text  # with its date
    # Told once, however many passes follow.
    jobs.run_due(db_session, now=_at(date(2023, 8, 31)), app_config=app.config)
    assert len(_lapse_notices(db_session)) == 1


@pytest.mark.parametrize(
    ("day", "told"),
    [(date(2023, 7, 26), True), (date(2023, 7, 27), True), (date(2023, 7, 28), False)],
    ids=["day-before", "on", "day-after"],
)
def test_without_an_earlier_pass_the_catch_up_is_seven_days(
    app: Flask, db_session: Any, lapsing: Any, day: date, told: bool
) -> None:
    assert last_pass_of(db_session, "follow_up_due") is None
    jobs.run_due(db_session, now=_at(day), app_config=app.config)
    assert bool(_lapse_notices(db_session)) is told


def test_lapses_before_the_last_pass_are_not_raked_up(
    app: Flask, db_session: Any, lapsing: Any
) -> None:
    """A pass on 2023-09-01 ran (and the lapse was older than its window then): a pass
    later does not dig it up."""
    jobs.run_due(db_session, now=_at(date(2023, 9, 1)), app_config=app.config)
    jobs.run_due(db_session, now=_at(date(2023, 12, 1)), app_config=app.config)
    assert _lapse_notices(db_session) == []
