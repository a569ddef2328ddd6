"""Issue 13 item 9: times and municipalities typed as people type them."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from supporters.core.dates import parse_time
from supporters.db import ServiceError
from supporters.programs.services import find_municipality
from tests import factories


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1330", time(13, 30)),
        ("13:30", time(13, 30)),
        ("１３：３０", time(13, 30)),
        ("13時30分", time(13, 30)),
        ("１３時３０分", time(13, 30)),
        ("13時", time(13, 0)),
        ("930", time(9, 30)),
        ("9:05", time(9, 5)),
        ("905", time(9, 5)),
        ("９０５", time(9, 5)),
        ("09:05", time(9, 5)),
        (" 13:30 ", time(13, 30)),
        ("13.30", time(13, 30)),
        ("午後1時30分", time(13, 30)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_times_as_people_type_them(typed: str, expected: time) -> None:
    assert parse_time(typed) == expected


@pytest.mark.parametrize("typed", ["", "24:00", "13:60", "25", "abc", "1", "13:3", "12345"])
def test_what_is_not_a_time(typed: str) -> None:
    with pytest.raises(ValueError, match="not a time of day"):
        parse_time(typed)


@pytest.mark.parametrize("typed", ["25:00", "12:61", "2500", "24時", "１２：６１"])
def test_no_such_time_is_told_apart(typed: str) -> None:
    from supporters.core.dates import NoSuchTime

    with pytest.raises(NoSuchTime):
        parse_time(typed)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("25:00", "「25:00」という時刻はありません。時は0～23、分は00～59で入力してください。"),
        ("12:61", "「12:61」という時刻はありません。時は0～23、分は00～59で入力してください。"),
        ("1時ごろ", "13:30のように時刻を入力してください（1330や13時30分でも入力できます）。"),
    ],
)
def test_the_time_field_refuses_with_a_japanese_message(
    client: Any, db_session: Any, login_as: Any, typed: str, message: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.conftest import post_form

    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/dispatch/new").get_data(as_text=True)
    assert page.count('inputmode="numeric"') >= 2  # start and end: a phone's number pad
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    response = post_form(
        client,
        "/dispatch/new",
        {
            "title": "出張相談会",
            "activity": "sitting_in",
            "municipality": "佐野市",
            "venue": "佐野市保健センター",
            "date": day,
            "start": typed,
            "end": "1600",
            "needed": "2",
        },
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("佐野市", "佐野市"),
        ("栃木県佐野市", "佐野市"),
        ("さのし", "佐野市"),
        ("サノシ", "佐野市"),
        ("ｻﾉｼ", "佐野市"),
        ("さの", "佐野市"),
        ("なすしおばらし", "那須塩原市"),
    ],
)
def test_tochigi_municipalities_by_name_or_reading(db_session: Any, typed: str, name: str) -> None:
    assert find_municipality(db_session, typed, prefecture="栃木県").name == name


@pytest.mark.parametrize(
    ("typed", "name"),
    [("千葉市中央区", "千葉市"), ("千葉県千葉市中央区", "千葉市"), ("ちばし", "千葉市")],
)
def test_ward_names_and_readings_in_chiba(db_session: Any, typed: str, name: str) -> None:
    assert find_municipality(db_session, typed, prefecture="千葉県").name == name


def test_a_reading_shared_by_two_places_asks_for_the_name(db_session: Any) -> None:
    # ふちゅうし: 府中市 in Tokyo and in Hiroshima; without a prefecture it is ambiguous.
    with pytest.raises(
        ServiceError, match="「ふちゅうし」は広島県府中市、東京都府中市のどれかです"
    ):
        find_municipality(db_session, "ふちゅうし")


def test_event_form_offers_the_programs_municipalities_and_takes_typed_times(
    client: Any, db_session: Any, login_as: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from supporters.dispatch.models import DispatchEvent
    from tests.conftest import post_form

    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/dispatch/new").get_data(as_text=True)
    assert 'list="municipalities-' in page and "<datalist" in page
    assert '<option value="那須塩原市">' in page and '<option value="高松市">' not in page
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    response = post_form(
        client,
        "/dispatch/new",
        {
            "title": "出張相談会",
            "activity": "sitting_in",
            "municipality": "さのし",
            "venue": "佐野市保健センター",
            "date": day,
            "start": "１３時３０分",
            "end": "1600",
            "needed": "2",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    event = db_session.scalar(select(DispatchEvent).where(DispatchEvent.title == "出張相談会"))
    assert event.municipality.name == "佐野市"
    assert event.starts_at.astimezone(event.starts_at.tzinfo).hour in (4, 13)
    local = event.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert (local.hour, local.minute) == (13, 30)


def test_examples_come_from_the_programs_own_prefecture(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="chiba"))
    page = client.get("/dispatch/new").get_data(as_text=True)
    assert "佐野市保健センター" not in page
    assert "千葉県" in page or "千葉市" in page


def test_session_times_and_import_places_use_the_same_parsers(
    client: Any, db_session: Any, login_as: Any
) -> None:
    from datetime import UTC, datetime

    from supporters.people.models import Person
    from supporters.training.importer import import_trainees
    from supporters.training.models import CourseSession
    from tests.conftest import post_form

    course = factories.course(db_session, program_code="chiba")
    text = (
        "氏名,フリガナ,居住市町村\r\n"
        "千葉 花子,チバ ハナコ,千葉市中央区\r\n"
        "佐倉 一郎,サクラ イチロウ,さくらし\r\n"
    )
    report = import_trainees(
        db_session,
        actor=None,
        course=course,
        data=text.encode("cp932"),
        now=datetime(2024, 4, 10, tzinfo=UTC),
    )
    assert report.ok, report.errors
    from sqlalchemy import select

    places = {p.name: p.residence_municipality.name for p in db_session.scalars(select(Person))}
    assert places == {"千葉 花子": "千葉市", "佐倉 一郎": "佐倉市"}
    login_as(factories.coordinator(db_session, program_code="chiba"))
    response = post_form(
        client,
        f"/courses/{course.id}/sessions/new",
        {"date": "2030-06-01", "start_time": "１０時", "end_time": "1200", "topic": "基礎"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    day = datetime(2030, 6, 1).date()
    added = db_session.scalar(select(CourseSession).where(CourseSession.date == day))
    assert (added.start_time, added.end_time) == (time(10, 0), time(12, 0))


@pytest.mark.parametrize(
    ("code", "mine", "other"), [("chiba", "習志野市", "佐野市"), ("kagawa", "高松市", "佐野市")]
)
def test_enrol_form_suggests_and_exemplifies_the_programs_municipalities(
    client: Any, db_session: Any, login_as: Any, code: str, mine: str, other: str
) -> None:
    course = factories.course(db_session, program_code=code)
    login_as(factories.coordinator(db_session, program_code=code))
    page = client.get(f"/courses/{course.id}/enrol").get_data(as_text=True)
    assert f'list="municipalities-{code}"' in page
    assert f'<option value="{mine}">' in page and f'<option value="{other}">' not in page
    assert "e.g. 高松市" not in page or code == "kagawa"
    hint = page[page.index('id="residence-hint"') :]
    assert other not in hint[: hint.index("</p>")]
