"""Repeating events (places and meetings: every week, or 第2土曜 every month) until a date.
A series is created in one go: every occurrence is checked like a single event and against
the program's other events at the same venue, and if one is refused none is created. The
occurrences share a series_id, so the rest of a series can be cancelled from a date on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

import jpholiday
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession, ServiceError
from supporters.dispatch import services
from supporters.dispatch.models import Assignment, DispatchEvent, EventState
from supporters.programs.models import Program

MAX_OCCURRENCES = 24

# States whose event still takes the venue and can still be cancelled.
_LIVE = (EventState.REQUESTED, EventState.DRAFT, EventState.OPEN, EventState.STAFFED)


class Repeat(StrEnum):
    WEEKLY = "weekly"
    MONTHLY_NTH_WEEKDAY = "monthly_nth_weekday"  # e.g. 第2土曜, from the first date


@dataclass(frozen=True)
class Occurrence:
    day: date
    holiday: str | None  # the public holiday's name (jpholiday), shown as a warning


def nth_weekday(day: date) -> int:
    """Which of its weekday in the month `day` is: 2026-12-12 is the 2nd Saturday."""
    return (day.day - 1) // 7 + 1


def _nth_weekday_of(year: int, month: int, weekday: int, n: int) -> date | None:
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    return day if day.month == month else None


def occurrence_days(first: date, repeat: Repeat, until: date) -> list[date]:
    """The days of the series, the first included, none after `until`; refused beyond
    MAX_OCCURRENCES."""
    if until < first:
        raise ServiceError(
            "until",
            str(_l("The series must end on or after its first date.")),
            code="series_until_before_start",
        )
    days: list[date] = []
    if repeat == Repeat.WEEKLY:
        day = first
        while day <= until:
            days.append(day)
            day += timedelta(days=7)
    else:
        n, weekday = nth_weekday(first), first.weekday()
        year, month = first.year, first.month
        while date(year, month, 1) <= until:
            day_or_none = _nth_weekday_of(year, month, weekday, n)
            if day_or_none is not None and first <= day_or_none <= until:
                days.append(day_or_none)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            if len(days) > MAX_OCCURRENCES:
                break
    if len(days) > MAX_OCCURRENCES:
        raise ServiceError(
            "until",
            str(_l("A series has at most %(n)d dates; choose an earlier end.", n=MAX_OCCURRENCES)),
            code="series_too_long",
        )
    return days


def occurrences(first: date, repeat: Repeat, until: date) -> list[Occurrence]:
    return [
        Occurrence(day, jpholiday.is_holiday_name(day))
        for day in occurrence_days(first, repeat, until)
    ]


def _moved(data: services.EventInput, day: date) -> services.EventInput:
    start, end = data.starts_at.astimezone(TOKYO), data.ends_at.astimezone(TOKYO)
    return replace(
        data,
        starts_at=datetime.combine(day, start.timetz()),
        ends_at=datetime.combine(day + (end.date() - start.date()), end.timetz()),
    )


def _venue_clash(session: DbSession, program: Program, data: services.EventInput) -> bool:
    """Another live event of the program at the same venue overlaps."""
    return (
        session.scalar(
            select(DispatchEvent.id)
            .where(
                DispatchEvent.program_id == program.id,
                DispatchEvent.municipality_id == data.municipality_id,
                DispatchEvent.venue == data.venue.strip(),
                DispatchEvent.state.in_(_LIVE),
                DispatchEvent.starts_at < data.ends_at,
                DispatchEvent.ends_at > data.starts_at,
            )
            .limit(1)
        )
        is not None
    )


def create_series(
    session: DbSession,
    *,
    actor: User,
    program: Program,
    data: services.EventInput,
    repeat: Repeat,
    until: date,
    publish: bool = True,
) -> tuple[list[DispatchEvent], list[Occurrence]]:
    """Create every occurrence or none: all are checked before the first is written. Returns
    the events and the occurrences (with the public holidays to warn about)."""
    dates = occurrences(local_date(data.starts_at), repeat, until)
    inputs = [_moved(data, occurrence.day) for occurrence in dates]
    for occurrence, item in zip(dates, inputs, strict=True):
        services._check_event(session, program, item)
        if _venue_clash(session, program, item):
            raise ServiceError(
                "date",
                str(
                    _l(
                        "On %(d)s another event is already at this venue at that time; "
                        "no date of the series was saved.",
                        d=occurrence.day.strftime("%Y/%m/%d"),
                    )
                ),
                code="series_venue_clash",
            )
    series_id = uuid.uuid4().hex
    events = []
    for item in inputs:
        event = services.create_event(
            session, actor=actor, program=program, data=item, publish=publish
        )
        event.series_id = series_id
        events.append(event)
    session.flush()
    record_audit(
        session,
        actor,
        "dispatch.series",
        events[0],
        program_id=program.id,
        detail={"series_id": series_id, "occurrences": len(events), "repeat": str(repeat)},
    )
    return events, dates


def cancel_series_from(
    session: DbSession, *, actor: User, event: DispatchEvent, from_day: date, reason: str
) -> list[Assignment]:
    """Cancel the occurrences of `event`'s series on or after `from_day` that can still be
    cancelled; returns the assignments that were live, so their supporters can be told."""
    if event.series_id is None:
        raise ServiceError(None, str(_l("This event is not part of a series.")), code="not_series")
    rest = [
        e
        for e in session.scalars(
            select(DispatchEvent)
            .where(DispatchEvent.series_id == event.series_id, DispatchEvent.state.in_(_LIVE))
            .order_by(DispatchEvent.starts_at)
        )
        if local_date(e.starts_at) >= from_day
    ]
    if not rest:
        raise ServiceError(
            "from_day",
            str(_l("No date of this series on or after that day can be cancelled.")),
            code="series_nothing_to_cancel",
        )
    live: list[Assignment] = []
    for occurrence in rest:
        live.extend(services.cancel_event(session, actor=actor, event=occurrence, reason=reason))
    return live
