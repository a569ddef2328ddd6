"""What an event's places stand at, and the row locks that guard them. Every staffing
change first locks the event row, then the person row (always in that order), and counts
after taking the locks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update

from supporters.db import DbSession
from supporters.dispatch.models import HOLDING, Assignment, AssignmentState, DispatchEvent
from supporters.people.models import Person


def lock_event(session: DbSession, event: DispatchEvent) -> None:
    session.execute(
        update(DispatchEvent)
        .where(DispatchEvent.id == event.id)
        .values(version=DispatchEvent.version + 1)
    )
    session.expire(event, ["version"])


def lock_person(session: DbSession, person_id: int) -> None:
    session.execute(
        update(Person).where(Person.id == person_id).values(updated_at=Person.updated_at)
    )


def taken_sql(event_id: Any) -> Any:
    """The live count of assignments holding a place in the event (a scalar subquery)."""
    return (
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.event_id == event_id, Assignment.state.in_(HOLDING))
        .scalar_subquery()
    )


def recount_taken(session: DbSession, event: DispatchEvent) -> None:
    """Store the event's places taken; called under the event's lock (`lock_event`) after a
    staffing change is flushed, so the stored count equals the live one at every commit."""
    session.execute(
        update(DispatchEvent)
        .where(DispatchEvent.id == event.id)
        .values(places_taken=taken_sql(event.id))
        .execution_options(synchronize_session=False)
    )
    session.expire(event, ["places_taken"])


def holding_count(session: DbSession, event: DispatchEvent) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.event_id == event.id, Assignment.state.in_(HOLDING))
        )
        or 0
    )


def clashes(
    session: DbSession,
    person_id: int,
    starts_at: datetime,
    ends_at: datetime,
    *,
    exclude_event_id: int | None = None,
) -> bool:
    query = select(
        exists().where(
            Assignment.person_id == person_id,
            Assignment.state.in_(HOLDING),
            Assignment.starts_at < ends_at,
            Assignment.ends_at > starts_at,
            Assignment.event_id != (exclude_event_id or -1),
        )
    )
    return bool(session.scalar(query))


def confirmed_count(session: DbSession, event: DispatchEvent) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.event_id == event.id, Assignment.state == AssignmentState.CONFIRMED)
        )
        or 0
    )


@dataclass(frozen=True)
class PlaceCount:
    """What an event's places stand at: confirmed, asked and not yet answered, attended."""

    confirmed: int = 0
    waiting: int = 0
    attended: int = 0

    @property
    def filled(self) -> int:
        """The number shown over the places needed: those who came once attendance is
        recorded, before that the supporters who confirmed (an unanswered request is not a
        filled place)."""
        return self.confirmed + self.attended


def place_counts(session: DbSession, events: list[DispatchEvent]) -> dict[int, PlaceCount]:
    """For each event, its places by state (one query); events without any are absent."""
    wanted = {
        AssignmentState.CONFIRMED: "confirmed",
        AssignmentState.ASSIGNED: "waiting",
        AssignmentState.ATTENDED: "attended",
    }
    found: dict[int, dict[str, int]] = {}
    ids = [e.id for e in events]
    if not ids:
        return {}
    rows = session.execute(
        select(Assignment.event_id, Assignment.state, func.count())
        .where(Assignment.event_id.in_(ids), Assignment.state.in_(list(wanted)))
        .group_by(Assignment.event_id, Assignment.state)
    ).all()
    for event_id, state, count in rows:
        found.setdefault(event_id, {})[wanted[AssignmentState(state)]] = int(count)
    return {event_id: PlaceCount(**values) for event_id, values in found.items()}
