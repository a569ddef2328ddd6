"""Issue 12 item 11: free text that could identify a client. One detector, used by every
free-text field that may describe a client; phone numbers and e-mail addresses are refused,
other identifying details need the writer's confirmation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from supporters.db import now_utc
from supporters.dispatch.models import DispatchEvent
from supporters.people.free_text import IdentifyingText, check_free_text, find_identifying
from supporters.registry.models import ActivityReport
from tests.security.world import World, build_path, client_as, csrf_pair

PROBE = "山田太郎さん(17歳、佐野高校)の母親 090-1234-5678"


def _kinds(text: str) -> set[str]:
    return {f.kind for f in find_identifying(text)}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("090-1234-5678", "phone"),
        ("０９０－１２３４－５６７８", "phone"),  # full-width digits and dash
        ("09012345678", "phone"),
        ("03 1234 5678", "phone"),
        ("(0283)12-3456", "phone"),
        ("+81-90-1234-5678", "phone"),
        ("連絡先 ０２８３ー２２ー１１１１", "phone"),
        ("taro@example.jp", "email"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "email"),
        ("taro ＠ example . jp", "email"),
        ("〒327-0001", "postal_code"),
        ("327-0001 に住む", "postal_code"),
        ("佐野市高萩町1234-5", "address"),
        ("大橋町3丁目", "address"),
        ("1-2-3", "address"),
        ("17歳の息子", "age"),
        ("１７才", "age"),
        ("十七歳", "age"),
        ("aged 17", "age"),
        ("佐野高校の2年生", "school"),
        ("佐野東中学校", "school"),
        ("作新学院", "school"),
        ("山田太郎さん", "name"),
        ("タロウくん", "name"),
        ("花子ちゃん", "name"),
        ("ユーキくん", "name"),
        ("０２８３ー２２ー１１１１", "phone"),
        ("山田様", "name"),
    ],
)
def test_the_detector_finds_identifying_details(text: str, kind: str) -> None:
    assert kind in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "外出について相談を受けた。次回も同席予定。",
        "お母さんと息子さんの関係について話した",
        "ご本人様とご家族の話を聞いた",
        "高校生の子どもの不登校について",
        "県立高校への進学について",
        "2024-05-01 に2時間",
        "10時から12時まで、3名参加",
        "佐野市保健センターで実施",
        "サポーターさん3人で対応",
        "コーディネーターさんと千葉市 きぼーる 13階で面談",
    ],
)
def test_ordinary_notes_pass(text: str) -> None:
    assert find_identifying(text) == []
    check_free_text(text, field="note")


@pytest.mark.usefixtures("japanese")
def test_the_probe_note_is_refused_and_says_why() -> None:
    found = _kinds(PROBE)
    assert {"name", "age", "school", "phone"} <= found
    with pytest.raises(
        IdentifyingText, match="電話番号「090-1234-5678」を削除してください"
    ) as error:
        check_free_text(PROBE, field="note", confirmed=True)  # confirming does not help
    assert error.value.refused and error.value.field == "note"


@pytest.mark.usefixtures("japanese")
def test_a_warning_can_be_confirmed() -> None:
    with pytest.raises(IdentifyingText, match="特定されるおそれがあります：年齢「17歳」") as error:
        check_free_text("17歳の方の家族と面談", field="notes")
    assert not error.value.refused
    check_free_text("17歳の方の家族と面談", field="notes", confirmed=True)


# --- every field that may describe a client ------------------------------------------


def _post(app: Flask, world: World, role: str, endpoint: str, form: dict[str, str]) -> Any:
    raw, signed = csrf_pair(app)
    client = client_as(app, world, role, csrf_raw=raw)
    path = build_path(app, endpoint, world.params["own"])
    return client.post(path, data={**form, "csrf_token": signed})


def _report_form(note: str, **extra: str) -> dict[str, str]:
    return {
        "activity_on": (now_utc().date() - timedelta(days=1)).isoformat(),
        "hours": "1.5",
        "kind": "phone",
        "note": note,
        **extra,
    }


def _event_form(notes: str, **extra: str) -> dict[str, str]:
    day = (now_utc() + timedelta(days=30)).date().isoformat()
    return {
        "title": "出張相談会",
        "activity": "sitting_in",
        "municipality": "佐野市",
        "venue": "佐野市保健センター",
        "date": day,
        "start": "13:00",
        "end": "16:00",
        "needed": "2",
        "notes": notes,
        **extra,
    }


def _reports(db_session: Any) -> list[str]:
    db_session.expire_all()
    return [r.note for r in db_session.scalars(select(ActivityReport))]


def _event_notes(db_session: Any) -> list[str]:
    db_session.expire_all()
    return [e.notes for e in db_session.scalars(select(DispatchEvent))]


def test_the_activity_report_refuses_a_phone_number(
    app: Flask, db_session: Any, world: World
) -> None:
    response = _post(app, world, "sup", "registry.new_report", _report_form(PROBE))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "090-1234-5678" in page  # named on the form, next to the note
    assert PROBE not in _reports(db_session)
    # Full-width variants too.
    full_width = "連絡は ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ まで"
    response = _post(
        app, world, "sup", "registry.new_report", _report_form(full_width, confirm_free_text="y")
    )
    assert response.status_code == 200 and full_width not in _reports(db_session)


def test_the_activity_report_asks_to_confirm_then_saves(
    app: Flask, db_session: Any, world: World
) -> None:
    note = "17歳の方のご家族と面談"
    response = _post(app, world, "sup", "registry.new_report", _report_form(note))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="confirm_free_text"' in page
    assert note not in _reports(db_session)
    response = _post(
        app, world, "sup", "registry.new_report", _report_form(note, confirm_free_text="y")
    )
    assert response.status_code == 302
    assert note in _reports(db_session)


def test_an_ordinary_report_note_is_saved_without_a_question(
    app: Flask, db_session: Any, world: World
) -> None:
    note = "外出について相談を受けた"
    response = _post(app, world, "sup", "registry.new_report", _report_form(note))
    assert response.status_code == 302 and note in _reports(db_session)


@pytest.mark.parametrize(
    ("role", "endpoint"), [("coord", "dispatch.new"), ("staff", "dispatch.request_form")]
)
def test_event_notes_and_requests_use_the_same_detector(
    app: Flask, db_session: Any, world: World, role: str, endpoint: str
) -> None:
    response = _post(app, world, role, endpoint, _event_form(PROBE))
    assert response.status_code == 200
    assert PROBE not in _event_notes(db_session)
    warned = "佐野高校の生徒の家族から相談"
    response = _post(app, world, role, endpoint, _event_form(warned))
    assert response.status_code == 200 and 'name="confirm_free_text"' in response.get_data(
        as_text=True
    )
    response = _post(app, world, role, endpoint, _event_form(warned, confirm_free_text="y"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert warned in _event_notes(db_session)


def test_a_cancellation_reason_refuses_contact_details(
    app: Flask, db_session: Any, world: World
) -> None:
    """Reasons are read by supporters (and mailed): phone numbers and e-mail addresses are
    refused there too."""
    from supporters.dispatch.models import EventState

    response = _post(
        app,
        world,
        "coord",
        "dispatch.cancel",
        {"reason": "ご家族(０９０ー１２３４ー５６７８)の都合"},
    )
    assert response.status_code == 302
    event = db_session.get(DispatchEvent, world.params["own"]["event_id"])
    db_session.refresh(event)
    assert event.state != EventState.CANCELLED and not event.reason
    response = _post(app, world, "coord", "dispatch.cancel", {"reason": "ご家族の都合"})
    db_session.refresh(event)
    assert event.state == EventState.CANCELLED


def test_a_venue_that_looks_like_a_home_address_asks_first(
    app: Flask, db_session: Any, world: World
) -> None:
    home = "佐野市高萩町1234-5 山田様宅"
    response = _post(app, world, "staff", "dispatch.request_form", _event_form("", venue=home))
    assert response.status_code == 200 and 'name="confirm_free_text"' in response.get_data(
        as_text=True
    )
    db_session.expire_all()
    assert home not in [e.venue for e in db_session.scalars(select(DispatchEvent))]
