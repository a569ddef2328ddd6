"""The month view works out each event's line once (issue 17, item 2) and shows it three
times: the grid, the phone's agenda and the table. What each shows, and that the
statements do not grow with the events."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event

from supporters.dispatch import services
from tests import factories

# 2030-05-10 13:00 and 2030-05-17 10:00 Japan time.
FIRST = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)
SECOND = datetime(2030, 5, 17, 1, 0, tzinfo=UTC)


def test_each_event_shows_its_link_time_places_and_shortage_in_all_three_places(
    client: Any, db_session: Any, login_as: Any
) -> None:
    admin = factories.admin_user(db_session)
    short = factories.dispatch_event(db_session, needed=2, starts_at=FIRST)
    asked = factories.dispatch_event(db_session, needed=1, starts_at=SECOND)
    reg = factories.valid_registration(db_session)
    services.assign(db_session, actor=admin, event=asked, registration=reg, now=datetime.now(UTC))
    db_session.commit()
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/dispatch/", query_string={"month": "2030-05"}).get_data(as_text=True)

    def links(event_id: int) -> list[str]:
        return re.findall(rf'<a class="([^"]*)" href="/dispatch/{event_id}">', page)

    # Grid and agenda: the one still short is marked, the one fully asked is not.
    assert links(short.id) == [
        "month__event month__event--short",
        "agenda__event agenda__event--short",
    ]
    assert links(asked.id) == ["month__event", "agenda__event"]
    # The start time under the day (it showed "日） 13", a slice of the long date).
    assert f'href="/dispatch/{short.id}">13:00 佐野市 0/2</a>' in page
    assert (
        f'href="/dispatch/{asked.id}"><span>10:00 出張相談会</span> <span>佐野市 0/1</span>' in page
    )
    # The table: the full date and time, the state in Japanese, the places and the mark.
    row = page[page.index("<h2>") :]
    assert "2030年5月10日（金） 13:00" in row and "2030年5月17日（金） 10:00" in row
    assert row.count('class="row--alert"') == 1 and "募集中" in row
    assert f'href="/dispatch/{short.id}"' in row and f'href="/dispatch/{asked.id}"' in row
    assert "0/2" in row and "回答待ち 1" in row


def test_statements_do_not_grow_with_the_events(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    factories.dispatch_event(db_session, starts_at=FIRST)
    db_session.commit()

    def statements() -> int:
        seen: list[str] = []

        def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement)

        engine = db_session.get_bind()
        sa_event.listen(engine, "before_cursor_execute", listener)
        try:
            response = client.get("/dispatch/", query_string={"month": "2030-05"})
            assert response.status_code == 200
        finally:
            sa_event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    one = statements()
    for day in (11, 12, 13):
        factories.dispatch_event(db_session, starts_at=FIRST.replace(day=day))
    db_session.commit()
    assert statements() == one <= 15
