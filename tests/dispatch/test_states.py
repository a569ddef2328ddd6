"""Issue 13 item 5: the event's state and counts say what is true."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from supporters.core.time import TOKYO
from supporters.db import ServiceError
from supporters.dispatch import places, services
from supporters.dispatch.models import Assignment, ProgramMunicipality
from supporters.dispatch.schedule import schedule
from tests import factories
from tests.conftest import post_form

NOW = datetime(2030, 5, 1, tzinfo=UTC)


def test_staffed_only_when_every_place_is_confirmed(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    event = factories.dispatch_event(db_session, needed=2)
    a, b = (factories.valid_registration(db_session, n=i) for i in range(2))
    first = services.assign(db_session, actor=admin, event=event, registration=a, now=NOW)
    second = services.assign(db_session, actor=admin, event=event, registration=b, now=NOW)
    assert event.state == "open"  # two asked, nobody answered: not 充足
    assert places.place_counts(db_session, [event])[event.id] == places.PlaceCount(
        confirmed=0, waiting=2, attended=0
    )
    services.answer_assignment(db_session, actor=admin, assignment=first, accept=True, now=NOW)
    assert event.state == "open"
    services.answer_assignment(db_session, actor=admin, assignment=second, accept=True, now=NOW)
    assert event.state == "staffed"
    services.cancel_assignment(
        db_session, actor=admin, assignment=second, now=NOW, by_supporter=False
    )
    assert event.state == "open"
    # The places held by unanswered requests still count against overbooking.
    third = factories.valid_registration(db_session, n=3)
    services.assign(db_session, actor=admin, event=event, registration=third, now=NOW)
    fourth = factories.valid_registration(db_session, n=4)
    with pytest.raises(ServiceError, match="この出張相談会への同席は満員です"):
        services.sign_up(db_session, actor=admin, event=event, registration=fourth, now=NOW)


@pytest.mark.parametrize(
    ("offset", "allowed"),
    [(-timedelta(minutes=1), False), (timedelta(0), True), (timedelta(days=1), True)],
)
def test_held_only_after_the_end(db_session: Any, offset: timedelta, allowed: bool) -> None:
    admin = factories.admin_user(db_session)
    # 13:00-16:00 in Japan = 04:00-07:00 UTC
    event = factories.dispatch_event(db_session, needed=2)
    regs = [factories.valid_registration(db_session, n=i) for i in range(2)]
    taken = [
        services.sign_up(db_session, actor=admin, event=event, registration=r, now=NOW)
        for r in regs
    ]
    at = event.ends_at + offset
    ids = {a.id for a in taken}
    if not allowed:
        with pytest.raises(ServiceError, match="出席は、派遣が終了した後に記録できます"):
            services.record_attendance(
                db_session, actor=admin, event=event, attended_ids=ids, now=at
            )
        assert event.state == "staffed"
        return
    services.record_attendance(db_session, actor=admin, event=event, attended_ids=ids, now=at)
    assert event.state == "held"
    # A held event counts those who came: 2/2, not 0/2.
    counts = places.place_counts(db_session, [event])[event.id]
    assert counts.filled == 2 and counts.attended == 2


@pytest.mark.parametrize(
    ("starts", "allowed"),
    [
        (datetime(2030, 4, 30, 1, 0, tzinfo=UTC), False),  # the day before
        (NOW, False),  # at this very moment
        (NOW + timedelta(hours=1), True),  # later the same day (10:00 in Japan)
        (NOW + timedelta(days=1), True),
    ],
)
def test_a_request_for_a_past_time_is_refused(
    db_session: Any, starts: datetime, allowed: bool
) -> None:
    chiba = factories.program(db_session, code="chiba")
    narashino = factories.municipality(db_session, name="習志野市", prefecture="千葉県")
    db_session.add(
        ProgramMunicipality(
            program_id=chiba.id, municipality_id=narashino.id, joined_on=date(2024, 4, 1)
        )
    )
    staff = factories.municipal_staff(
        db_session, program_code="chiba", municipality_name="習志野市"
    )
    data = services.EventInput(
        title="家族会",
        municipality_id=narashino.id,
        venue="保健会館",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        needed=2,
        activity="family_meeting",
    )
    if allowed:
        event = services.request_dispatch(
            db_session, actor=staff, program=chiba, data=data, now=NOW
        )
        assert event.state == "requested"
        # Accepting it once its time has passed is refused as well.
        with pytest.raises(ServiceError, match="依頼の日時が過ぎています"):
            services.accept_request(db_session, actor=staff, event=event, now=starts)
        services.accept_request(
            db_session, actor=staff, event=event, now=starts - timedelta(minutes=1)
        )
        assert event.state == "open"
    else:
        with pytest.raises(
            ServiceError, match="過去の日時です。これから先の日時で依頼してください"
        ) as raised:
            services.request_dispatch(db_session, actor=staff, program=chiba, data=data, now=NOW)
        assert raised.value.field == "date"


def test_schedule_folds_cancelled_and_declined_into_one_line(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    event = factories.dispatch_event(db_session, needed=2)
    other = factories.dispatch_event(
        db_session, place="那須町", starts_at=event.starts_at + timedelta(days=1)
    )
    reg = factories.valid_registration(db_session)
    for _ in range(2):
        taken = services.sign_up(db_session, actor=admin, event=event, registration=reg, now=NOW)
        services.cancel_assignment(
            db_session, actor=admin, assignment=taken, now=NOW, by_supporter=False
        )
    asked = services.assign(db_session, actor=admin, event=event, registration=reg, now=NOW)
    services.answer_assignment(db_session, actor=admin, assignment=asked, accept=False, now=NOW)
    upcoming, _past = schedule(db_session, reg.person_id, now=NOW)
    assert [a.event_id for a in upcoming] == [event.id]
    assert upcoming[0].id == asked.id  # the latest answer is the one shown
    # A live place wins over earlier cancelled ones; another event keeps its own line.
    again = services.sign_up(db_session, actor=admin, event=event, registration=reg, now=NOW)
    services.sign_up(db_session, actor=admin, event=other, registration=reg, now=NOW)
    upcoming, _past = schedule(db_session, reg.person_id, now=NOW)
    assert [a.event_id for a in upcoming] == [event.id, other.id]
    assert upcoming[0].id == again.id
    # The calendar feed folds them the same way.
    from supporters.dispatch.calendar import feed_assignments

    feed = feed_assignments(db_session, reg.person_id, now=NOW)
    assert [(a.event_id, a.id) for a in feed] == [(event.id, again.id), (other.id, feed[1].id)]


def _soon(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


def test_pages_show_confirmed_waiting_and_attended(
    client: Any, db_session: Any, login_as: Any
) -> None:
    admin = factories.admin_user(db_session)
    coordinator = factories.coordinator(db_session, program_code="tochigi")
    event = factories.dispatch_event(db_session, needed=2, starts_at=_soon(3))
    regs = [factories.valid_registration(db_session, n=i) for i in range(2)]
    now = datetime.now(UTC)
    for reg in regs:
        services.assign(db_session, actor=admin, event=event, registration=reg, now=now)
    db_session.commit()
    login_as(coordinator)
    month = event.starts_at.astimezone(TOKYO).strftime("%Y-%m")
    listing = client.get("/dispatch/", query_string={"month": month}).get_data(as_text=True)
    assert "充足" not in listing
    assert "0/2" in listing and "回答待ち 2" in listing
    page = client.get(f"/dispatch/{event.id}").get_data(as_text=True)
    assert "0/2" in page and "回答待ち 2" in page

    held = factories.dispatch_event(db_session, needed=2, starts_at=_soon(-3))
    for reg in regs:
        db_session.add(
            Assignment(
                event_id=held.id,
                registration_id=reg.id,
                person_id=reg.person_id,
                starts_at=held.starts_at,
                ends_at=held.ends_at,
                state="confirmed",
                source="self",
            )
        )
    db_session.commit()
    ids = [
        str(a.id)
        for a in db_session.scalars(select(Assignment).where(Assignment.event_id == held.id))
    ]
    post_form(
        client,
        f"/dispatch/{held.id}/attendance",
        {"attended": ids},
        form_url=f"/dispatch/{held.id}",
    )
    page = client.get(f"/dispatch/{held.id}").get_data(as_text=True)
    assert "実施済み" in page and "2/2" in page
    month = held.starts_at.astimezone(TOKYO).strftime("%Y-%m")
    listing = client.get("/dispatch/", query_string={"month": month}).get_data(as_text=True)
    assert "2/2" in listing


def test_staff_start_page_counts_confirmed_places_only(
    client: Any, db_session: Any, login_as: Any
) -> None:
    admin = factories.admin_user(db_session)
    event = factories.dispatch_event(db_session, needed=2, starts_at=_soon(4))
    now = datetime.now(UTC)
    for n in range(2):
        reg = factories.valid_registration(db_session, n=n)
        services.assign(db_session, actor=admin, event=event, registration=reg, now=now)
    db_session.commit()
    login_as(
        factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市")
    )
    page = client.get("/").get_data(as_text=True)
    row = page[page.index(f'data-event="{event.id}"') :]
    row = row[: row.index("</tr>")]
    assert "0 / 2" in row and "充足" not in row
