"""The start page of each role: counts with links, and a constant number of queries."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from supporters.dispatch import services as dispatch
from supporters.dispatch.models import Assignment
from supporters.registry import services as registry
from supporters.training.services.enrolments import enrol_person
from tests import factories
from tests.reports.conftest import counting_queries

_serial = iter(range(100, 100_000))


def _counts(page: str, scope: str | None = None) -> dict[str, int]:
    """data-action counts on the page, or inside the card that `scope` opens."""
    start = page.index(scope) if scope else 0
    end = page.find("</section>", start) if scope else len(page)
    return {
        key: int(value)
        for key, value in re.findall(r'data-action="(\w+)" data-count="(\d+)"', page[start:end])
    }


def _needs_action(session: Any) -> None:
    """One of each thing a Tochigi coordinator should act on."""
    n = next(_serial)
    now = datetime.now(UTC)
    today = now.date()
    admin = factories.admin_user(session)
    # Understaffed in the next 14 days (needs 2, nobody yet).
    factories.dispatch_event(session, starts_at=now + timedelta(days=5), needed=2)
    # A supporter asked three days ago for an event next month, still unanswered.
    later = factories.dispatch_event(session, place="那須町", starts_at=now + timedelta(days=40))
    supporter = factories.valid_registration(session, n=n)
    assignment = dispatch.assign(
        session, actor=admin, event=later, registration=supporter, now=now - timedelta(days=3)
    )
    assignment.created_at = now - timedelta(days=3)
    # A municipal request waiting for the coordinator.
    dispatch.request_dispatch(
        session,
        actor=admin,
        program=factories.program(session, code="tochigi"),
        data=dispatch.EventInput(
            title="出張相談会の依頼",
            municipality_id=factories.municipality(session, name="佐野市", prefecture="栃木県").id,
            venue="佐野市保健センター",
            starts_at=now + timedelta(days=30),
            ends_at=now + timedelta(days=30, hours=2),
            needed=1,
        ),
        now=now,
    )
    # Validity ending in about a month: follow-up due, and lapsing within 60 days.
    factories.registration(
        session,
        on=today - timedelta(days=3 * 365 - 30),
        name=f"期限 {n}",
        reading="キゲン",
        email=f"due{n}@example.jp",
    )
    # Registered long ago and no activity report last fiscal year.
    factories.registration(
        session,
        on=date(2021, 7, 1),
        name=f"未報告 {n}",
        reading="ミホウコク",
        email=f"nr{n}@example.jp",
    )
    # A coming course with a waiting list.
    course = factories.course(
        session,
        program_code="tochigi",
        capacity=1,
        topics=("基礎",),
        on=today + timedelta(days=20),
    )
    for k in range(2):
        person = factories.person(
            session,
            name=f"待機 {n}{k}",
            reading="タイキ",
            email=f"w{n}{k}@example.jp",
            residence="佐野市",
            prefecture="栃木県",
        )
        enrol_person(session, actor=None, course=course, person=person, now=now)
    session.flush()


def test_coordinator_start_page_counts_what_needs_action(
    client: Any, db_session: Any, login_as: Any
) -> None:
    _needs_action(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/").get_data(as_text=True)
    counts = _counts(page, 'data-program="tochigi"')
    assert counts["understaffed"] == 1
    assert counts["unconfirmed"] == 1
    assert counts["pending_requests"] == 1
    assert counts["follow_up_due"] == 1 and counts["lapsing"] == 1
    assert counts["missing_reports"] >= 1
    assert counts["waiting_list"] == 1
    assert "/register/?program=tochigi&amp;status=follow_up_due" in page
    assert "/register/?program=tochigi&amp;due=60" in page
    assert 'data-program="kagawa"' not in page


def test_coordinator_start_page_queries_are_constant(
    client: Any, db_session: Any, login_as: Any
) -> None:
    _needs_action(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    client.get("/")
    with counting_queries() as few:
        assert client.get("/").status_code == 200
    for _ in range(3):
        _needs_action(db_session)
    db_session.commit()
    with counting_queries() as many:
        page = client.get("/").get_data(as_text=True)
    assert _counts(page, 'data-program="tochigi"')["understaffed"] == 4
    assert len(few) == len(many), many


def test_municipal_staff_see_their_events_requests_and_supporters(
    client: Any, db_session: Any, login_as: Any
) -> None:
    _needs_action(db_session)
    here = factories.valid_registration(db_session, n=900, place="佐野市")
    factories.valid_registration(db_session, n=901, place="那須町")
    registry.withdraw(
        db_session,
        actor=None,
        registration=factories.valid_registration(db_session, n=902, place="佐野市"),
        on=date.today() - timedelta(days=1),
    )
    login_as(
        factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市")
    )
    client.get("/")
    with counting_queries() as queries:
        page = client.get("/").get_data(as_text=True)
    counts = _counts(page)
    assert counts["supporters"] == 1  # valid, acting in 佐野市; not 那須町's, not withdrawn
    assert counts["requested"] == 1 and counts["upcoming"] == 1
    assert page.count('<tr data-event="') == 2  # the understaffed event and the request
    assert 'id="start-coordinator"' not in page and "data-attribute" not in page
    assert here.person.name not in page
    assert len(queries) < 15


def test_supporter_sees_the_next_dispatch_status_and_what_to_do(
    client: Any, db_session: Any, login_as: Any
) -> None:
    now = datetime.now(UTC)
    registration = factories.registration(
        db_session,
        on=date.today() - timedelta(days=3 * 365 - 30),
        name="鈴木 一郎",
        reading="スズキ イチロウ",
        email="s1@example.jp",
    )
    event = factories.dispatch_event(db_session, starts_at=now + timedelta(days=3))
    dispatch.assign(
        db_session,
        actor=factories.admin_user(db_session),
        event=event,
        registration=registration,
        now=now,
    )
    user = factories.supporter(db_session, program_code="tochigi")
    user.person_id = registration.person_id
    db_session.commit()
    login_as(user)
    page = client.get("/").get_data(as_text=True)
    assert f'data-event="{event.id}" data-assignment-state="assigned"' in page
    assert 'data-status="follow_up_due"' in page
    valid_until = registration.valid_until
    assert f'data-valid-until="{valid_until.isoformat()}"' in page
    assert f"令和{valid_until.year - 2018}年{valid_until.month}月{valid_until.day}日" in page
    for step in ("answer", "follow_up", "schedule", "me"):
        assert f'data-next="{step}"' in page
    assert 'href="/schedule"' in page and 'href="/me"' in page
    assert 'id="start-coordinator"' not in page and 'id="start-admin"' not in page


def test_supporter_without_dispatch(client: Any, db_session: Any, login_as: Any) -> None:
    registration = factories.valid_registration(db_session, n=5)
    user = factories.supporter(db_session, program_code="tochigi")
    user.person_id = registration.person_id
    db_session.commit()
    login_as(user)
    page = client.get("/").get_data(as_text=True)
    assert 'id="start-no-dispatch"' in page and 'data-status="active"' in page
    assert 'data-next="answer"' not in page
    assert db_session.query(Assignment).count() == 0


def test_admin_gets_the_administration_links(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    page = client.get("/").get_data(as_text=True)
    for name, link in (
        ("users", "/admin/users"),
        ("audit", "/audit/"),
        ("mail", "/mail/"),
        ("reports", "/reports/"),
    ):
        assert f'<li data-link="{name}"><a href="{link}' in page, link
    assert 'id="start-coordinator"' not in page


def test_no_role_yet(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.user(db_session))
    response = client.get("/")
    assert response.status_code == 200 and 'id="start-' not in response.get_data(as_text=True)


def _links(page: str, scope: str) -> dict[str, tuple[int, str]]:
    """data-action → (count, href) inside the card that `scope` opens."""
    import html

    start = page.index(scope)
    end = page.find("</section>", start)
    found = re.findall(
        r'data-action="(\w+)" data-count="(\d+)">\s*<a href="([^"]+)"', page[start:end]
    )
    return {key: (int(count), html.unescape(href)) for key, count, href in found}


def _rows(client: Any, href: str) -> int:
    """Rows of the list's table body."""
    response = client.get(href)
    assert response.status_code == 200, href
    page = response.get_data(as_text=True)
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return len(re.findall(r"<tr[ >]", body)) - len(re.findall(r"<td colspan=", body))


