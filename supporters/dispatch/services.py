"""Dispatch operations: planning events, municipal requests, staffing without overbooking,
attendance. Plain functions: session, actor and time in; they never commit. (places.py
counts places and takes the locks, finding.py finds people and places, schedule.py
reads a supporter's dispatches.)

Invariants, also under concurrency: never more supporters holding places than needed;
never one person in two overlapping events; never a supporter whose registration is not
valid on the event's date. Every staffing change first locks the event row, then the
person row (always in that order), and checks after taking the locks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.dates import parse_time
from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession, ServiceError
from supporters.dispatch import kinds
from supporters.dispatch.models import (
    HOLDING,
    Assignment,
    AssignmentState,
    DispatchEvent,
    EventKind,
    EventState,
    ProgramMunicipality,
)
from supporters.dispatch.places import (
    clashes,
    confirmed_count,
    holding_count,
    lock_event,
    lock_person,
    recount_taken,
)
from supporters.dispatch.words import event_word
from supporters.people.free_text import check_free_text
from supporters.programs.models import DispatchMode, Municipality, Program
from supporters.registry.models import VALID_STATUSES, ActivityKind, Registration
from supporters.registry.services import events_for, status_on

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
    # The program's kind of activity (dispatch/kinds.py); none: the program's first kind.
    activity_kind_id: int | None = None
    # The writer confirmed that text the detector warned about identifies no one.
    free_text_confirmed: bool = False

    def columns(self) -> dict[str, Any]:
        """The values stored on the event (not the confirmation)."""
        values = dict(self.__dict__)
        values.pop("free_text_confirmed")
        return values


def _check_event(session: DbSession, program: Program, data: EventInput) -> None:
    if not data.title.strip():
        raise ServiceError("title", str(_l("Enter the name of the event.")), code="title_required")
    if not data.venue.strip():
        raise ServiceError(
            "venue", str(_l("Enter the venue (a public place).")), code="venue_required"
        )
    # What supporters and staff read about the event must not identify the client.
    check_free_text(data.title, field="title", confirmed=data.free_text_confirmed)
    check_free_text(data.venue, field="venue", confirmed=data.free_text_confirmed)
    check_free_text(data.notes, field="notes", confirmed=data.free_text_confirmed)
    if data.ends_at <= data.starts_at:
        raise ServiceError(
            "ends_at", str(_l("The end must be after the start.")), code="end_before_start"
        )
    if not 1 <= data.needed <= MAX_NEEDED:
        raise ServiceError(
            "needed",
            str(_l("Between 1 and %(n)d supporters.", n=MAX_NEEDED)),
            code="needed_out_of_range",
        )
    if data.activity not in {k.value for k in ActivityKind}:
        raise ServiceError(
            "activity", str(_l("Choose the kind of activity.")), code="activity_unknown"
        )
    place = session.get(Municipality, data.municipality_id)
    if place is None or place.prefecture != program.prefecture:
        raise ServiceError(
            "municipality",
            str(_l("Choose a municipality in %(p)s.", p=program.prefecture)),
            code="municipality_outside_prefecture",
        )


def create_event(
    session: DbSession, *, actor: User, program: Program, data: EventInput, publish: bool = True
) -> DispatchEvent:
    _check_event(session, program, data)
    mechanic = KIND_FOR_MODE[DispatchMode(program.dispatch_mode)]
    kind = kinds.kind_for_event(
        session, program, data.activity_kind_id, event_kind=mechanic, activity=data.activity
    )
    event = DispatchEvent(
        program_id=program.id,
        kind=kind.event_kind if kind is not None else mechanic,
        state=EventState.OPEN if publish else EventState.DRAFT,
        created_by_id=actor.id,
        **{
            **data.columns(),
            "title": data.title.strip(),
            "venue": data.venue.strip(),
            "activity_kind_id": kind.id if kind is not None else None,
        },
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
            "date",
            str(_l("This date and time is in the past; ask for a day still ahead.")),
            code="request_in_past",
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
            code="municipality_not_in_scheme",
        )
    kind = kinds.kind_for_event(
        session,
        program,
        data.activity_kind_id,
        event_kind=EventKind.DISPATCH_REQUEST,
        activity=data.activity,
    )
    if kind is not None and kind.event_kind != EventKind.DISPATCH_REQUEST:
        # A municipality requests supporters; the program's places and meetings are its own.
        raise ServiceError(
            "activity_kind", str(_l("Choose the kind of activity.")), code="activity_kind_unknown"
        )
    event = DispatchEvent(
        program_id=program.id,
        kind=EventKind.DISPATCH_REQUEST,
        state=EventState.REQUESTED,
        requested_by_id=actor.id,
        created_by_id=actor.id,
        **{
            **data.columns(),
            "title": data.title.strip(),
            "venue": data.venue.strip(),
            "activity_kind_id": kind.id if kind is not None else None,
        },
    )
    session.add(event)
    session.flush()
    record_audit(session, actor, "dispatch.request", event, program_id=program.id)
    return event


def accept_request(session: DbSession, *, actor: User, event: DispatchEvent, now: datetime) -> None:
    if event.state != EventState.REQUESTED:
        raise ServiceError(
            None, str(_l("Only a pending request can be accepted.")), code="request_not_pending"
        )
    if event.starts_at <= now:
        raise ServiceError(
            None,
            str(_l("The requested time has passed; decline the request instead.")),
            code="request_time_passed",
        )
    event.state = EventState.OPEN
    record_audit(session, actor, "dispatch.accept", event, program_id=event.program_id)


def decline_request(session: DbSession, *, actor: User, event: DispatchEvent, reason: str) -> None:
    if event.state != EventState.REQUESTED:
        raise ServiceError(
            None, str(_l("Only a pending request can be declined.")), code="request_not_pending"
        )
    if not reason.strip():
        raise ServiceError("reason", str(_l("Give a reason.")), code="reason_required")
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
        raise ServiceError(
            None, str(_l("This event can no longer be cancelled.")), code="event_not_cancellable"
        )
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
    session.flush()
    recount_taken(session, event)
    record_audit(session, actor, "dispatch.cancel", event, program_id=event.program_id)
    return live


def record_notice_printed(session: DbSession, *, actor: User, assignment: Assignment) -> None:
    """The printed notice (活動のご案内) carries the supporter's name: an audited export."""
    record_audit(
        session,
        actor,
        "export.dispatch_notice",
        assignment,
        program_id=assignment.event.program_id,
    )


