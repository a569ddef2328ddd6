"""A reminder pass costs O(due): the statements a rule sends do not grow with the number of
reminders it decides (issue 17, item 5)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select

from supporters.dispatch import jobs as dispatch_jobs
from supporters.dispatch import services as dispatch
from supporters.mail.links import ANSWER_ASSIGNMENT, AnswerLink, find_link
from supporters.mail.models import OutboxMessage
from supporters.registry import jobs as registry_jobs
from supporters.reminders.models import Notification, ReminderFailure, ReminderLedger
from supporters.training import jobs as training_jobs
from supporters.training.services.enrolments import enrol_person
from tests import factories

START = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)  # 13:00 in Japan


@contextmanager
def _counting(db_session: Any) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = db_session.connection().engine

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _statements(db_session: Any, rule: Callable[[Any, datetime], int], now: datetime) -> int:
    with _counting(db_session) as seen:
        rule(db_session, now)
        db_session.flush()
    return len(seen)


def _world(db_session: Any, n: int) -> dict[str, Any]:
    """n supporters whose follow-up falls due, n assignments two days ahead and n trainees
    enrolled in a session a week ahead; every other one with an account."""
    coordinator = factories.coordinator(db_session, email="co@example.jp")
    lapsing = []
    for i in range(n):
        registration = factories.registration(
            db_session, on=date(2020, 7, 20), name=f"更新 {i}", email=f"fu{i}@example.jp"
        )
        if i % 2:
            user = factories.supporter(db_session, email=f"fu-user{i}@example.jp")
            user.person_id = registration.person_id
        lapsing.append(registration)
    for i in range(n):
        if i % 10 == 0:  # at most 20 places an event
            event = factories.dispatch_event(db_session, starts_at=START, needed=10)
        registration = factories.valid_registration(db_session, n=i)
        if i % 2:  # their reminders carry a one-tap answer link
            user = factories.supporter(db_session, email=f"as-user{i}@example.jp", password=None)
            user.person_id = registration.person_id
        dispatch.assign(
            db_session,
            actor=coordinator,
            event=event,
            registration=registration,
            now=START - timedelta(days=9),
        )
    course = factories.course(db_session, topics=("基礎",), on=date(2030, 6, 10))
    for i in range(n):
        person = factories.person(db_session, email=f"t{i}@example.jp", residence="高松市")
        enrol_person(
            db_session,
            actor=None,
            course=course,
            person=person,
            now=datetime(2030, 5, 1, tzinfo=UTC),
        )
    db_session.flush()
    return {"coordinator": coordinator}


def _cost(db_session: Any, n: int) -> dict[str, tuple[int, int, int]]:
    """Per rule: statements of the first pass, of the second pass, reminders decided."""
    _world(db_session, n)
    passes = {
        "follow_up_due": (registry_jobs.follow_up_due, datetime(2023, 7, 13, 0, tzinfo=UTC)),
        "upcoming_dispatch": (dispatch_jobs.upcoming_dispatch, START - timedelta(hours=40)),
        "unconfirmed_assignment": (
            dispatch_jobs.unconfirmed_assignment,
            START - timedelta(hours=40),
        ),
        "training_session": (training_jobs.training_session, datetime(2030, 6, 3, tzinfo=UTC)),
    }
    cost = {}
    for name, (rule, now) in passes.items():
        before = db_session.scalar(select(func.count()).select_from(ReminderLedger))
        first = _statements(db_session, rule, now)
        after = db_session.scalar(select(func.count()).select_from(ReminderLedger))
        second = _statements(db_session, rule, now)
        again = db_session.scalar(select(func.count()).select_from(ReminderLedger))
        assert again == after  # the second pass decides nothing
        cost[name] = (first, second, after - before)
    return cost


def test_statements_per_pass_do_not_grow_with_the_reminders(db_session: Any) -> None:
    small = _cost(db_session, 10)
    db_session.rollback()
    large = _cost(db_session, 200)
    for name in small:
        first_small, second_small, decided_small = small[name]
        first_large, second_large, decided_large = large[name]
        assert decided_small >= 10 and decided_large >= 200, name
        assert (first_small, second_small) == (first_large, second_large), (name, small, large)
        assert first_large <= 25, (name, first_large)
    # Rules that exclude the ledger in SQL read nothing more on the second pass: their
    # candidate query comes back empty (3 statements: programs, last pass, candidates).
    assert large["follow_up_due"][1] == 3, large
    assert large["upcoming_dispatch"][1] == 1, large


def test_a_batch_writes_the_same_rows_as_one_by_one(db_session: Any) -> None:
    _world(db_session, 3)
    registry_jobs.follow_up_due(db_session, datetime(2023, 7, 13, 0, tzinfo=UTC))
    rows = list(
        db_session.execute(
            select(ReminderLedger, OutboxMessage)
            .outerjoin(OutboxMessage, OutboxMessage.id == ReminderLedger.outbox_message_id)
            .where(ReminderLedger.rule == "follow_up_due")
            .order_by(ReminderLedger.id)
        )
    )
    assert len(rows) == 3
    with_account = [ledger for ledger, _mail in rows if ledger.recipient.startswith("user:")]
    assert len(with_account) == 1
    for _ledger, mail in rows:
        assert mail is not None and "令和5年7月20日" in mail.subject
        assert mail.kind == "follow_up_due"
    notes = db_session.scalar(select(func.count()).select_from(Notification))
    assert notes == 1 + 1  # the supporter with an account, and the coordinator's digest


def test_one_tap_links_are_written_with_their_batch(db_session: Any) -> None:
    """A reminder with a one-tap link is decided in its batch like the others (the link once
    flushed the batch's mail early, the batch failed on its own Message-IDs and every
    reminder was decided one by one), and its link answers for it."""
    _world(db_session, 20)
    now = START - timedelta(hours=40)
    statements = _statements(db_session, dispatch_jobs.unconfirmed_assignment, now)
    assert statements <= 25
    assert db_session.scalar(select(func.count()).select_from(ReminderFailure)) == 0
    rows = db_session.execute(
        select(ReminderLedger, OutboxMessage)
        .join(OutboxMessage, OutboxMessage.id == ReminderLedger.outbox_message_id)
        .where(ReminderLedger.rule == "unconfirmed_assignment")
    ).all()
    assert len(rows) == 20
    with_link = 0
    for ledger, mail in rows:
        found = re.search(r"/a/([A-Za-z0-9_-]+)", mail.body_text)
        if not ledger.recipient.startswith("user:"):
            assert found is None
            continue
        with_link += 1
        assert found is not None and found.group(0) in (mail.body_html or "")
        link = find_link(db_session, found.group(1))
        assert link is not None
        assert (link.purpose, link.subject_id) == (ANSWER_ASSIGNMENT, ledger.subject_id)
        assert f"user:{link.user_id}" == ledger.recipient
    assert with_link == 10
    assert db_session.scalar(select(func.count()).select_from(AnswerLink)) == 10
