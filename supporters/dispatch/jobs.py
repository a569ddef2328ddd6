"""Reminder rules of dispatch, registered with and run by each reminder pass (see
reminders/jobs.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload

from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession
from supporters.dispatch.models import (
    HOLDING,
    Assignment,
    AssignmentState,
    DispatchEvent,
    EventState,
)
from supporters.dispatch.words import lazy_event_word
from supporters.registry.models import ActivityReport, Registration
from supporters.reminders.jobs import register_rule
from supporters.reminders.rules import Message, coordinators_of, decide, staff_of, users_by_person

MORNING = time(7, 0)
# What a reminder about an assignment shows: loaded with the assignments, not one by one.
WITH_EVENT_AND_PERSON = (
    joinedload(Assignment.event).joinedload(DispatchEvent.municipality),
    joinedload(Assignment.registration).joinedload(Registration.person),
)


def _when(event: DispatchEvent) -> str:
    start = event.starts_at.astimezone(TOKYO)
    return f"{start:%Y/%m/%d %H:%M} {event.municipality.name} {event.venue}"


@register_rule(order=40)
def upcoming_dispatch(session: DbSession, now: datetime) -> int:
    """Two days before, and on the morning of the day. Never after the start."""
    rows = list(
        session.scalars(
            select(Assignment)
            .options(*WITH_EVENT_AND_PERSON)
            .where(
                Assignment.state.in_(HOLDING),
                Assignment.starts_at > now,
                Assignment.starts_at <= now + timedelta(days=2),
            )
        )
    )
    users = users_by_person(session, {a.person_id for a in rows})
    decided = 0
    for assignment in rows:
        event = assignment.event
        if event.state == EventState.CANCELLED:
            continue
        start_local = event.starts_at.astimezone(TOKYO)
        morning = datetime.combine(start_local.date(), MORNING, TOKYO)
        occurrence = "morning" if now >= morning else "d2"
        if decide(
            session,
            rule="upcoming_dispatch",
            subject=("assignment", assignment.id),
            occurrence=occurrence,
            now=now,
            user=users.get(assignment.person_id),
            person=assignment.registration.person,
            message=Message(
                _l(
                    "About your %(event)s: %(title)s",
                    event=lazy_event_word(event),
                    title=event.title,
                ),
                [_when(event), (event.bring and _l("Bring: %(b)s", b=event.bring)) or ""],
                "/schedule",
                useful_until=event.starts_at,
            ),
        ):
            decided += 1
    return decided


@register_rule(order=50)
def unconfirmed_assignment(session: DbSession, now: datetime) -> int:
    """A request not answered within 24 hours: remind the supporter once."""
    rows = list(
        session.scalars(
            select(Assignment)
            .options(*WITH_EVENT_AND_PERSON)
            .where(
                Assignment.state == AssignmentState.ASSIGNED,
                Assignment.created_at <= now - timedelta(hours=24),
                Assignment.starts_at > now,
            )
        )
    )
    users = users_by_person(session, {a.person_id for a in rows})
    return sum(
        decide(
            session,
            rule="unconfirmed_assignment",
            subject=("assignment", a.id),
            occurrence="24h",
            now=now,
            user=users.get(a.person_id),
            person=a.registration.person,
            message=Message(
                _l("Please answer: %(title)s", title=a.event.title),
                [_when(a.event), _l("Please confirm or decline on your schedule page.")],
                "/schedule",
                useful_until=a.event.starts_at,
            ),
        )
        for a in rows
    )


@register_rule(order=60)
def report_after_dispatch(session: DbSession, now: datetime) -> int:
    """Seven days after an attended dispatch without a report of that day: ask once."""
    rows = list(
        session.scalars(
            select(Assignment)
            .options(*WITH_EVENT_AND_PERSON)
            .where(
                Assignment.state == AssignmentState.ATTENDED,
                Assignment.ends_at <= now - timedelta(days=7),
                Assignment.ends_at > now - timedelta(days=21),
                # A report filed for this dispatch; the date check is below, in Japan time.
                ~exists().where(ActivityReport.assignment_id == Assignment.id),
            )
        )
    )
    users = users_by_person(session, {a.person_id for a in rows})
    decided = 0
    for assignment in rows:
        # The day the supporter thinks in: a dispatch at 00:30 JST is the day before in UTC.
        day = local_date(assignment.starts_at)
        filed = session.scalar(
            select(ActivityReport.id).where(
                ActivityReport.registration_id == assignment.registration_id,
                ActivityReport.activity_on == day,
            )
        )
        if filed is None and decide(
            session,
            rule="report_missing",
            subject=("assignment", assignment.id),
            occurrence="d7",
            now=now,
            user=users.get(assignment.person_id),
            person=assignment.registration.person,
            message=Message(
                _l("Your activity report for %(title)s", title=assignment.event.title),
                [
                    _l(
                        "Thank you for taking part. Please file a short activity report; "
                        "the form is filled in for you."
                    )
                ],
                f"/register/{assignment.registration_id}/reports/new?assignment={assignment.id}",
            ),
        ):
            decided += 1
    return decided


@register_rule(order=70)
def understaffed(session: DbSession, now: datetime) -> int:
    """Events in the next seven days with places still free: a digest per program to the
    coordinators and per municipality to its staff, once per event."""
    holding = (
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.event_id == DispatchEvent.id, Assignment.state.in_(HOLDING))
        .scalar_subquery()
    )
    events = list(
        session.scalars(
            select(DispatchEvent)
            .options(joinedload(DispatchEvent.municipality))
            .where(
                DispatchEvent.state == EventState.OPEN,
                DispatchEvent.starts_at > now,
                DispatchEvent.starts_at <= now + timedelta(days=7),
                holding < DispatchEvent.needed,
            )
        )
    )
    decided = 0
    by_program: dict[int, list[DispatchEvent]] = defaultdict(list)
    for event in events:
        by_program[event.program_id].append(event)
        for staff in staff_of(session, event.municipality_id):
            decided += decide(
                session,
                rule="understaffed",
                subject=("event", event.id),
                occurrence="d7",
                now=now,
                user=staff,
                message=Message(
                    _l("Not enough supporters yet: %(title)s", title=event.title),
                    [_when(event)],
                    f"/dispatch/{event.id}",
                ),
            )
    for program_id, items in by_program.items():
        for coordinator in coordinators_of(session, program_id):
            for event in items:
                decided += decide(
                    session,
                    rule="understaffed",
                    subject=("event", event.id),
                    occurrence="d7",
                    now=now,
                    user=coordinator,
                    message=Message(
                        _l("Not enough supporters yet: %(title)s", title=event.title),
                        [_when(event)],
                        f"/dispatch/{event.id}",
                    ),
                )
    return decided
