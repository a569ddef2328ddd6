from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import vobject
from sqlalchemy import select

from supporters.dispatch import services
from supporters.dispatch.models import Assignment, DispatchEvent, ProgramMunicipality
from tests import factories
from tests.conftest import post_form


def _supporter(db_session: Any, n: int = 0, **kwargs: Any) -> Any:
    reg = factories.valid_registration(db_session, n=n, **kwargs)
    user = factories.supporter(
        db_session, program_code=reg.program.code, email=f"sup{n}@example.jp"
    )
    user.person_id = reg.person_id
    db_session.flush()
    return user, reg


def _soon(days: int = 5) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


def test_supporter_signs_up_confirms_and_cancels(
    client: Any, db_session: Any, login_as: Any
) -> None:
    user, reg = _supporter(db_session, place="佐野市")
    event = factories.dispatch_event(db_session, starts_at=_soon(10))
    asked = factories.dispatch_event(db_session, place="那須町", starts_at=_soon(20))
    services.assign(
        db_session,
        actor=factories.admin_user(db_session),
        event=asked,
        registration=reg,
        now=datetime.now(UTC),
    )
    db_session.commit()
    login_as(user)
    page = client.get("/schedule").get_data(as_text=True)
    assert f"/dispatch/{event.id}/sign-up" in page
    assert (
        post_form(client, f"/dispatch/{event.id}/sign-up", {}, form_url="/schedule").status_code
        == 302
    )
    mine = db_session.scalar(select(Assignment).where(Assignment.event_id == event.id))
    assert mine.state == "confirmed"
    waiting = db_session.scalar(select(Assignment).where(Assignment.event_id == asked.id))
    post_form(client, f"/schedule/{waiting.id}/answer", {"answer": "confirm"}, form_url="/schedule")
    db_session.expire_all()
    assert db_session.get(Assignment, waiting.id).state == "confirmed"
    post_form(client, f"/assignments/{mine.id}/cancel", {}, form_url="/schedule")
    db_session.expire_all()
    assert db_session.get(Assignment, mine.id).state == "cancelled"


