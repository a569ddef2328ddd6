"""Issue 12, item 8: one failing item never stops a rule, or another rule, in the reminder
pass: it is recorded, tried again by the next pass, and shown on the admin's mail page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.reminders import jobs as reminder_jobs
from supporters.reminders.models import Notification, ReminderFailure, ReminderLedger
from supporters.reminders.rules import Message, decide
from tests import factories

NOW = datetime(2030, 5, 1, 0, 0, tzinfo=UTC)


class Broken:
    """A title that cannot be rendered while `broken` is set (any failure of one item)."""

    broken = True

    def __str__(self) -> str:
        if Broken.broken:
            raise RuntimeError("this reminder cannot be rendered")
        return "直りました"


@pytest.fixture
def rules(db_session: Any) -> Iterator[list[Any]]:
    users = [factories.user(db_session, email=f"fail{n}@example.jp") for n in range(3)]

    def three_items(session: Any, now: datetime) -> int:
        decided = 0
        for n, user in enumerate(users):
            title = Broken() if n == 1 else f"お知らせ {n}"
            message = Message(title=title, lines=["本文"], path="/")
            decided += decide(
                session,
                rule="test_items",
                subject=("user", user.id),
                occurrence="once",
                message=message,
                now=now,
                user=user,
            )
        return decided

    def whole_rule_fails(session: Any, now: datetime) -> int:
        if Broken.broken:
            raise RuntimeError("the rule's query failed")
        return 0

    def after(session: Any, now: datetime) -> int:
        return decide(
            session,
            rule="test_after",
            subject=("user", users[0].id),
            occurrence="once",
            message=Message(title="後のルール", lines=[], path="/"),
            now=now,
            user=users[0],
        )

    Broken.broken = True
    reminder_jobs.RULES = [three_items, whole_rule_fails, after]
    try:
        yield users
    finally:
        reminder_jobs.RULES = None
        Broken.broken = True


def _count(session: Any, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)))


def test_a_failing_item_is_recorded_and_the_rest_goes_on(
    app: Any, db_session: Any, rules: list[Any]
) -> None:
    report = reminder_jobs.run_due(db_session, now=NOW, app_config=app.config)
    names = {name.rsplit(".", 1)[-1]: name for name in report.decided | report.errors}
    assert report.decided[names["three_items"]] == 2  # the first and the third
    assert report.decided[names["after"]] == 1  # a later rule still ran
    assert "the rule's query failed" in report.errors[names["whole_rule_fails"]]
    assert _count(db_session, ReminderLedger, ReminderLedger.rule == "test_items") == 2
    failures = {
        (f.subject_type, f.subject_id): f for f in db_session.scalars(select(ReminderFailure))
    }
    assert failures[("user", rules[1].id)].error.startswith("RuntimeError: this reminder")
    assert failures[("rule", 0)].rule.endswith("whole_rule_fails")

    # The next pass tries again: still failing, counted; then fixed, decided and cleared.
    reminder_jobs.run_due(db_session, now=NOW, app_config=app.config)
    assert (
        db_session.scalar(
            select(ReminderFailure.attempts).where(ReminderFailure.subject_id == rules[1].id)
        )
        == 2
    )
    Broken.broken = False
    report = reminder_jobs.run_due(db_session, now=NOW, app_config=app.config)
    assert report.ok
    assert report.decided[names["three_items"]] == 1
    assert _count(db_session, ReminderFailure) == 0
    assert _count(db_session, Notification, Notification.title == "直りました") == 1


def test_the_admin_sees_the_failures_on_the_mail_page(
    app: Any, client: Any, login_as: Any, db_session: Any, rules: list[Any]
) -> None:
    reminder_jobs.run_due(db_session, now=NOW, app_config=app.config)
    db_session.commit()
    login_as(factories.admin(db_session))
    text = client.get("/mail/").get_data(as_text=True)
    assert "送れなかったリマインダー" in text
    assert "this reminder cannot be rendered" in text
    assert "whole_rule_fails" in text
