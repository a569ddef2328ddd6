"""Dispatch: planning events, municipal requests, staffing without overbooking, the
supporter's schedule. Plain functions: session, actor and time in; they never commit.

Invariants, also under concurrency: never more supporters holding places than needed;
never one person in two overlapping events; never a supporter whose registration is not
valid on the event's date. Every staffing change first locks the event row, then the
person row (always in that order), and checks after taking the locks."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, literal, select, update
from sqlalchemy.orm import contains_eager, joinedload

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.dates import parse_time
from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession, ServiceError
from supporters.dispatch.models import (
    HOLDING,
    Assignment,
    AssignmentState,
    DispatchEvent,
    EventKind,
    EventState,
    ProgramMunicipality,
)
from supporters.people.free_text import check_free_text
from supporters.people.models import Person
from supporters.programs.models import DispatchMode, Municipality, Program
from supporters.registry.models import VALID_STATUSES, ActivityKind, Registration
from supporters.registry.services import events_for, status_on, status_sql

MAX_NEEDED = 20

KIND_FOR_MODE = {
    DispatchMode.OUTREACH_SITTING_IN: EventKind.OUTREACH_DAY,
    DispatchMode.MUNICIPAL_REQUEST: EventKind.DISPATCH_REQUEST,
    DispatchMode.GROUP_ACTIVITIES: EventKind.GROUP_ACTIVITY,
}


# --- what the start pages count, and the lists their numbers lead to --------------------
# One condition per counter, used by the count and by its list, so the two always agree.

UNDERSTAFFED_DAYS = 14
UNCONFIRMED_HOURS = 24


def understaffed_condition(now: datetime) -> Any:
    """Open events (places not all confirmed) starting within UNDERSTAFFED_DAYS."""
    return and_(
        DispatchEvent.state == EventState.OPEN,
        DispatchEvent.starts_at >= now,
        DispatchEvent.starts_at < now + timedelta(days=UNDERSTAFFED_DAYS),
    )


def pending_request_condition(now: datetime) -> Any:
    """Municipal requests waiting for the coordinator's answer, whatever their month."""
    return and_(DispatchEvent.state == EventState.REQUESTED, DispatchEvent.starts_at >= now)


def upcoming_condition(now: datetime) -> Any:
    """Coming events open or staffed."""
    return and_(
        DispatchEvent.state.in_((EventState.OPEN, EventState.STAFFED)),
        DispatchEvent.starts_at >= now,
    )


def unconfirmed_condition(now: datetime) -> Any:
    """Assignments asked more than UNCONFIRMED_HOURS ago, still unanswered, event to come."""
    return and_(
        Assignment.state == AssignmentState.ASSIGNED,
        Assignment.created_at < now - timedelta(hours=UNCONFIRMED_HOURS),
        Assignment.starts_at > now,
    )


EVENT_LISTS = {
    "understaffed": understaffed_condition,
    "requested": pending_request_condition,
    "upcoming": upcoming_condition,
}


# --- events ---------------------------------------------------------------------------


@dataclass
class EventInput:
    title: str
    municipality_id: int
    venue: str
    starts_at: datetime
    ends_at: datetime
    needed: int
    activity: str = ActivityKind.SITTING_IN
    lead_consultant: str = ""
    notes: str = ""
    bring: str = ""
    # The writer confirmed that text the detector warned about identifies no one.
    free_text_confirmed: bool = False

    def columns(self) -> dict[str, Any]:
        """The values stored on the event (not the confirmation)."""
        values = dict(self.__dict__)
        values.pop("free_text_confirmed")
        return values


