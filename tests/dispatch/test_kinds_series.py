"""Several kinds of activity per program (program data) and repeating events (issue 16,
item 5)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import func, select, text

from supporters.core.time import TOKYO, local_date
from supporters.db import ServiceError
from supporters.dispatch import kinds, series, services
from supporters.dispatch.models import DispatchEvent, ProgramMunicipality
from tests import factories
from tests.conftest import post_form

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def _input(db_session: Any, program: Any, place: str, day: date, **kw: Any) -> Any:
    where = factories.municipality(db_session, name=place, prefecture=program.prefecture)
    return services.EventInput(
        title="家族の集い",
        municipality_id=where.id,
        venue="佐野市保健センター",
        starts_at=datetime.combine(day, time(13, 30), TOKYO),
        ends_at=datetime.combine(day, time(16, 0), TOKYO),
        needed=2,
        activity="drop_in",
        **kw,
    )


def test_each_programs_kinds_and_words_come_from_the_migration(db_session: Any) -> None:
    found = {
        code: [
            (k.code, k.name_ja, k.event_kind, k.taking_part_ja, k.organised_by_supporters)
            for k in kinds.program_kinds(db_session, factories.program(db_session, code=code))
        ]
        for code in ("tochigi", "chiba", "kagawa")
    }
    assert found["tochigi"] == [
        ("outreach_day", "出張相談会への同席", "outreach_day", "出張相談会への同席", False),
        ("supporter_place", "サポーターが運営する居場所", "group_activity", "活動への参加", True),
    ]
    assert [(c, w) for c, _n, _e, w, _o in found["chiba"]] == [
        ("phone", "派遣"),
        ("visit", "派遣"),
        ("ibasho", "活動への参加"),
    ]
    assert [n for _c, n, _e, _w, _o in found["kagawa"]] == ["家族会", "当事者会", "居場所"]
    assert {e for _c, _n, e, _w, _o in found["kagawa"]} == {"group_activity"}


def test_an_event_takes_the_chosen_kind_and_its_mechanic(db_session: Any) -> None:
    tochigi = factories.program(db_session, code="tochigi")
    admin = factories.admin_user(db_session)
    outreach, place = kinds.program_kinds(db_session, tochigi)
    default = services.create_event(
        db_session,
        actor=admin,
        program=tochigi,
        data=_input(db_session, tochigi, "佐野市", date(2026, 12, 5)),
    )
    assert default.activity_kind_id == outreach.id and default.kind == "outreach_day"
    chosen = services.create_event(
        db_session,
        actor=admin,
        program=tochigi,
        data=_input(db_session, tochigi, "佐野市", date(2026, 12, 6), activity_kind_id=place.id),
    )
    assert chosen.activity_kind_id == place.id and chosen.kind == "group_activity"
    kagawa = factories.program(db_session, code="kagawa")
    kagawa_kind = kinds.program_kinds(db_session, kagawa)[0]
    # Without a choice, the program's kind the report activity fits (居場所 for drop_in).
    fits = services.create_event(
        db_session,
        actor=admin,
        program=kagawa,
        data=_input(db_session, kagawa, "高松市", date(2026, 12, 5)),
    )
    assert fits.activity_kind is not None and fits.activity_kind.code == "ibasho"
    with pytest.raises(ServiceError) as refused:
        services.create_event(
            db_session,
            actor=admin,
            program=tochigi,
            data=_input(
                db_session, tochigi, "佐野市", date(2026, 12, 7), activity_kind_id=kagawa_kind.id
            ),
        )
    assert refused.value.code == "activity_kind_unknown"


def test_second_saturday_for_six_months_with_a_holiday_flagged(db_session: Any) -> None:
    tochigi = factories.program(db_session, code="tochigi")
    place = kinds.program_kinds(db_session, tochigi)[1]
    events, dates = series.create_series(
        db_session,
        actor=factories.admin_user(db_session),
        program=tochigi,
        data=_input(db_session, tochigi, "佐野市", date(2026, 12, 12), activity_kind_id=place.id),
        repeat=series.Repeat.MONTHLY_NTH_WEEKDAY,
        until=date(2027, 5, 31),
    )
    assert [local_date(e.starts_at) for e in events] == [
        date(2026, 12, 12),
        date(2027, 1, 9),
        date(2027, 2, 13),
        date(2027, 3, 13),
        date(2027, 4, 10),
        date(2027, 5, 8),
    ]
    assert {e.starts_at.astimezone(TOKYO).time() for e in events} == {time(13, 30)}
    assert len({e.series_id for e in events}) == 1 and events[0].series_id
    assert {e.activity_kind_id for e in events} == {place.id}
    assert [d.holiday for d in dates] == [None] * 6
    # 第2月曜 in January is 成人の日: flagged, still created.
    flagged = series.occurrences(
        date(2027, 1, 11), series.Repeat.MONTHLY_NTH_WEEKDAY, date(2027, 3, 1)
    )
    assert [d.day for d in flagged] == [date(2027, 1, 11), date(2027, 2, 8)]
    assert flagged[0].holiday == "成人の日" and flagged[1].holiday is None


def test_weekly_series_and_its_limits(db_session: Any) -> None:
    days = series.occurrence_days(date(2026, 12, 12), series.Repeat.WEEKLY, date(2026, 12, 26))
    assert days == [date(2026, 12, 12), date(2026, 12, 19), date(2026, 12, 26)]
    assert (
        len(series.occurrence_days(date(2026, 12, 1), series.Repeat.WEEKLY, date(2027, 5, 11)))
        == 24
    )
    with pytest.raises(ServiceError) as too_long:
        series.occurrence_days(date(2026, 12, 1), series.Repeat.WEEKLY, date(2027, 5, 18))
    assert too_long.value.code == "series_too_long"
    with pytest.raises(ServiceError) as backwards:
        series.occurrence_days(date(2026, 12, 12), series.Repeat.WEEKLY, date(2026, 12, 11))
    assert backwards.value.code == "series_until_before_start"


def test_a_series_is_all_or_nothing_when_one_date_clashes(db_session: Any) -> None:
    tochigi = factories.program(db_session, code="tochigi")
    admin = factories.admin_user(db_session)
    services.create_event(
        db_session,
        actor=admin,
        program=tochigi,
        data=_input(db_session, tochigi, "佐野市", date(2027, 3, 13)),
    )
    before = db_session.scalar(select(func.count()).select_from(DispatchEvent))
    with pytest.raises(ServiceError, match="2027/03/13") as refused:
        series.create_series(
            db_session,
            actor=admin,
            program=tochigi,
            data=_input(db_session, tochigi, "佐野市", date(2026, 12, 12)),
            repeat=series.Repeat.MONTHLY_NTH_WEEKDAY,
            until=date(2027, 5, 31),
        )
    assert refused.value.code == "series_venue_clash"
    assert db_session.scalar(select(func.count()).select_from(DispatchEvent)) == before
    # One bad date (a time ending before it starts) refuses all of them as well.
    bad = _input(db_session, tochigi, "佐野市", date(2026, 12, 19))
    bad.ends_at = bad.starts_at
    with pytest.raises(ServiceError):
        series.create_series(
            db_session,
            actor=admin,
            program=tochigi,
            data=bad,
            repeat=series.Repeat.WEEKLY,
            until=date(2027, 1, 9),
        )
    assert db_session.scalar(select(func.count()).select_from(DispatchEvent)) == before


def test_cancel_a_series_from_a_date(db_session: Any) -> None:
    tochigi = factories.program(db_session, code="tochigi")
    admin = factories.admin_user(db_session)
    events, _dates = series.create_series(
        db_session,
        actor=admin,
        program=tochigi,
        data=_input(db_session, tochigi, "佐野市", date(2026, 12, 12)),
        repeat=series.Repeat.MONTHLY_NTH_WEEKDAY,
        until=date(2027, 5, 31),
    )
    reg = factories.valid_registration(db_session)
    taken = services.sign_up(db_session, actor=admin, event=events[4], registration=reg, now=NOW)
    # The day after an occurrence: that occurrence stays.
    told = series.cancel_series_from(
        db_session, actor=admin, event=events[0], from_day=date(2027, 3, 14), reason="会場の改修"
    )
    assert [a.id for a in told] == [taken.id]
    assert [e.state for e in events] == ["open"] * 4 + ["cancelled"] * 2
    # On the day: it goes; the day before stays.
    series.cancel_series_from(
        db_session, actor=admin, event=events[0], from_day=date(2027, 3, 13), reason="会場の改修"
    )
    assert [e.state for e in events] == ["open"] * 3 + ["cancelled"] * 3
    # Sent twice: nothing is left to cancel, and nothing else changes.
    with pytest.raises(ServiceError) as again:
        series.cancel_series_from(
            db_session, actor=admin, event=events[0], from_day=date(2027, 3, 13), reason="x"
        )
    assert again.value.code == "series_nothing_to_cancel"
    assert [e.state for e in events] == ["open"] * 3 + ["cancelled"] * 3


def test_event_form_offers_the_programs_kinds_and_repeats(
    client: Any, db_session: Any, login_as: Any
) -> None:
    kagawa = factories.program(db_session, code="kagawa")
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    page = client.get("/dispatch/new").get_data(as_text=True)
    offered = re.search(r'<select[^>]*name="activity_kind".*?</select>', page, re.S)
    assert offered is not None
    assert re.findall(r">([^<]+)</option>", offered.group(0)) == ["家族会", "当事者会", "居場所"]
    peer = kinds.program_kinds(db_session, kagawa)[1]
    data = {
        "title": "当事者会",
        "activity_kind": str(peer.id),
        "activity": "other",
        "municipality": "高松市",
        "venue": "高松市総合福祉会館",
        "date": "2026-12-12",
        "start": "13:30",
        "end": "15:30",
        "needed": "2",
        "repeat": "monthly_nth_weekday",
        "repeat_until": "2027-05-31",
    }
    response = post_form(client, "/dispatch/new", data, form_url="/dispatch/new")
    assert response.status_code == 302
    created = list(db_session.scalars(select(DispatchEvent).order_by(DispatchEvent.starts_at)))
    assert len(created) == 6 and {e.activity_kind_id for e in created} == {peer.id}
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "当事者会" in detail and "活動への参加" in detail
    # Sent twice: the same dates clash at the same venue, and nothing more is created.
    again = post_form(client, "/dispatch/new", data, form_url="/dispatch/new")
    assert again.status_code == 200
    assert db_session.scalar(select(func.count()).select_from(DispatchEvent)) == 6
    # A supporter holds a place in April; cancelling the rest of the series tells them, in
    # the program's word for taking part.
    reg = factories.valid_registration(db_session, program_code="kagawa", n=3)
    supporter = factories.supporter(db_session, program_code="kagawa", email="sup3@example.jp")
    supporter.person_id = reg.person_id
    services.sign_up(db_session, actor=supporter, event=created[4], registration=reg, now=NOW)
    db_session.commit()
    # Cancel the rest of the series from March on.
    response = post_form(
        client,
        f"/dispatch/{created[0].id}/cancel-series",
        {"reason": "会場の改修", "from_day": "2027-03-01"},
        form_url=f"/dispatch/{created[0].id}",
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert [e.state for e in created] == ["open"] * 3 + ["cancelled"] * 3
    mails = db_session.execute(
        text("SELECT recipient, body_text FROM outbox_message WHERE kind = 'dispatch_changed'")
    ).all()
    assert [m.recipient for m in mails] == ["sup3@example.jp"]
    assert "活動への参加: 当事者会" in mails[0].body_text


def test_a_municipal_request_takes_only_a_request_kind(db_session: Any) -> None:
    chiba = factories.program(db_session, code="chiba")
    phone, visit, ibasho = kinds.program_kinds(db_session, chiba)
    staff = factories.admin_user(db_session)
    place = factories.municipality(db_session, name="千葉市", prefecture="千葉県")
    if not services.municipality_in_scheme(db_session, chiba, place.id):
        db_session.add(
            ProgramMunicipality(
                program_id=chiba.id, municipality_id=place.id, joined_on=date(2024, 4, 1)
            )
        )
        db_session.flush()
    for kind_id, expected in ((None, phone.id), (visit.id, visit.id)):
        made = services.request_dispatch(
            db_session,
            actor=staff,
            program=chiba,
            data=_input(db_session, chiba, "千葉市", date(2026, 12, 14), activity_kind_id=kind_id),
            now=NOW,
        )
        assert made.activity_kind_id == expected and made.kind == "dispatch_request"
    with pytest.raises(ServiceError) as refused:
        services.request_dispatch(
            db_session,
            actor=staff,
            program=chiba,
            data=_input(
                db_session, chiba, "千葉市", date(2026, 12, 15), activity_kind_id=ibasho.id
            ),
            now=NOW,
        )
    assert refused.value.code == "activity_kind_unknown"
