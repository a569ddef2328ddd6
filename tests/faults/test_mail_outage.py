"""Mail survives the transport failing: a day-long SMTP outage spends no attempts and loses
nothing; an answer about one message (550) fails that message only; failed mail can be
re-queued by the admin; mail that is no longer useful is dropped with a note."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from supporters.db import now_utc
from supporters.mail.models import OutboxMessage
from supporters.mail.services import (
    TRANSPORT_MAX_DELAY,
    enqueue_mail,
    send_outbox_report,
    transport_delay,
    transport_state,
)
from supporters.reminders.models import ReminderLedger
from tests import factories
from tests.conftest import post_form
from tests.mail_server import _free_port
from tests.reminders.test_outbox import SENDER, Inbox, smtp


def _queue(session: Any, count: int, **kwargs: Any) -> list[OutboxMessage]:
    messages = [
        enqueue_mail(
            session,
            kind="test",
            recipient=f"user{number}@example.jp",
            subject=f"お知らせ {number}",
            body_text=f"本文 {number}",
            **kwargs,
        )
        for number in range(count)
    ]
    session.commit()
    return messages


def test_transport_delay_doubles_up_to_the_cap() -> None:
    assert [transport_delay(n) for n in (1, 2, 3, 4, 5, 6)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 30)
    ]
    assert transport_delay(1000) == TRANSPORT_MAX_DELAY


def test_a_day_long_smtp_outage_loses_nothing_and_spends_no_attempts(db_session: Any) -> None:
    messages = _queue(db_session, 30)
    port = _free_port()
    url = f"smtp://127.0.0.1:{port}"
    start = now_utc() + timedelta(seconds=5)
    connects = 0
    # A pass every five minutes (the reminder pass), a whole day without a server.
    for minute in range(0, 24 * 60, 5):
        report = send_outbox_report(
            db_session, mail_url=url, sender=SENDER, now=start + timedelta(minutes=minute)
        )
        assert report.sent == report.failed == report.retrying == 0
        assert report.transport_down
        state = transport_state(db_session)
        assert state is not None
        connects = state.failures
    # Backing off the queue, capped: about two tries an hour, not one a minute.
    assert 45 <= connects <= 60, connects
    state = transport_state(db_session)
    assert state is not None and state.since is not None and state.since <= start
    assert state.next_try_at is not None
    assert state.next_try_at - state.updated_at == TRANSPORT_MAX_DELAY
    for message in messages:
        db_session.refresh(message)
        assert (message.status, message.attempts) == ("pending", 0)
    assert "unreachable" in (messages[0].last_error or "")

    inbox = Inbox()
    back = start + timedelta(days=1)
    with smtp(inbox, port):
        minute = 0
        while len(inbox.raw) < 30 and minute <= 31:
            send_outbox_report(
                db_session, mail_url=url, sender=SENDER, now=back + timedelta(minutes=minute)
            )
            minute += 1
        # Once more after everything went: nothing is sent twice.
        send_outbox_report(db_session, mail_url=url, sender=SENDER, now=back + timedelta(hours=1))
    assert inbox.message_ids() == Counter(m.message_id for m in messages)
    states = Counter(db_session.scalars(select(OutboxMessage.status)))
    assert states == {"sent": 30}
    state = transport_state(db_session)
    assert state is not None and state.failures == 0 and state.next_try_at is None


def test_a_server_that_cannot_take_mail_now_spends_no_attempts(db_session: Any) -> None:
    """452 (out of storage) after the recipient was accepted: the server's problem."""
    messages = _queue(db_session, 3)
    now = now_utc() + timedelta(seconds=5)
    with smtp(Inbox(refuse_data="452 4.3.1 Insufficient system storage")) as url:
        for hour in range(12):
            report = send_outbox_report(
                db_session, mail_url=url, sender=SENDER, now=now + timedelta(hours=hour)
            )
            assert report.transport_down and report.failed == 0
    for message in messages:
        db_session.refresh(message)
        assert (message.status, message.attempts) == ("pending", 0)
    inbox = Inbox()
    with smtp(inbox) as url:
        send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now + timedelta(days=1))
    assert len(inbox.raw) == 3


def test_a_550_for_one_recipient_fails_that_message_only(db_session: Any) -> None:
    messages = _queue(db_session, 4)
    inbox = Inbox(refuse_rcpt={"user2@example.jp": "550 5.1.1 No such user"})
    with smtp(inbox) as url:
        report = send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now_utc())
    assert (report.sent, report.failed, report.transport_down) == (3, 1, False)
    for message in messages:
        db_session.refresh(message)
    assert [m.status for m in messages] == ["sent", "sent", "failed", "sent"]
    assert "550" in (messages[2].last_error or "")