def _check_event(session: DbSession, program: Program, data: EventInput) -> None:
    if not data.title.strip():
        raise ServiceError("title", str(_l("Enter the name of the event.")))
    if not data.venue.strip():
        raise ServiceError("venue", str(_l("Enter the venue (a public place).")))
    # What supporters and staff read about the event must not identify the client.
    check_free_text(data.title, field="title", confirmed=data.free_text_confirmed)
    check_free_text(data.venue, field="venue", confirmed=data.free_text_confirmed)
    check_free_text(data.notes, field="notes", confirmed=data.free_text_confirmed)
    if data.ends_at <= data.starts_at:
        raise ServiceError("ends_at", str(_l("The end must be after the start.")))
    if not 1 <= data.needed <= MAX_NEEDED:
        raise ServiceError("needed", str(_l("Between 1 and %(n)d supporters.", n=MAX_NEEDED)))
    if data.activity not in {k.value for k in ActivityKind}:
        raise ServiceError("activity", str(_l("Choose the kind of activity.")))
    place = session.get(Municipality, data.municipality_id)
    if place is None or place.prefecture != program.prefecture:
        raise ServiceError(
            "municipality", str(_l("Choose a municipality in %(p)s.", p=program.prefecture))
        )


def create_event(
    session: DbSession, *, actor: User, program: Program, data: EventInput, publish: bool = True
) -> DispatchEvent:
    _check_event(session, program, data)
    event = DispatchEvent(
        program_id=program.id,
        kind=KIND_FOR_MODE[DispatchMode(program.dispatch_mode)],
        state=EventState.OPEN if publish else EventState.DRAFT,
        created_by_id=actor.id,
        **{**data.columns(), "title": data.title.strip(), "venue": data.venue.strip()},
    )
    session.add(event)
    session.flush()
    record_audit(session, actor, "dispatch.create", event, program_id=program.id)
    return event


def municipality_in_scheme(session: DbSession, program: Program, municipality_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    ProgramMunicipality.program_id == program.id,
                    ProgramMunicipality.municipality_id == municipality_id,
                    ProgramMunicipality.left_on.is_(None),
                )
            )
        )
    )


def request_dispatch(
    session: DbSession, *, actor: User, program: Program, data: EventInput, now: datetime
) -> DispatchEvent:
    """A municipality asks for supporters (Chiba: only municipalities in the scheme), for a
    time still ahead."""
    _check_event(session, program, data)
    if data.starts_at <= now:
        raise ServiceError(
            "date", str(_l("This date and time is in the past; ask for a day still ahead."))
        )
    if program.dispatch_mode == DispatchMode.MUNICIPAL_REQUEST and not municipality_in_scheme(
        session, program, data.municipality_id
    ):
        raise ServiceError(
            None,
            str(
                _l(
                    "This municipality has not joined the program's "
                    "dispatch scheme yet; ask the coordinator."
                )
            ),
        )
    event = DispatchEvent(
        program_id=program.id,
        kind=EventKind.DISPATCH_REQUEST,
        state=EventState.REQUESTED,
        requested_by_id=actor.id,
        created_by_id=actor.id,
        **{**data.columns(), "title": data.title.strip(), "venue": data.venue.strip()},
    )
    session.add(event)
    session.flush()
    record_audit(session, actor, "dispatch.request", event, program_id=program.id)
    return event


def accept_request(session: DbSession, *, actor: User, event: DispatchEvent, now: datetime) -> None:
    if event.state != EventState.REQUESTED:
        raise ServiceError(None, str(_l("Only a pending request can be accepted.")))
    if event.starts_at <= now:
        raise ServiceError(
            None, str(_l("The requested time has passed; decline the request instead."))
        )
    event.state = EventState.OPEN
    record_audit(session, actor, "dispatch.accept", event, program_id=event.program_id)


def decline_request(session: DbSession, *, actor: User, event: DispatchEvent, reason: str) -> None:
    if event.state != EventState.REQUESTED:
        raise ServiceError(None, str(_l("Only a pending request can be declined.")))
    if not reason.strip():
        raise ServiceError("reason", str(_l("Give a reason.")))
    # Read by the municipality: never contact details (no confirmation box on this form).
    check_free_text(reason, field="reason", confirmed=True)
    event.state = EventState.DECLINED
    event.reason = reason.strip()[:500]
    record_audit(session, actor, "dispatch.decline", event, program_id=event.program_id)


