"""Finding people and places: the supporters a coordinator may ask for an event, and the
open places a supporter may take, both ranked by nearness."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, literal, select
from sqlalchemy.orm import contains_eager

from supporters.core.time import local_date
from supporters.db import DbSession
from supporters.dispatch.models import (
    HOLDING,
    Assignment,
    AssignmentState,
    DispatchEvent,
    EventState,
)
from supporters.people.models import Person
from supporters.programs.models import Municipality
from supporters.registry.models import VALID_STATUSES, Registration
from supporters.registry.services import status_sql


def _distance_sql(lat: float, lon: float, place: Any) -> Any:
    """Squared equirectangular distance: enough to rank by nearness, in plain SQL."""
    scale = math.cos(math.radians(lat))
    return (place.latitude - lat) * (place.latitude - lat) + ((place.longitude - lon) * scale) * (
        (place.longitude - lon) * scale
    )


def distance_km(a: Municipality, b: Municipality) -> float:
    lat = math.radians((a.latitude + b.latitude) / 2)
    dx = math.radians(b.longitude - a.longitude) * math.cos(lat)
    dy = math.radians(b.latitude - a.latitude)
    return 6371.0 * math.hypot(dx, dy)


def takes_people(event: DispatchEvent, *, now: datetime) -> bool:
    """Whether the event still takes supporters, so that suggesting some makes sense: open or
    staffed (a place may open again), and not started."""
    return event.state in (EventState.OPEN, EventState.STAFFED) and event.starts_at > now


@dataclass
class Suggestion:
    registration: Registration
    person: Person
    place: Municipality | None
    distance_km: float | None
    recent_dispatches: int


# Suggestions are narrowed before they are ranked: only the registrations of the nearest
# municipalities holding at least NEAR_FACTOR times the places asked for are read (widened
# to everyone when too few of them are valid and free), then ranked in Python.
NEAR_FACTOR = 4


def suggestions(
    session: DbSession, event: DispatchEvent, *, now: datetime, limit: int = 20
) -> list[Suggestion]:
    """Supporters to ask, ranked: valid on the day, free at that time, near, and fewest
    dispatches in the past twelve months.

    Status and the clash test are computed in SQL only for the registrations whose main
    municipality lies within a circle around the event's (the nearest municipalities that
    together hold `NEAR_FACTOR` x `limit` registrations, ties included); when fewer than
    `limit` of them qualify, everyone is considered (supporters without a main municipality
    come last). Any registration outside the circle is farther than every one inside it, so
    the ranking is the one over the whole program."""
    place = event.municipality
    near = _nearest_municipalities(session, event, wanted=NEAR_FACTOR * limit)
    ranked = _candidates(session, event, now=now, municipality_ids=near)
    if near is not None and len(ranked) < limit:
        ranked = _candidates(session, event, now=now, municipality_ids=None)
    ranked.sort(key=lambda row: (row[1], row[2], row[3]))
    top = ranked[:limit]
    loaded = {
        registration.id: (registration, person)
        for registration, person in session.execute(
            select(Registration, Person)
            .join(Person, Person.id == Registration.person_id)
            .where(Registration.id.in_([row[0] for row in top]))
        ).all()
    }
    places = {
        m.id: m
        for m in session.scalars(
            select(Municipality).where(
                Municipality.id.in_(
                    {loaded[row[0]][0].main_municipality_id for row in top} - {None}
                )
            )
        )
    }
    result = []
    for registration_id, _distance, count, _reading in top:
        registration, person = loaded[registration_id]
        home_id = registration.main_municipality_id
        home_place = places.get(home_id) if home_id is not None else None
        result.append(
            Suggestion(
                registration,
                person,
                home_place,
                round(distance_km(place, home_place), 1) if home_place else None,
                int(count),
            )
        )
    return result


def _nearest_municipalities(
    session: DbSession, event: DispatchEvent, *, wanted: int
) -> list[int] | None:
    """The main municipalities nearest the event that together hold `wanted` registrations
    of the program (all of those at the last distance included), or None for everyone."""
    place = event.municipality
    distance = _distance_sql(place.latitude, place.longitude, Municipality)
    rows = session.execute(
        select(Municipality.id, distance, func.count())
        .join(Registration, Registration.main_municipality_id == Municipality.id)
        .where(
            Registration.program_id == event.program_id,
            Registration.registered_on <= local_date(event.starts_at),
        )
        .group_by(Municipality.id, Municipality.latitude, Municipality.longitude)
        .order_by(distance)
    ).all()
    chosen: list[int] = []
    held = 0
    reach = None
    for municipality_id, how_far, count in rows:
        if reach is not None and how_far > reach:
            return chosen
        chosen.append(municipality_id)
        held += int(count)
        if held >= wanted and reach is None:
            reach = how_far
    return None  # they are all needed


def _candidates(
    session: DbSession,
    event: DispatchEvent,
    *,
    now: datetime,
    municipality_ids: list[int] | None,
) -> list[tuple[int, float, int, str]]:
    """(registration id, squared distance, recent dispatches, reading) of every registration
    valid on the day and free at the time, within `municipality_ids` unless None."""
    program = event.program
    day = local_date(event.starts_at)
    place = event.municipality
    home = Municipality.__table__.alias("home")
    recent = (
        select(func.count())
        .select_from(Assignment)
        .where(
            Assignment.person_id == Registration.person_id,
            Assignment.state.in_((AssignmentState.CONFIRMED, AssignmentState.ATTENDED)),
            Assignment.starts_at >= now - timedelta(days=365),
        )
        .scalar_subquery()
    )
    distance = func.coalesce(_distance_sql(place.latitude, place.longitude, home.c), literal(9e9))
    busy = exists().where(
        Assignment.person_id == Registration.person_id,
        Assignment.state.in_(HOLDING),
        Assignment.starts_at < event.ends_at,
        Assignment.ends_at > event.starts_at,
    )
    query = (
        select(Registration.id, distance, recent, Person.name_reading)
        .join(Person, Person.id == Registration.person_id)
        .outerjoin(home, home.c.id == Registration.main_municipality_id)
        .where(
            Registration.program_id == program.id,
            Registration.registered_on <= day,
            status_sql(program, day).in_([s.value for s in VALID_STATUSES]),
            ~busy,
        )
    )
    if municipality_ids is not None:
        query = query.where(Registration.main_municipality_id.in_(municipality_ids))
    return [
        (registration_id, float(how_far), int(count), reading)
        for registration_id, how_far, count, reading in session.execute(query)
    ]


def open_places(
    session: DbSession, registration: Registration, *, now: datetime, limit: int = 20
) -> list[tuple[DispatchEvent, int, float | None]]:
    """Open events the supporter may take, nearest first: (event, places left, km)."""
    home = registration.main_municipality or registration.person.residence_municipality
    taken = DispatchEvent.places_taken  # kept under the staffing lock (places.py)
    mine = exists().where(
        Assignment.event_id == DispatchEvent.id,
        Assignment.person_id == registration.person_id,
        Assignment.state.in_(HOLDING),
    )
    busy = exists().where(
        Assignment.person_id == registration.person_id,
        Assignment.state.in_(HOLDING),
        Assignment.starts_at < DispatchEvent.ends_at,
        Assignment.ends_at > DispatchEvent.starts_at,
    )
    query = (
        select(DispatchEvent, taken)
        .join(Municipality, Municipality.id == DispatchEvent.municipality_id)
        .options(contains_eager(DispatchEvent.municipality))
        .where(
            DispatchEvent.program_id == registration.program_id,
            DispatchEvent.state == EventState.OPEN,
            DispatchEvent.starts_at > now,
            taken < DispatchEvent.needed,
            ~mine,
            ~busy,
        )
    )
    if home is not None:
        query = query.order_by(
            _distance_sql(home.latitude, home.longitude, Municipality), DispatchEvent.starts_at
        )
    else:
        query = query.order_by(DispatchEvent.starts_at)
    rows = session.execute(query.limit(limit)).all()
    return [
        (
            event,
            event.needed - int(count),
            round(distance_km(home, event.municipality), 1) if home else None,
        )
        for event, count in rows
    ]