def test_the_admin_requeues_failed_mail_from_the_mail_page(
    client: Any, db_session: Any, login_as: Any
) -> None:
    now = now_utc()
    [useful, stale] = _queue(db_session, 2)
    stale.expires_at = now - timedelta(hours=1)  # e.g. a reminder about yesterday's dispatch
    for message in (useful, stale):
        message.status = "failed"
        message.attempts = 8
        message.last_error = "ConnectionRefusedError: [Errno 111] Connection refused"
    ledger = ReminderLedger(
        rule="upcoming_dispatch",
        subject_type="assignment",
        subject_id=1,
        recipient="user:1",
        occurrence="d2",
        outbox_message_id=stale.id,
    )
    db_session.add(ledger)
    db_session.commit()
    login_as(factories.admin(db_session))
    page = client.get("/mail/?status=failed").get_data(as_text=True)
    assert "/mail/requeue" in page
    response = post_form(client, "/mail/requeue", {}, form_url="/mail/?status=failed")
    assert response.status_code == 302
    db_session.expire_all()
    assert (useful.status, useful.attempts) == ("pending", 0)
    assert stale.status == "dropped" and "no longer useful" in (stale.last_error or "")
    assert ledger.note and "no longer useful" in ledger.note

    inbox = Inbox()
    with smtp(inbox) as url:
        send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now_utc())
    assert [m["To"] for m in inbox.messages] == ["user0@example.jp"]


def test_mail_that_expires_during_an_outage_is_dropped_with_a_note(db_session: Any) -> None:
    now = now_utc() + timedelta(seconds=5)
    [message] = _queue(db_session, 1, expires_at=now + timedelta(hours=2))
    ledger = ReminderLedger(
        rule="upcoming_dispatch",
        subject_type="assignment",
        subject_id=2,
        recipient="user:1",
        occurrence="morning",
        outbox_message_id=message.id,
    )
    db_session.add(ledger)
    db_session.commit()
    url = f"smtp://127.0.0.1:{_free_port()}"
    # one minute before it expires: still waiting; at and after: dropped, never sent.
    report = send_outbox_report(
        db_session, mail_url=url, sender=SENDER, now=now + timedelta(hours=2, minutes=-1)
    )
    db_session.refresh(message)
    assert message.status == "pending" and report.dropped == 0
    inbox = Inbox()
    with smtp(inbox) as live:
        report = send_outbox_report(
            db_session, mail_url=live, sender=SENDER, now=now + timedelta(hours=2)
        )
    assert report.dropped == 1 and inbox.raw == []
    db_session.refresh(message)
    db_session.refresh(ledger)
    assert message.status == "dropped"
    assert ledger.note and "no longer useful" in ledger.note


def test_web_requests_do_not_wait_for_a_server_known_to_be_down(db_session: Any) -> None:
    """After the scheduler found the server away, a request that queued mail does not try
    it again (a black-holed server would make the user wait for the timeout)."""
    _queue(db_session, 1)
    url = f"smtp://127.0.0.1:{_free_port()}"
    now = now_utc()
    assert send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now).transport_down
    later = now + timedelta(hours=1)  # the queue's wait is over: the scheduler would try
    state = transport_state(db_session)
    assert state is not None
    failures = state.failures
    web = send_outbox_report(
        db_session, mail_url=url, sender=SENDER, now=later, probe_transport=False
    )
    assert web.transport_down and web.sent == 0
    db_session.refresh(state)
    assert state.failures == failures  # not tried
    scheduler = send_outbox_report(db_session, mail_url=url, sender=SENDER, now=later)
    assert scheduler.transport_down
    db_session.refresh(state)
    assert state.failures == failures + 1  # tried


def test_requeued_mail_goes_to_the_corrected_address(
    client: Any, db_session: Any, login_as: Any
) -> None:
    user = factories.supporter(db_session, email="typo@exmaple.jp")
    message = enqueue_mail(
        db_session,
        kind="test",
        recipient=user.email,
        recipient_user_id=user.id,
        subject="s",
        body_text="b",
    )
    db_session.commit()
    inbox = Inbox(refuse_rcpt={"typo@exmaple.jp": "550 5.1.1 No such user"})
    with smtp(inbox) as url:
        send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now_utc())
    db_session.refresh(message)
    assert message.status == "failed"
    user.email = "right@example.jp"  # the coordinator corrects it
    db_session.commit()
    login_as(factories.admin(db_session))
    page = f"/mail/{message.id}"
    response = post_form(client, "/mail/requeue", {"message_id": message.id}, form_url=page)
    assert response.status_code == 302
    with smtp(inbox) as url:
        send_outbox_report(db_session, mail_url=url, sender=SENDER, now=now_utc())
    assert [m["To"] for m in inbox.messages] == ["right@example.jp"]
    db_session.refresh(message)
    assert message.status == "sent"