def cancel_event(
    session: DbSession, *, actor: User, event: DispatchEvent, reason: str
) -> list[Assignment]:
    """Cancel; returns the assignments that were live, so their supporters can be told."""
    if event.state in (EventState.CANCELLED, EventState.HELD, EventState.REPORTED):
        raise ServiceError(None, str(_l("This event can no longer be cancelled.")))
    # Read by the supporters and mailed to them: never contact details.
    check_free_text(reason, field="reason", confirmed=True)
    lock_event(session, event)
    live = list(
        session.scalars(
            select(Assignment).where(Assignment.event_id == event.id, Assignment.state.in_(HOLDING))
        )
    )
    for assignment in live:
        assignment.state = AssignmentState.CANCELLED
        assignment.cancelled_by_id = actor.id
    event.state = EventState.CANCELLED
    event.reason = reason.strip()[:500] or None
    record_audit(session, actor, "dispatch.cancel", event, program_id=event.program_id)
    return live


# --- staffing -------------------------------------------------------------------------


def lock_event(session: DbSession, event: DispatchEvent) -> None:
    session.execute(
        update(DispatchEvent)
        .where(DispatchEvent.id == event.id)
        .values(version=DispatchEvent.version + 1)
    )
    session.expire(event, ["version"])


def _lock_person(session: DbSession, person_id: int) -> None:
    session.execute(
        update(Person).where(Person.id == person_id).values(updated_at=Person.updated_at)
    )


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


def registration_valid_on(session: DbSession, registration: Registration, day: date) -> bool:
    status = status_on(registration, registration.program, events_for(session, registration), day)
    return status in VALID_STATUSES


def _refresh_state(session: DbSession, event: DispatchEvent) -> None:
    """充足 (staffed) only when every place is confirmed: a supporter who was asked and has
    not answered yet holds the place against overbooking, but does not fill it."""
    if event.state in (EventState.OPEN, EventState.STAFFED):
        event.state = (
            EventState.STAFFED
            if confirmed_count(session, event) >= event.needed
            else EventState.OPEN
        )


