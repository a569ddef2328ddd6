"""The calendar feed's text for phones (issue 18): each event says the supporter's role and
what to bring, a request that ended unanswered is not left TENTATIVE, and the calendar page
offers a webcal:// subscription and a QR code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import vobject

from supporters.dispatch import calendar as feeds
from supporters.dispatch import services
from tests import factories
from tests.conftest import post_form

START = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)


def _supporter(db_session: Any) -> Any:
    registration = factories.valid_registration(db_session)
    user = factories.supporter(db_session, program_code=registration.program.code)
    user.person_id = registration.person_id
    db_session.flush()
    return user, registration


def _vevent(assignment: Any, *, now: datetime) -> Any:
    body = feeds.build_calendar([assignment], base_url="http://localhost", domain="x", now=now)
    return vobject.readOne(body.decode()).vevent


def test_description_names_the_role_and_what_to_bring(db_session: Any) -> None:
    _, registration = _supporter(db_session)
    event = factories.dispatch_event(db_session, starts_at=START)
    event.bring = "筆記用具"
    event.notes = "開始15分前に集合"
    admin = factories.admin_user(db_session)
    assignment = services.assign(
        db_session, actor=admin, event=event, registration=registration, now=START - timedelta(7)
    )
    db_session.flush()

    vevent = _vevent(assignment, now=START - timedelta(days=1))
    assert vevent.description.value.splitlines() == [
        "役割: 出張相談会への同席",
        "持ち物: 筆記用具",
        "開始15分前に集合",
        "http://localhost/schedule",
    ]
    assert vevent.status.value == "TENTATIVE"  # asked, not answered yet

    ended = _vevent(assignment, now=event.ends_at + timedelta(minutes=1))
    assert ended.status.value == "CANCELLED"  # never answered: it did not take place for them
    assert not hasattr(ended, "valarm")

    services.answer_assignment(
        db_session, actor=admin, assignment=assignment, accept=True, now=START - timedelta(2)
    )
    db_session.flush()
    assert _vevent(assignment, now=event.ends_at + timedelta(days=1)).status.value == "CONFIRMED"


def test_calendar_page_offers_webcal_and_a_qr_code(
    client: Any, db_session: Any, login_as: Any
) -> None:
    user, _ = _supporter(db_session)
    db_session.commit()
    login_as(user)
    first = client.get("/schedule/calendar").get_data(as_text=True)
    assert "webcal://" not in first and "<details" not in first
    page = post_form(client, "/schedule/calendar", {}).get_data(as_text=True)
    link = re.search(r'value="http://localhost(/calendar/[^"]+\.ics)"', page)
    assert link is not None
    assert f'href="webcal://localhost{link.group(1)}"' in page
    assert 'src="data:image/svg+xml' in page
    assert 'data-copy="feed-link"' in page
    # Replacing the address again is behind a disclosure, not the page's main button.
    assert re.search(r"<details class=\"replace-feed\">.*<form method=\"post\">", page, re.S)