def test_every_coordinator_count_leads_to_a_list_of_exactly_those_items(
    client: Any, db_session: Any, login_as: Any
) -> None:
    _needs_action(db_session)
    _needs_action(db_session)
    now = datetime.now(UTC)
    admin = factories.admin_user(db_session)
    # A request for a day months ahead still counts, and is listed, whatever its month.
    dispatch.request_dispatch(
        db_session,
        actor=admin,
        program=factories.program(db_session, code="tochigi"),
        data=dispatch.EventInput(
            title="半年先の依頼",
            municipality_id=factories.municipality(
                db_session, name="那須町", prefecture="栃木県"
            ).id,
            venue="那須町保健センター",
            starts_at=now + timedelta(days=170),
            ends_at=now + timedelta(days=170, hours=2),
            needed=1,
        ),
        now=now,
    )
    # Asked 23 hours ago: not yet counted as unanswered for 24 hours.
    fresh = factories.dispatch_event(db_session, place="佐野市", starts_at=now + timedelta(days=50))
    dispatch.assign(
        db_session,
        actor=admin,
        event=fresh,
        registration=factories.valid_registration(db_session, n=next(_serial)),
        now=now - timedelta(hours=23),
    ).created_at = now - timedelta(hours=23)
    db_session.commit()
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/").get_data(as_text=True)
    links = _links(page, 'data-program="tochigi"')
    for key in (
        "understaffed",
        "unconfirmed",
        "pending_requests",
        "missing_reports",
        "waiting_list",
        "follow_up_due",
        "lapsing",
    ):
        count, href = links[key]
        assert count > 0, key
        assert _rows(client, href) == count, (key, href)
    assert links["pending_requests"][0] == 3
    assert links["unconfirmed"][0] == 2


def test_municipal_staff_counts_lead_to_their_lists(
    client: Any, db_session: Any, login_as: Any
) -> None:
    _needs_action(db_session)
    db_session.commit()
    login_as(
        factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市")
    )
    page = client.get("/").get_data(as_text=True)
    links = _links(page + "</section>", 'class="start-actions start-actions--below"')
    for key in ("requested", "upcoming"):
        count, href = links[key]
        assert _rows(client, href) == count, (key, href)