# --- staffing -------------------------------------------------------------------------


def registration_valid_on(session: DbSession, registration: Registration, day: date) -> bool:
    status = status_on(registration, registration.program, events_for(session, registration), day)
    return status in VALID_STATUSES


def _refresh_state(session: DbSession, event: DispatchEvent) -> None:
    """充足 (staffed) only when every place is confirmed: a supporter who was asked and has
    not answered yet holds the place against overbooking, but does not fill it."""
    recount_taken(session, event)
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
    lock_person(session, registration.person_id)
    session.refresh(event)
    if event.state not in (EventState.OPEN, EventState.STAFFED):
        raise ServiceError(
            None,
            str(_l("This %(event)s is not open for supporters.", event=event_word(event))),
            code="event_not_open",
        )
    if event.starts_at <= now:
        raise ServiceError(
            None,
            str(_l("This %(event)s has already started.", event=event_word(event))),
            code="event_started",
        )
    if registration.program_id != event.program_id:
        raise ServiceError(
            None, str(_l("Only supporters of this program can take part.")), code="other_program"
        )
    if not registration_valid_on(session, registration, local_date(event.starts_at)):
        raise ServiceError(
            None,
            str(
                _l(
                    "The registration is not valid on the day of the event "
                    "(lapsed, suspended or withdrawn)."
                )
            ),
            code="registration_not_valid",
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
        raise ServiceError(
            None,
            str(_l("Already taking part in this %(event)s.", event=event_word(event))),
            code="already_taking_part",
        )
    if holding_count(session, event) >= event.needed:
        raise ServiceError(
            None, str(_l("This %(event)s is full.", event=event_word(event))), code="event_full"
        )
    if clashes(session, registration.person_id, event.starts_at, event.ends_at):
        raise ServiceError(
            None,
            str(_l("This overlaps another dispatch on the same day.")),
            code="overlapping_dispatch",
        )
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
        raise ServiceError(
            None, str(_l("This request has already been answered.")), code="already_answered"
        )
    event = assignment.event
    lock_event(session, event)
    if accept and event.starts_at <= now:
        raise ServiceError(
            None,
            str(_l("This %(event)s has already started.", event=event_word(event))),
            code="event_started",
        )
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
        raise ServiceError(
            None, str(_l("This assignment is not active.")), code="assignment_not_active"
        )
    if by_supporter and now > self_cancel_deadline(assignment):
        raise ServiceError(
            None,
            str(_l("It is too late to cancel here. Please contact the coordinator directly.")),
            code="self_cancel_too_late",
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
        raise ServiceError(
            "needed",
            str(_l("Between 1 and %(n)d supporters.", n=MAX_NEEDED)),
            code="needed_out_of_range",
        )
    lock_event(session, event)
    holding = holding_count(session, event)
    if needed < holding:
        raise ServiceError(
            "needed",
            str(
                _l("%(n)d supporters already hold a place; cancel an assignment first.", n=holding)
            ),
            code="needed_below_holding",
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
        raise ServiceError(
            None,
            str(_l("Attendance can be recorded once the event has ended.")),
            code="event_not_ended",
        )
    if event.state in (EventState.CANCELLED, EventState.DECLINED, EventState.REQUESTED):
        raise ServiceError(None, str(_l("This event did not take place.")), code="event_not_held")
    rows = list(
        session.scalars(
            select(Assignment).where(
                Assignment.event_id == event.id,
                Assignment.state.in_((*HOLDING, AssignmentState.ATTENDED, AssignmentState.NO_SHOW)),
            )
        )
    )
    if attended_ids - {a.id for a in rows}:
        raise ServiceError(
            None, str(_l("Some supporters are not assigned to this event.")), code="not_assigned"
        )
    for assignment in rows:
        assignment.state = (
            AssignmentState.ATTENDED if assignment.id in attended_ids else AssignmentState.NO_SHOW
        )
    if event.state != EventState.REPORTED:
        event.state = EventState.HELD
    lock_event(session, event)
    session.flush()
    recount_taken(session, event)
    record_audit(
        session,
        actor,
        "dispatch.attendance",
        event,
        program_id=event.program_id,
        detail={"attended": len(attended_ids), "no_show": len(rows) - len(attended_ids)},
    )
    return [a for a in rows if a.id in attended_ids]


def validate_times(on: date, start: str | time, end: str | time) -> tuple[datetime, datetime]:
    """A date and two times of day in Japan (typed any way parse_time reads, or as times) to
    aware datetimes."""
    try:
        start_time = start if isinstance(start, time) else parse_time(start)
        end_time = end if isinstance(end, time) else parse_time(end)
    except ValueError as error:
        raise ServiceError(
            "starts_at", str(_l("Enter times like 13:30.")), code="time_invalid"
        ) from error
    return datetime.combine(on, start_time, TOKYO), datetime.combine(on, end_time, TOKYO)
