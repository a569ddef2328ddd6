"""What the coordinators' and municipal staff's pages list: the month view, the lists a start
page's number leads to, an event's places. Every list is scoped by the viewer's grants, in
the query."""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from supporters.core.time import TOKYO
from supporters.db import DbSession
from supporters.dispatch.models import Assignment, DispatchEvent, EventState
from supporters.dispatch.permissions import visible_event_filter
from supporters.dispatch.places import PlaceCount
from supporters.dispatch.services import EVENT_LISTS, unconfirmed_condition
from supporters.programs.models import Program
from supporters.registry.models import Registration

MONTH_LIMIT = 500
LIST_LIMIT = 1000


def month_events(
    session: DbSession, viewer: Any, first: date, *, municipality_id: int | None = None
) -> list[DispatchEvent]:
    """The events the viewer may see that start in the month of `first` (Japan time),
    optionally in one municipality."""
    last_day = month_calendar.monthrange(first.year, first.month)[1]
    start = datetime.combine(first, time(0), TOKYO)
    end = datetime.combine(first.replace(day=last_day), time(0), TOKYO) + timedelta(days=1)
    query = (
        select(DispatchEvent)
        .options(joinedload(DispatchEvent.municipality))
        .where(
            visible_event_filter(viewer),
            DispatchEvent.starts_at >= start,
            DispatchEvent.starts_at < end,
        )
    )
    if municipality_id is not None:
        query = query.where(DispatchEvent.municipality_id == municipality_id)
    return list(session.scalars(query.order_by(DispatchEvent.starts_at).limit(MONTH_LIMIT)))


@dataclass(frozen=True)
class MonthLine:
    """What the month view shows of one event, worked out once (the page shows each event
    three times: in the grid, the phone's agenda and the table)."""

    url: str
    when: str  # 2030年5月10日（金） 13:00–16:00
    starts: str  # 13:00, Japan time (the grid and the agenda, under the day)
    filled: int  # over the places needed
    short: bool  # open or staffed, and not enough confirmed or asked


def is_short(event: DispatchEvent, count: PlaceCount | None) -> bool:
    """An open or staffed event whose confirmed and asked supporters are fewer than it
    needs (the rule of the `is_short` macro in templates/dispatch/_places.html)."""
    asked = (count.confirmed + count.waiting) if count else 0
    return event.state in (EventState.OPEN, EventState.STAFFED) and asked < event.needed


def month_lines(
    events: list[DispatchEvent],
    taken: dict[int, PlaceCount],
    *,
    url: Callable[[int], str],
    when: Callable[[DispatchEvent], str],
) -> dict[int, MonthLine]:
    """{event id: its line}, each worked out once."""
    return {
        e.id: MonthLine(
            url=url(e.id),
            when=when(e),
            starts=e.starts_at.astimezone(TOKYO).strftime("%H:%M"),
            filled=taken[e.id].filled if e.id in taken else 0,
            short=is_short(e, taken.get(e.id)),
        )
        for e in events
    }


def _scope(viewer: Any, program: Program | None) -> list[Any]:
    scope = [visible_event_filter(viewer)]
    if program is not None:
        scope.append(DispatchEvent.program_id == program.id)
    return scope


def listed_events(
    session: DbSession, viewer: Any, show: str, *, program: Program | None, now: datetime
) -> list[DispatchEvent]:
    """Exactly the events a start page's counter `show` counts (services.EVENT_LISTS), any
    month."""
    return list(
        session.scalars(
            select(DispatchEvent)
            .options(joinedload(DispatchEvent.municipality))
            .where(*_scope(viewer, program), EVENT_LISTS[show](now))
            .order_by(DispatchEvent.starts_at, DispatchEvent.id)
            .limit(LIST_LIMIT)
        )
    )


def unconfirmed_assignments(
    session: DbSession, viewer: Any, *, program: Program | None, now: datetime
) -> list[tuple[Assignment, DispatchEvent, Registration]]:
    """The requests to supporters that the start page counts as unanswered for too long,
    with their events and the supporters' registrations (and people)."""
    return [
        (a, e, r)
        for a, e, r in session.execute(
            select(Assignment, DispatchEvent, Registration)
            .join(DispatchEvent, DispatchEvent.id == Assignment.event_id)
            .join(Registration, Registration.id == Assignment.registration_id)
            .options(joinedload(Registration.person))
            .where(*_scope(viewer, program), unconfirmed_condition(now))
            .order_by(Assignment.starts_at, Assignment.id)
            .limit(LIST_LIMIT)
        )
    ]


def event_places(session: DbSession, event: DispatchEvent) -> list[tuple[Assignment, Registration]]:
    """Every assignment of the event with its registration, oldest first."""
    return [
        (assignment, registration)
        for assignment, registration in session.execute(
            select(Assignment, Registration)
            .join(Registration, Registration.id == Assignment.registration_id)
            .where(Assignment.event_id == event.id)
            .order_by(Assignment.created_at)
        )
    ]
