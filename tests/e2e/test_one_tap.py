"""One-tap answers on a phone: the link in a reminder mail in the outbox opens, without a
login, a page that confirms the dispatch request; the same link again is refused."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from supporters.db import now_utc
from tests.e2e.conftest import PHONE, Browsing, LiveServer, dispatch_by_service

pytestmark = pytest.mark.browser

TOKYO = ZoneInfo("Asia/Tokyo")


def _mailed_link(server: LiveServer, assignment_id: int, title: str) -> str:
    """Run the reminder rule for requests unanswered for a day; the link in the mail."""
    from supporters.accounts.models import User
    from supporters.dispatch.jobs import unconfirmed_assignment
    from supporters.dispatch.models import Assignment
    from supporters.mail.models import OutboxMessage

    with server.app_context() as session:
        assignment = session.get(Assignment, assignment_id)
        assert assignment is not None
        assignment.created_at = now_utc() - timedelta(days=2)
        session.flush()
        assert unconfirmed_assignment(session, now_utc()) >= 1
        session.commit()
        user = session.scalar(select(User).where(User.person_id == assignment.person_id))
        assert user is not None
        mails = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient_user_id == user.id)
        ).all()
        mail = next(m for m in mails if title in m.subject)
        found = re.search(re.escape(server.url) + r"/a/[A-Za-z0-9_-]+", mail.body_text)
        assert found, mail.body_text
        return found.group(0)


def _state(server: LiveServer, assignment_id: int) -> str:
    from supporters.dispatch.models import Assignment

    with server.app_context() as session:
        assignment = session.get(Assignment, assignment_id)
        assert assignment is not None
        return str(assignment.state)


def test_confirming_from_the_mail_on_a_phone_without_logging_in(
    browsing: Browsing, live_server: LiveServer
) -> None:
    title = f"出張相談会 ワンタップ {datetime.now(TOKYO):%H%M%S}"
    day = datetime.now(TOKYO).date() + timedelta(days=12)
    while day.weekday() >= 5:  # a weekday: the demo's supporter-run places meet on Saturdays
        day += timedelta(days=1)
    # An evening, clear of the demo's daytime dispatches and of the other journeys' events.
    assignment_id = dispatch_by_service(
        live_server,
        supporter_email="supporter.tochigi@demo.example",
        program_code="tochigi",
        place="佐野市",
        venue="佐野市保健センター 相談室",
        title=title,
        starts_at=datetime.combine(day, time(18), TOKYO),
        hours=2,
        activity="sitting_in",
    )
    link = _mailed_link(live_server, assignment_id, title)

    page = browsing.new_page(PHONE)  # a phone that never logged in
    page.goto(link)
    main = page.locator("main")
    assert title in main.inner_text()
    assert "佐野市保健センター 相談室" in main.inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the answer page scrolls sideways by {overflow}px on a phone"
    assert _state(live_server, assignment_id) == "assigned"  # opening it changed nothing

    with page.expect_navigation():
        page.locator("main form button", has_text="確定").click()
    assert "参加が確定しました" in " ".join(page.locator(".flash--success").all_inner_texts())
    assert _state(live_server, assignment_id) == "confirmed"

    # The same link again: already used, and the login is offered.
    page.goto(link)
    assert "このリンクは、すでに使われています。" in main.inner_text()
    assert title not in main.inner_text()
    assert page.locator("main a[href^='/login']").count() == 1
    assert _state(live_server, assignment_id) == "confirmed"
