"""Demo dispatches: Tochigi outreach days in Sano, Nasu and Nasushiobara (also in FY2023,
so that year's report shows them); Chiba requests filed by Narashino's and Sakura's own
staff; Kagawa drop-in sessions; Sano's supporter-run family place, monthly on the second
Saturday (a series). Past (held, attended) and future (some fully staffed, some
understaffed), and each demo supporter has upcoming dispatches."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from supporters.accounts.models import User
from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession, ServiceError
from supporters.dispatch import finding, services
from supporters.dispatch.models import (
    Assignment,
    AssignmentState,
    DispatchEvent,
    ProgramActivityKind,
    ProgramMunicipality,
)
from supporters.dispatch.places import holding_count
from supporters.dispatch.series import Repeat, create_series
from supporters.programs.models import Municipality, Program
from supporters.registry.models import Registration

# Full, clashing or not valid that day: the demo simply skips that supporter.
skip_refusals = suppress(ServiceError)

PLANS: dict[str, dict[str, Any]] = {
    "tochigi": {
        "places": ["佐野市", "那須町", "那須塩原市"],
        "title": "出張相談会（{place}）",
        "venue": {
            "佐野市": "佐野市保健センター 相談室",
            "那須町": "那須町ゆめプラザ・那須 会議室",
            "那須塩原市": "那須塩原市役所 本庁舎 相談室",
        },
        "activity": "sitting_in",
        "needed": 2,
        "hours": (13, 16),
        "lead": "ポラリスとちぎ 相談員",
    },
    "chiba": {
        "places": ["習志野市", "佐倉市"],
        "title": "派遣依頼：家族会への同席（{place}）",
        "venue": {"習志野市": "習志野市保健会館 会議室", "佐倉市": "佐倉市健康管理センター 会議室"},
        "activity": "family_meeting",
        "needed": 2,
        "hours": (10, 12),
        "lead": "",
    },
    "kagawa": {
        "places": ["高松市", "丸亀市"],
        "title": "居場所（{place}）",
        "venue": {
            "高松市": "高松市男女共同参画センター 交流室",
            "丸亀市": "丸亀市保健福祉センター 多目的室",
        },
        "activity": "drop_in",
        "needed": 3,
        "hours": (14, 17),
        "lead": "",
    },
}
# Each scheme municipality files its own requests (the seed: municipalities run the dispatch).
REQUESTING_STAFF = {
    "習志野市": "staff.narashino@demo.example",
    "佐倉市": "staff.sakura@demo.example",
}
# Tochigi's outreach days in FY2023 (令和5年度), so that year's report has dispatches.
FY2023_DAYS = [
    date(2023, 5, 17),
    date(2023, 7, 19),
    date(2023, 9, 20),
    date(2023, 11, 15),
    date(2024, 1, 17),
    date(2024, 3, 13),
]
# Sano's monthly family place, run by its supporters themselves (the seed: 市のサポーターは
# 月1回の家族支援場所を自主的に運営している).
SANO_PLACE = "佐野市 家族支援の場（サポーター運営）"
DEMO_SUPPORTERS = {
    "tochigi": "supporter.tochigi@demo.example",
    "chiba": "supporter.chiba@demo.example",
    "kagawa": "supporter.kagawa@demo.example",
}


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), TOKYO)


def load_dispatch_demo(session: DbSession, programs: dict[str, Program], now: datetime) -> None:
    today = local_date(now)
    for code, plan in PLANS.items():
        program = programs[code]
        if session.scalar(select(DispatchEvent.id).where(DispatchEvent.program_id == program.id)):
            continue
        coordinator = session.scalar(
            select(User).where(User.email == f"coordinator.{code}@demo.example")
        )
        assert coordinator is not None
        places = list(
            session.scalars(
                select(Municipality).where(
                    Municipality.prefecture == program.prefecture,
                    Municipality.name.in_(plan["places"]),
                )
            )
        )
        for place in places:
            session.add(
                ProgramMunicipality(
                    program_id=program.id, municipality_id=place.id, joined_on=date(2019, 4, 1)
                )
            )
        session.flush()
        demo_user = session.scalar(select(User).where(User.email == DEMO_SUPPORTERS[code]))
        demo_registration = (
            session.scalar(
                select(Registration).where(
                    Registration.person_id == demo_user.person_id,
                    Registration.program_id == program.id,
                )
            )
            if demo_user
            else None
        )
        _events(session, program, coordinator, plan, places, today, now, demo_registration)
    _tochigi_fy2023(session, programs["tochigi"], now)
    _sano_place(session, programs["tochigi"], today, now)


def _coordinator(session: DbSession, code: str) -> User:
    coordinator = session.scalar(
        select(User).where(User.email == f"coordinator.{code}@demo.example")
    )
    assert coordinator is not None
    return coordinator


def _tochigi_fy2023(session: DbSession, program: Program, now: datetime) -> None:
    """Held and staffed outreach days in FY2023. Skipped if the program has any that year."""
    start, end = _at(date(2023, 4, 1), 0), _at(date(2024, 4, 1), 0)
    if session.scalar(
        select(DispatchEvent.id).where(
            DispatchEvent.program_id == program.id,
            DispatchEvent.starts_at >= start,
            DispatchEvent.starts_at < end,
        )
    ):
        return
    plan = PLANS["tochigi"]
    places = sorted(
        session.scalars(
            select(Municipality).where(
                Municipality.prefecture == program.prefecture,
                Municipality.name.in_(plan["places"]),
            )
        ),
        key=lambda m: plan["places"].index(m.name),
    )
    coordinator = _coordinator(session, "tochigi")
    _events(session, program, coordinator, plan, places, local_date(now), now, None, FY2023_DAYS)


def _second_saturday_after(today: date) -> date:
    day = today + timedelta(days=(5 - today.weekday()) % 7)  # the next Saturday
    while (day.day - 1) // 7 != 1:
        day += timedelta(days=7)
    return day


def _sano_place(session: DbSession, program: Program, today: date, now: datetime) -> None:
    """Sano's supporter-run place: every second Saturday for the next months, as a series.
    Skipped if it exists, or if the program has no kind for supporter-run places."""
    kind = session.scalar(
        select(ProgramActivityKind).where(
            ProgramActivityKind.program_id == program.id,
            ProgramActivityKind.organised_by_supporters.is_(True),
            ProgramActivityKind.active.is_(True),
        )
    )
    if kind is None or session.scalar(
        select(DispatchEvent.id).where(
            DispatchEvent.program_id == program.id, DispatchEvent.title == SANO_PLACE
        )
    ):
        return
    sano = session.scalar(
        select(Municipality).where(
            Municipality.prefecture == program.prefecture, Municipality.name == "佐野市"
        )
    )
    assert sano is not None
    first = _second_saturday_after(today + timedelta(days=1))
    data = services.EventInput(
        title=SANO_PLACE,
        municipality_id=sano.id,
        venue="佐野市市民活動センター 会議室",
        starts_at=_at(first, 13),
        ends_at=_at(first, 15),
        needed=3,
        activity=kind.activity,
        activity_kind_id=kind.id,
        bring="筆記用具、サポーター証",
        notes="サポーターが自主的に運営する月1回の家族支援の場です。",
    )
    coordinator = _coordinator(session, "tochigi")
    events, _ = create_series(
        session,
        actor=coordinator,
        program=program,
        data=data,
        repeat=Repeat.MONTHLY_NTH_WEEKDAY,
        until=first + timedelta(days=150),
    )
    demo_user = session.scalar(select(User).where(User.email == DEMO_SUPPORTERS["tochigi"]))
    demo = (
        session.scalar(
            select(Registration).where(
                Registration.person_id == demo_user.person_id,
                Registration.program_id == program.id,
            )
        )
        if demo_user is not None and demo_user.person_id is not None
        else None
    )
    if demo is not None:
        for event in events[:2]:
            with skip_refusals:
                services.sign_up(
                    session, actor=coordinator, event=event, registration=demo, now=now
                )


def _events(
    session: DbSession,
    program: Program,
    coordinator: User,
    plan: dict[str, Any],
    places: list[Municipality],
    today: date,
    now: datetime,
    demo: Registration | None,
    days: list[date] | None = None,
) -> None:
    start_hour, end_hour = plan["hours"]
    # Every two weeks from three months back to two months ahead.
    days = days or [today - timedelta(days=84) + timedelta(days=14 * k) for k in range(11)]
    for index, day in enumerate(days):
        place = places[index % len(places)]
        needed = plan["needed"] + (1 if index % 4 == 3 else 0)
        data = services.EventInput(
            title=plan["title"].format(place=place.name),
            municipality_id=place.id,
            venue=plan["venue"][place.name],
            starts_at=_at(day, start_hour),
            ends_at=_at(day, end_hour),
            needed=needed,
            activity=plan["activity"],
            lead_consultant=plan["lead"],
            bring="筆記用具、サポーター証",
            notes="開始15分前に集合してください。相談内容は記録せず、持ち帰らないでください。",
        )
        if program.dispatch_mode == "municipal_request":
            staff = session.scalar(
                select(User).where(User.email == REQUESTING_STAFF.get(place.name, ""))
            )
            asked = min(now, data.starts_at) - timedelta(days=14)  # requested ahead of time
            event = services.request_dispatch(
                session, actor=staff or coordinator, program=program, data=data, now=asked
            )
            if index == len(days) - 1:
                continue  # the newest request waits for the coordinator
            services.accept_request(session, actor=coordinator, event=event, now=asked)
        else:
            event = services.create_event(session, actor=coordinator, program=program, data=data)
        past = event.ends_at <= now
        # Staff the event; leave some future ones short.
        wanted = needed if past or index % 3 != 1 else needed - 1
        clock = min(now, event.starts_at) - timedelta(days=10)
        # The demo supporter: one past dispatch (to report on), some upcoming ones, and a
        # request still waiting for their answer.
        if demo is not None and (index == len(days) // 2 - 1 or (day > today and index % 2 == 0)):
            with skip_refusals:
                services.sign_up(
                    session, actor=coordinator, event=event, registration=demo, now=clock
                )
        for suggestion in finding.suggestions(session, event, now=clock, limit=wanted + 2):
            if holding_count(session, event) >= wanted:
                break
            with skip_refusals:
                services.assign(
                    session,
                    actor=coordinator,
                    event=event,
                    registration=suggestion.registration,
                    now=clock,
                )
        if demo is not None and day > today and index % 2 == 1:
            with skip_refusals:
                services.assign(
                    session, actor=coordinator, event=event, registration=demo, now=clock
                )
        assignments = list(
            session.scalars(select(Assignment).where(Assignment.event_id == event.id))
        )
        for number, assignment in enumerate(assignments):
            waits_for_demo = demo is not None and assignment.registration_id == demo.id
            if assignment.state == AssignmentState.ASSIGNED and (
                past or (number % 2 == 0 and not waits_for_demo)
            ):
                services.answer_assignment(
                    session, actor=coordinator, assignment=assignment, accept=True, now=clock
                )
        if past:
            attended = {a.id for a in assignments if (event.id + a.id) % 6 != 5}
            services.record_attendance(
                session, actor=coordinator, event=event, attended_ids=attended, now=now
            )
