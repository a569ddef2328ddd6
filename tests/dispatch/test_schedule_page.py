"""Issue 18 items 1 and 3: the supporter's schedule on a phone. Dates carry the weekday; one
card per event; 持ち物 and notes before signing up; 辞退する and 参加を取り消す ask first
(a page of its own, no JavaScript); after the cut-off, the coordinator's phone as a tel: link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from supporters.dispatch import services
from supporters.dispatch.models import Assignment
from supporters.dispatch.schedule import tel_uri
from tests import factories
from tests.conftest import CSRF_RE, post_form

WEEKDAYS = "月火水木金土日"


def _world(db_session: Any, *, days: int = 10) -> tuple[Any, Any, Any, Any]:
    coordinator = factories.coordinator(
        db_session, program_code="tochigi", email="coord@example.jp"
    )
    reg = factories.valid_registration(db_session, place="佐野市")
    supporter = factories.supporter(db_session, program_code="tochigi", email="sup@example.jp")
    supporter.person_id = reg.person_id
    start = (datetime.now(UTC) + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    event = factories.dispatch_event(db_session, starts_at=start)
    event.bring = "筆記用具と上履き"
    event.notes = "受付は2階です。"
    db_session.flush()
    return coordinator, supporter, reg, event


def _local_day(moment: datetime) -> Any:
    return (moment + timedelta(hours=9)).date()


def _cards(page: str, event_id: int) -> int:
    return len(re.findall(rf'<article class="card dispatch[^"]*" data-event="{event_id}"', page))


def test_the_schedule_shows_the_weekday_in_japanese_and_english(
    client: Any, db_session: Any, login_as: Any
) -> None:
    _coordinator, supporter, _reg, event = _world(db_session)
    db_session.commit()
    day = _local_day(event.starts_at)
    login_as(supporter)
    page = client.get("/schedule").get_data(as_text=True)
    assert f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）" in page
    supporter.locale = "en"
    db_session.commit()
    page = client.get("/schedule").get_data(as_text=True)
    assert day.strftime("%a ") + f"{day.day} " + day.strftime("%b %Y") in page


def test_bring_and_notes_are_shown_before_signing_up(
    client: Any, db_session: Any, login_as: Any
) -> None:
    _coordinator, supporter, _reg, event = _world(db_session)
    db_session.commit()
    login_as(supporter)
    page = client.get("/schedule").get_data(as_text=True)
    card = page[page.index(f'data-event="{event.id}"') :]
    card = card[: card.index("</article>")]
    assert f"/dispatch/{event.id}/sign-up" in card
    assert "持ち物" in card and "筆記用具と上履き" in card and "受付は2階です。" in card


def test_a_declined_event_still_open_is_one_card_to_sign_up_again(
    client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    asked = services.assign(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    services.answer_assignment(
        db_session, actor=supporter, assignment=asked, accept=False, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(supporter)
    page = client.get("/schedule").get_data(as_text=True)
    assert _cards(page, event.id) == 1
    assert f"/dispatch/{event.id}/sign-up" in page
    assert "辞退" in page  # the card says it was declined


def test_declining_asks_first_and_survives_being_sent_twice(
    client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    asked = services.assign(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(supporter)
    page = client.get("/schedule").get_data(as_text=True)
    assert f'href="/schedule/{asked.id}/decline"' in page
    assert 'name="answer" value="decline"' not in page  # no one-tap decline

    step = client.get(f"/schedule/{asked.id}/decline")
    assert step.status_code == 200
    body = step.get_data(as_text=True)
    assert "この依頼を辞退しますか？" in body and "筆記用具と上履き" in body
    assert f'action="/schedule/{asked.id}/answer"' in body
    db_session.expire_all()
    assert db_session.get(Assignment, asked.id).state == "assigned"  # looking changed nothing

    csrf = CSRF_RE.search(body)
    once = re.search(r'name="form_once" value="([^"]+)"', body)
    assert csrf and once
    data = {"answer": "decline", "csrf_token": csrf.group(1), "form_once": once.group(1)}
    first = client.post(f"/schedule/{asked.id}/answer", data=data)
    second = client.post(f"/schedule/{asked.id}/answer", data=data)
    assert first.status_code in (302, 303) and second.status_code in (302, 303)
    db_session.expire_all()
    assert db_session.get(Assignment, asked.id).state == "declined"
    mails = db_session.execute(text("SELECT kind FROM outbox_message")).all()
    assert len(mails) == 1  # the coordinator is told once


def test_cancelling_asks_first(client: Any, db_session: Any, login_as: Any) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    place = services.sign_up(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(supporter)
    page = client.get("/schedule").get_data(as_text=True)
    assert f'href="/schedule/{place.id}/cancel"' in page
    assert f'action="/assignments/{place.id}/cancel"' not in page
    body = client.get(f"/schedule/{place.id}/cancel").get_data(as_text=True)
    assert "参加を取り消しますか？" in body and f'action="/assignments/{place.id}/cancel"' in body
    db_session.expire_all()
    assert db_session.get(Assignment, place.id).state == "confirmed"
    post_form(
        client, f"/assignments/{place.id}/cancel", {}, form_url=f"/schedule/{place.id}/cancel"
    )
    db_session.expire_all()
    assert db_session.get(Assignment, place.id).state == "cancelled"


@pytest.mark.parametrize(
    ("before_cutoff", "may_cancel"),
    [(timedelta(hours=1), True), (timedelta(0), True), (timedelta(hours=-1), False)],
    ids=["an hour before the cut-off", "at the cut-off", "an hour after the cut-off"],
)
def test_after_the_cut_off_the_page_gives_the_coordinators_phone(
    client: Any,
    db_session: Any,
    login_as: Any,
    monkeypatch: Any,
    before_cutoff: timedelta,
    may_cancel: bool,
) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    event.program.contact_phone = "028-000-0000"
    place = services.sign_up(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    cutoff = event.starts_at - timedelta(hours=event.program.self_cancel_cutoff_hours)
    monkeypatch.setattr(
        "supporters.dispatch.views.supporter.now_utc", lambda: cutoff - before_cutoff
    )
    login_as(supporter)
    for url in ("/schedule", f"/schedule/{place.id}/cancel"):
        page = client.get(url).get_data(as_text=True)
        assert ('href="tel:028-000-0000"' in page) is not may_cancel, url
        if not may_cancel:
            assert '事務局（<a href="tel:028-000-0000">028-000-0000</a>）' in page
    step = client.get(f"/schedule/{place.id}/cancel").get_data(as_text=True)
    assert (f'action="/assignments/{place.id}/cancel"' in step) is may_cancel


def test_without_a_phone_the_message_asks_to_call_the_coordinator(
    client: Any, db_session: Any, login_as: Any, monkeypatch: Any
) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    event.program.contact_phone = None
    services.sign_up(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    start = event.starts_at
    monkeypatch.setattr("supporters.dispatch.views.supporter.now_utc", lambda: start)
    login_as(supporter)
    page = client.get("/schedule").get_data(as_text=True)
    assert "今から取り消す場合は、事務局に電話でご連絡ください。" in page
    assert "tel:" not in page


@pytest.mark.parametrize(
    ("phone", "uri"),
    [
        ("043-000-0000", "tel:043-000-0000"),
        ("(043) 000-0000", "tel:043000-0000"),
        ("+81-43-000-0000", "tel:+81-43-000-0000"),
        ("", None),
        (None, None),
        ("なし", None),
    ],
)
def test_tel_uri(phone: str | None, uri: str | None) -> None:
    assert tel_uri(phone) == uri


def test_the_mail_about_a_decline_carries_the_weekday_in_the_recipients_language(
    client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator, supporter, reg, event = _world(db_session)
    english = factories.coordinator(db_session, program_code="tochigi", email="en@example.jp")
    english.locale = "en"
    asked = services.assign(
        db_session, actor=coordinator, event=event, registration=reg, now=datetime.now(UTC)
    )
    db_session.commit()
    login_as(supporter)
    post_form(client, f"/schedule/{asked.id}/answer", {"answer": "decline"}, form_url="/schedule")
    db_session.expire_all()
    bodies = dict(db_session.execute(text("SELECT recipient, body_text FROM outbox_message")).all())
    day = _local_day(event.starts_at)
    assert (
        f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"
        in bodies["coord@example.jp"]
    )
    assert day.strftime("%a ") + f"{day.day} " + day.strftime("%b %Y") in bodies["en@example.jp"]


def test_the_demo_programs_have_fictional_phone_numbers() -> None:
    from supporters.demo import CONTACT_PHONES

    for phone in CONTACT_PHONES.values():
        assert re.fullmatch(r"0\d{1,3}-000-0000", phone)
