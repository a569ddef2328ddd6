"""The programs' own words where a supporter or a coordinator reads about an event: Tochigi's
outreach days are 出張相談会への同席, Chiba's requests 派遣, Kagawa's groups 活動への参加;
the printed notice is the supporter's 活動のご案内 / 派遣のご案内, never a 派遣依頼書."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from supporters.dispatch import services
from supporters.dispatch.models import Assignment
from tests import factories
from tests.conftest import post_form

WORDS = [("tochigi", "出張相談会への同席"), ("chiba", "派遣"), ("kagawa", "活動への参加")]


def _soon() -> datetime:
    return (datetime.now(UTC) + timedelta(days=10)).replace(minute=0, second=0, microsecond=0)


def _full_event(db_session: Any, code: str) -> tuple[Any, Any]:
    """An event of `code`'s program with its one place taken, and a supporter of it."""
    event = factories.dispatch_event(db_session, program_code=code, starts_at=_soon(), needed=1)
    taken = factories.valid_registration(db_session, program_code=code, n=801)
    services.sign_up(
        db_session,
        actor=factories.admin_user(db_session),
        event=event,
        registration=taken,
        now=datetime.now(UTC),
    )
    mine = factories.valid_registration(db_session, program_code=code, n=802)
    user = factories.supporter(db_session, program_code=code, email=f"w-{code}@example.jp")
    user.person_id = mine.person_id
    db_session.commit()
    return event, user


@pytest.mark.parametrize(("code", "word"), WORDS)
def test_a_full_event_is_named_in_the_programs_word(
    client: Any, db_session: Any, login_as: Any, code: str, word: str
) -> None:
    event, user = _full_event(db_session, code)
    login_as(user)
    for _twice in range(2):  # sent twice: refused twice, in the same words
        response = post_form(client, f"/dispatch/{event.id}/sign-up", {}, form_url="/schedule")
        assert response.status_code == 302
        page = client.get("/schedule").get_data(as_text=True)
        assert f"この{word}は満員です。" in page
    if code != "chiba":
        assert "この派遣は満員です" not in page


def test_an_english_reader_gets_the_products_word(
    client: Any, db_session: Any, login_as: Any
) -> None:
    event, user = _full_event(db_session, "tochigi")
    user.locale = "en"
    db_session.commit()
    login_as(user)
    post_form(client, f"/dispatch/{event.id}/sign-up", {}, form_url="/schedule")
    page = client.get("/schedule").get_data(as_text=True)
    assert "This event is full." in page


def _mail(db_session: Any, recipient: str) -> tuple[str, str]:
    db_session.expire_all()
    row = db_session.execute(
        text("SELECT subject, body_text FROM outbox_message WHERE recipient = :r ORDER BY id DESC"),
        {"r": recipient},
    ).first()
    assert row is not None
    return row[0], row[1]


@pytest.mark.parametrize(("code", "word"), WORDS)
def test_a_cancellation_mail_names_the_event_in_the_programs_word(
    client: Any, db_session: Any, login_as: Any, code: str, word: str
) -> None:
    coordinator = factories.coordinator(db_session, program_code=code, email=f"c-{code}@x.jp")
    registration = factories.valid_registration(db_session, program_code=code, n=803)
    supporter = factories.supporter(db_session, program_code=code, email=f"m-{code}@x.jp")
    supporter.person_id = registration.person_id
    event = factories.dispatch_event(db_session, program_code=code, starts_at=_soon())
    services.sign_up(
        db_session,
        actor=coordinator,
        event=event,
        registration=registration,
        now=datetime.now(UTC),
    )
    db_session.commit()
    login_as(coordinator)
    post_form(
        client, f"/dispatch/{event.id}/cancel", {"reason": "荒天"}, form_url=f"/dispatch/{event.id}"
    )
    subject, body = _mail(db_session, f"m-{code}@x.jp")
    assert subject.startswith(f"{word}の変更のお知らせ：")
    assert f"この{word}は中止になりました。" in body


def test_a_place_cancelled_by_the_coordinator_is_told_in_the_recipients_language(
    client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator = factories.coordinator(db_session, program_code="tochigi", email="c-en@x.jp")
    registration = factories.valid_registration(db_session, n=804)
    supporter = factories.supporter(db_session, program_code="tochigi", email="m-en@x.jp")
    supporter.person_id = registration.person_id
    supporter.locale = "en"
    event = factories.dispatch_event(db_session, starts_at=_soon())
    place = services.sign_up(
        db_session,
        actor=coordinator,
        event=event,
        registration=registration,
        now=datetime.now(UTC),
    )
    db_session.commit()
    login_as(coordinator)  # a Japanese page
    post_form(client, f"/assignments/{place.id}/cancel", {}, form_url=f"/dispatch/{event.id}")
    subject, body = _mail(db_session, "m-en@x.jp")
    assert "Your place at this event has been cancelled by the coordinator." in body
    assert subject.startswith("Change to your event:")


@pytest.mark.parametrize(
    ("code", "title"), [("tochigi", "活動のご案内"), ("chiba", "派遣のご案内")]
)
def test_the_printed_notice_is_the_supporters_not_a_municipal_request(
    client: Any, db_session: Any, login_as: Any, tmp_path: Path, code: str, title: str
) -> None:
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) is missing")
        pytest.skip("pdftotext is not installed")
    login_as(factories.coordinator(db_session, program_code=code))
    registration = factories.valid_registration(db_session, program_code=code, n=805)
    event = factories.dispatch_event(db_session, program_code=code, starts_at=_soon())
    services.assign(
        db_session,
        actor=factories.admin_user(db_session),
        event=event,
        registration=registration,
        now=datetime.now(UTC),
    )
    db_session.commit()
    assignment = db_session.scalar(select(Assignment).where(Assignment.event_id == event.id))
    page = client.get(f"/dispatch/{event.id}").get_data(as_text=True)
    assert "印刷用のご案内（PDF）" in page and "派遣依頼書" not in page
    path = tmp_path / "notice.pdf"
    path.write_bytes(client.get(f"/assignments/{assignment.id}/notice.pdf").data)
    printed = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert title in printed and "派遣依頼書" not in printed and "事務局" in printed


@pytest.mark.parametrize(("code", "word"), WORDS)
def test_the_reminder_before_an_event_names_it_in_the_programs_word(
    db_session: Any, code: str, word: str
) -> None:
    from supporters.dispatch import jobs as dispatch_jobs

    registration = factories.valid_registration(db_session, program_code=code, n=806)
    user = factories.supporter(db_session, program_code=code, email=f"r-{code}@x.jp")
    user.person_id = registration.person_id
    start = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)
    event = factories.dispatch_event(db_session, program_code=code, starts_at=start)
    services.sign_up(
        db_session,
        actor=factories.admin_user(db_session),
        event=event,
        registration=registration,
        now=start - timedelta(days=10),
    )
    db_session.flush()
    dispatch_jobs.upcoming_dispatch(db_session, start - timedelta(days=1))
    subject, _body = _mail(db_session, f"r-{code}@x.jp")
    assert subject == f"{word}のお知らせ：{event.title}"