def test_lapsed_supporter_is_refused_through_the_page(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = factories.registration(db_session, on=date(2020, 7, 20))
    user = factories.supporter(db_session)
    user.person_id = registration.person_id
    event = factories.dispatch_event(db_session, starts_at=_soon(10))
    db_session.commit()
    login_as(user)
    response = post_form(client, f"/dispatch/{event.id}/sign-up", {}, form_url="/me")
    assert response.status_code == 302
    assert db_session.scalar(select(Assignment)) is None


def test_calendar_feed_is_private_resettable_and_readable_by_another_client(
    client: Any, db_session: Any, login_as: Any, app: Any
) -> None:
    user, reg = _supporter(db_session)
    event = factories.dispatch_event(db_session, starts_at=_soon(10))
    cancelled = factories.dispatch_event(db_session, place="那須町", starts_at=_soon(20))
    admin = factories.admin_user(db_session)
    services.sign_up(db_session, actor=admin, event=event, registration=reg, now=datetime.now(UTC))
    services.sign_up(
        db_session, actor=admin, event=cancelled, registration=reg, now=datetime.now(UTC)
    )
    services.cancel_event(db_session, actor=admin, event=cancelled, reason="荒天")
    db_session.commit()
    login_as(user)
    page = post_form(client, "/schedule/calendar", {}).get_data(as_text=True)
    link = re.search(r'value="(http://localhost/calendar/[^"]+\.ics)"', page).group(1)
    path = link.replace("http://localhost", "")
    anonymous = app.test_client()
    response = anonymous.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    parsed = vobject.readOne(response.get_data(as_text=True))  # another library than ours
    vevents = {str(v.summary.value): v for v in parsed.vevent_list}
    assert len(parsed.vevent_list) == 2
    statuses = sorted(v.status.value for v in parsed.vevent_list)
    assert statuses == ["CANCELLED", "CONFIRMED"]
    confirmed = next(v for v in parsed.vevent_list if v.status.value == "CONFIRMED")
    assert confirmed.dtstart.value.utcoffset() == timedelta(hours=9)  # Asia/Tokyo
    assert confirmed.valarm.trigger.value == timedelta(days=-1)
    assert "出張相談会" in vevents
    post_form(client, "/schedule/calendar", {})  # reset
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/calendar/not-a-token.ics").status_code == 404


def test_municipal_staff_request_and_see_only_their_municipality(
    client: Any, db_session: Any, login_as: Any
) -> None:
    chiba = factories.program(db_session, code="chiba")
    narashino = factories.municipality(db_session, name="習志野市", prefecture="千葉県")
    db_session.add(
        ProgramMunicipality(
            program_id=chiba.id, municipality_id=narashino.id, joined_on=date(2024, 4, 1)
        )
    )
    sakura_event = factories.dispatch_event(
        db_session, program_code="chiba", place="佐倉市", starts_at=_soon(7)
    )
    login_as(
        factories.municipal_staff(db_session, program_code="chiba", municipality_name="習志野市")
    )
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    response = post_form(
        client,
        "/dispatch/request",
        {
            "title": "家族会への同席",
            "activity": "family_meeting",
            "municipality": "習志野市",
            "venue": "習志野市保健会館",
            "date": day,
            "start": "10:00",
            "end": "12:00",
            "needed": "2",
        },
    )
    assert response.status_code == 302
    request = db_session.scalar(select(DispatchEvent).where(DispatchEvent.state == "requested"))
    assert request.municipality_id == narashino.id
    assert client.get(f"/dispatch/{request.id}").status_code == 200
    assert client.get(f"/dispatch/{sakura_event.id}").status_code == 403
    listing = client.get("/dispatch/", query_string={"month": day[:7]}).get_data(as_text=True)
    assert f"/dispatch/{request.id}" in listing
    bad = post_form(
        client,
        "/dispatch/request",
        {
            "title": "x",
            "activity": "phone",
            "venue": "v",
            "date": day,
            "start": "12:00",
            "end": "10:00",
            "needed": "0",
        },
    )
    assert bad.status_code == 200


def test_coordinator_accepts_assigns_and_records_attendance(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    _user, reg = _supporter(db_session, place="佐野市")
    event = factories.dispatch_event(db_session, starts_at=_soon(3))
    db_session.commit()
    page = client.get(f"/dispatch/{event.id}").get_data(as_text=True)
    assert reg.person.name in page  # in the suggestions
    post_form(
        client,
        f"/dispatch/{event.id}/assign",
        {"registration_id": str(reg.id)},
        form_url=f"/dispatch/{event.id}",
    )
    assignment = db_session.scalar(select(Assignment))
    assert assignment.state == "assigned"
    other = factories.coordinator(db_session, program_code="kagawa", email="k@example.jp")
    db_session.commit()
    login_as(other)
    assert client.get(f"/dispatch/{event.id}").status_code == 403


def test_printed_notice_for_a_supporter_without_a_smartphone(
    client: Any, db_session: Any, login_as: Any, tmp_path: Any
) -> None:
    import os
    import shutil
    import subprocess

    import pytest

    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) is missing")
        pytest.skip("pdftotext is not installed")
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    _user, reg = _supporter(db_session)
    event = factories.dispatch_event(db_session, starts_at=_soon(10))
    assignment = services.assign(
        db_session,
        actor=factories.admin_user(db_session),
        event=event,
        registration=reg,
        now=datetime.now(UTC),
    )
    db_session.commit()
    response = client.get(f"/assignments/{assignment.id}/notice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "notice.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    # A supporter's notice, not a municipality's request (派遣依頼書): Tochigi's title.
    assert "活動のご案内" in text and "派遣依頼書" not in text
    assert reg.person.name in text and "保健センター" in text and "事務局" in text
