"""The supporter's schedule: their registrations in force, their upcoming and recent
dispatches, one line per event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from supporters.db import DbSession
from supporters.dispatch.models import HOLDING, Assignment, AssignmentState, DispatchEvent
from supporters.registry.models import Registration
from supporters.registry.permissions import own_current_registration_filter


def current_registrations(session: DbSession, user: Any) -> list[Registration]:
    """The user's own registrations in force: what lets them see and take dispatches."""
    return list(session.scalars(select(Registration).where(own_current_registration_filter(user))))


def current_registration_ids(session: DbSession, user: Any) -> list[int]:
    return list(
        session.scalars(select(Registration.id).where(own_current_registration_filter(user)))
    )


def one_per_event(assignments: Iterable[Assignment]) -> list[Assignment]:
    """One line per event, in the given order: the place that is live or was used if there
    is one, otherwise the latest cancelled or declined answer (signing up, cancelling and
    signing up again leaves several rows behind). Assignments must come oldest first within
    an event."""
    by_event: dict[int, Assignment] = {}
    for assignment in assignments:
        shown = by_event.get(assignment.event_id)
        if shown is None or shown.state in (AssignmentState.CANCELLED, AssignmentState.DECLINED):
            by_event[assignment.event_id] = assignment
    return list(by_event.values())


def schedule(
    session: DbSession,
    person_id: int,
    *,
    now: datetime,
    past_limit: int = 20,
    registration_ids: list[int] | None = None,
) -> tuple[list[Assignment], list[Assignment]]:
    """A supporter's upcoming and recent dispatches (two queries, events and places included);
    with `registration_ids`, only those of the registrations in force."""
    base = (
        select(Assignment)
        .options(joinedload(Assignment.event).joinedload(DispatchEvent.municipality))
        .where(Assignment.person_id == person_id)
    )
    if registration_ids is not None:
        base = base.where(Assignment.registration_id.in_(registration_ids))
    rows = session.scalars(
        base.where(
            Assignment.ends_at >= now,
            Assignment.state.in_((*HOLDING, AssignmentState.CANCELLED, AssignmentState.DECLINED)),
        )
        .order_by(Assignment.starts_at, Assignment.event_id, Assignment.id)
        .limit(200)
    )
    upcoming = one_per_event(rows)[:50]
    past = list(
        session.scalars(
            base.where(
                Assignment.ends_at < now, Assignment.state.in_((*HOLDING, AssignmentState.ATTENDED))
            )
            .order_by(Assignment.starts_at.desc())
            .limit(past_limit)
        )
    )
    return upcoming, past


def fold_open_places(
    upcoming: list[Assignment], places: list[tuple[DispatchEvent, int, float | None]]
) -> tuple[list[tuple[DispatchEvent, int, float | None]], dict[int, int]]:
    """One card per event: an open event the supporter declined or cancelled earlier is
    shown on that answer's card (with the places left, to sign up again), not a second time
    under the open places. Returns the remaining open places and {event id: places left}."""
    answered = {a.event_id for a in upcoming}
    again = {event.id: left for event, left, _km in places if event.id in answered}
    return [place for place in places if place[0].id not in again], again


def tel_uri(phone: str | None) -> str | None:
    """A phone number as a `tel:` link: ``043-000-0000`` → ``tel:043-000-0000`` keeping only
    digits, ``+`` and hyphens (what a dialler reads); None without a number."""
    if not phone:
        return None
    kept = "".join(c for c in phone if c in "0123456789+-")
    return f"tel:{kept}" if any(c in "0123456789" for c in kept) else None