def _take_place(
    session: DbSession,
    *,
    actor: User,
    event: DispatchEvent,
    registration: Registration,
    now: datetime,
    source: str,
) -> Assignment:
    lock_event(session, event)
    _lock_person(session, registration.person_id)
    session.refresh(event)
    if event.state not in (EventState.OPEN, EventState.STAFFED):
        raise ServiceError(None, str(_l("This event is not open for supporters.")))
    if event.starts_at <= now:
        raise ServiceError(None, str(_l("This event has already started.")))
    if registration.program_id != event.program_id:
        raise ServiceError(None, str(_l("Only supporters of this program can take part.")))
    if not registration_valid_on(session, registration, local_date(event.starts_at)):
        raise ServiceError(
            None,
            str(
                _l(
                    "The registration is not valid on the day of the event "
                    "(lapsed, suspended or withdrawn)."
                )
            ),
        )
    if session.scalar(
        select(
            exists().where(
                Assignment.event_id == event.id,
                Assignment.person_id == registration.person_id,
                Assignment.state.in_(HOLDING),
            )
        )
    ):
        raise ServiceError(None, str(_l("Already taking part in this event.")))
    if holding_count(session, event) >= event.needed:
        raise ServiceError(None, str(_l("This event is full.")))
    if clashes(session, registration.person_id, event.starts_at, event.ends_at):
        raise ServiceError(None, str(_l("This overlaps another dispatch on the same day.")))
    assignment = Assignment(
        event_id=event.id,
        registration_id=registration.id,
        person_id=registration.person_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        source=source,
        state=AssignmentState.CONFIRMED if source == "self" else AssignmentState.ASSIGNED,
        answered_at=now if source == "self" else None,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(assignment)
    session.flush()
    _refresh_state(session, event)
    record_audit(
        session,
        actor,
        f"assignment.{'sign_up' if source == 'self' else 'assign'}",
        assignment,
        program_id=event.program_id,
    )
    return assignment


def sign_up(
    session: DbSession,
    *,
    actor: User,
    event: DispatchEvent,
    registration: Registration,
    now: datetime,
) -> Assignment:
    """A supporter takes an open place; confirmed at once."""
    return _take_place(
        session, actor=actor, event=event, registration=registration, now=now, source="self"
    )


def assign(
    session: DbSession,
    *,
    actor: User,
    event: DispatchEvent,
    registration: Registration,
    now: datetime,
) -> Assignment:
    """The coordinator asks a supporter; the place is held until they confirm or decline."""
    return _take_place(
        session, actor=actor, event=event, registration=registration, now=now, source="coordinator"
    )


def answer_assignment(
    session: DbSession, *, actor: User, assignment: Assignment, accept: bool, now: datetime
) -> None:
    if assignment.state != AssignmentState.ASSIGNED:
        raise ServiceError(None, str(_l("This request has already been answered.")))
    event = assignment.event
    lock_event(session, event)
    if accept and event.starts_at <= now:
        raise ServiceError(None, str(_l("This event has already started.")))
    assignment.state = AssignmentState.CONFIRMED if accept else AssignmentState.DECLINED
    assignment.answered_at = now
    session.flush()
    _refresh_state(session, event)
    record_audit(
        session,
        actor,
        "assignment.confirm" if accept else "assignment.decline",
        assignment,
        program_id=event.program_id,
    )


def self_cancel_deadline(assignment: Assignment) -> datetime:
    return assignment.event.starts_at - timedelta(
        hours=assignment.event.program.self_cancel_cutoff_hours
    )


def cancel_assignment(
    session: DbSession, *, actor: User, assignment: Assignment, now: datetime, by_supporter: bool
) -> None:
    """Either side cancels; the place opens again (the coordinator is told by the view)."""
    if assignment.state not in HOLDING:
        raise ServiceError(None, str(_l("This assignment is not active.")))
    if by_supporter and now > self_cancel_deadline(assignment):
        raise ServiceError(
            None, str(_l("It is too late to cancel here. Please contact the coordinator directly."))
        )
    event = assignment.event
    lock_event(session, event)
    assignment.state = AssignmentState.CANCELLED
    assignment.cancelled_by_id = actor.id
    assignment.answered_at = now
    session.flush()
    _refresh_state(session, event)
    record_audit(
        session,
        actor,
        "assignment.cancel",
        assignment,
        program_id=event.program_id,
        detail={"by_supporter": by_supporter},
    )


def change_needed(session: DbSession, *, actor: User, event: DispatchEvent, needed: int) -> None:
    if not 1 <= needed <= MAX_NEEDED:
        raise ServiceError("needed", str(_l("Between 1 and %(n)d supporters.", n=MAX_NEEDED)))
    lock_event(session, event)
    holding = holding_count(session, event)
    if needed < holding:
        raise ServiceError(
            "needed",
            str(
                _l("%(n)d supporters already hold a place; cancel an assignment first.", n=holding)
            ),
        )
    event.needed = needed
    _refresh_state(session, event)
    record_audit(
        session,
        actor,
        "dispatch.needed",
        event,
        program_id=event.program_id,
        detail={"needed": needed},
    )


def record_attendance(
    session: DbSession, *, actor: User, event: DispatchEvent, attended_ids: set[int], now: datetime
) -> list[Assignment]:
    """After the event: who came; the others are no-shows. Returns those who attended.
    Only once the event has ended: it is 実施済み (held) from then on, not before."""
    if now < event.ends_at:
        raise ServiceError(None, str(_l("Attendance can be recorded once the event has ended.")))
    if event.state in (EventState.CANCELLED, EventState.DECLINED, EventState.REQUESTED):
        raise ServiceError(None, str(_l("This event did not take place.")))
    rows = list(
        session.scalars(
            select(Assignment).where(
                Assignment.event_id == event.id,
                Assignment.state.in_((*HOLDING, AssignmentState.ATTENDED, AssignmentState.NO_SHOW)),
            )
        )
    )
    if attended_ids - {a.id for a in rows}:
        raise ServiceError(None, str(_l("Some supporters are not assigned to this event.")))
    for assignment in rows:
        assignment.state = (
            AssignmentState.ATTENDED if assignment.id in attended_ids else AssignmentState.NO_SHOW
        )
    if event.state != EventState.REPORTED:
        event.state = EventState.HELD
    record_audit(
        session,
        actor,
        "dispatch.attendance",
        event,
        program_id=event.program_id,
        detail={"attended": len(attended_ids), "no_show": len(rows) - len(attended_ids)},
    )
    return [a for a in rows if a.id in attended_ids]


# --- finding people and places --------------------------------------------------------


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


@dataclass
class Suggestion:
    registration: Registration
    person: Person
    place: Municipality | None
    distance_km: float | None
    recent_dispatches: int


def suggestions(
    session: DbSession, event: DispatchEvent, *, now: datetime, limit: int = 20
) -> list[Suggestion]:
    """Supporters to ask, ranked: valid on the day, free at that time, near, and fewest
    dispatches in the past twelve months. One query."""
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
    distance = _distance_sql(place.latitude, place.longitude, home.c)
    busy = exists().where(
        Assignment.person_id == Registration.person_id,
        Assignment.state.in_(HOLDING),
        Assignment.starts_at < event.ends_at,
        Assignment.ends_at > event.starts_at,
    )
    rows = session.execute(
        select(Registration, Person, recent.label("recent"), func.coalesce(distance, literal(9e9)))
        .join(Person, Person.id == Registration.person_id)
        .outerjoin(home, home.c.id == Registration.main_municipality_id)
        .where(
            Registration.program_id == program.id,
            Registration.registered_on <= day,
            status_sql(program, day).in_([s.value for s in VALID_STATUSES]),
            ~busy,
        )
        .order_by(func.coalesce(distance, literal(9e9)), recent, Person.name_reading)
        .limit(limit)
    ).all()
    places = {
        m.id: m
        for m in session.scalars(
            select(Municipality).where(
                Municipality.id.in_({r[0].main_municipality_id for r in rows} - {None})
            )
        )
    }
    result = []
    for registration, person, count, _distance in rows:
        home_place = places.get(registration.main_municipality_id)
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


def open_places(
    session: DbSession, registration: Registration, *, now: datetime, limit: int = 20
) -> list[tuple[DispatchEvent, int, float | None]]:
    """Open events the supporter may take, nearest first: (event, places left, km)."""
    home = registration.main_municipality or registration.person.residence_municipality
    holding = (
        select(Assignment.event_id, func.count().label("taken"))
        .where(Assignment.state.in_(HOLDING))
        .group_by(Assignment.event_id)
        .subquery()
    )
    taken = func.coalesce(holding.c.taken, 0)
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
        .outerjoin(holding, holding.c.event_id == DispatchEvent.id)
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


def validate_times(on: date, start: str | time, end: str | time) -> tuple[datetime, datetime]:
    """A date and two times of day in Japan (typed any way parse_time reads, or as times) to
    aware datetimes."""
    try:
        start_time = start if isinstance(start, time) else parse_time(start)
        end_time = end if isinstance(end, time) else parse_time(end)
    except ValueError as error:
        raise ServiceError("starts_at", str(_l("Enter times like 13:30."))) from error
    return datetime.combine(on, start_time, TOKYO), datetime.combine(on, end_time, TOKYO)
