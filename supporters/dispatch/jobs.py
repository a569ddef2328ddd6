"""Reminder rules of dispatch, registered with and run by each reminder pass (see
reminders/jobs.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, exists, func, literal, select
from sqlalchemy.orm import joinedload

from supporters.accounts.models import User
from supporters.core.display import human_datetime, lazy
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
from supporters.mail.links import ANSWER_ASSIGNMENT
from supporters.registry.models import ActivityReport, Registration
from supporters.reminders.jobs import register_rule
from supporters.reminders.models import ReminderLedger
from supporters.reminders.rules import (
    BATCH,
    Message,
    OneTap,
    Reminder,
    coordinators_of,
    decide_many,
    staff_by_municipality,
    users_by_person,
)

MORNING = time(7, 0)
# What a reminder about an assignment shows: loaded with the assignments, not one by one.
WITH_EVENT_AND_PERSON = (
    joinedload(Assignment.event).joinedload(DispatchEvent.municipality),
    joinedload(Assignment.registration).joinedload(Registration.person),
)


def _told(rule: str, occurrence: str | ColumnElement[str]) -> ColumnElement[bool]:
    """The assignment's reminder of `rule` is in the ledger (for an anti-join: these rules
    tell one supporter once about each assignment)."""
    return exists().where(
        ReminderLedger.rule == rule,
        ReminderLedger.subject_type == "assignment",
        ReminderLedger.subject_id == Assignment.id,
        ReminderLedger.occurrence == occurrence,
    )


def _when(event: DispatchEvent) -> Any:
    """When and where, in the recipient's language: 2030年5月10日（金） 13:00 高松市 ..."""
    place = f"{event.municipality.name} {event.venue}"
    return lazy(lambda: f"{human_datetime(event.starts_at)} {place}")


def _one_tap(assignment: Assignment) -> OneTap | None:
    """Confirm or decline from the mail, while the request waits for an answer."""
    if assignment.state != AssignmentState.ASSIGNED:
        return None
    return OneTap(
        ANSWER_ASSIGNMENT,
        assignment.id,
        assignment.event.starts_at,
        _l("Answer here without logging in: confirm or decline"),
    )


def _dispatch_occurrence(now: datetime) -> ColumnElement[str]:
    """`upcoming_dispatch`'s occurrence at `now`, in SQL: "morning" once 07:00 (Japan) of the
    event's day has come (only events starting before the next midnight), else "d2"."""
    today = local_date(now)
    if now < datetime.combine(today, MORNING, TOKYO):
        return literal("d2")
    next_midnight = datetime.combine(today + timedelta(days=1), time(0), TOKYO)
    return case((Assignment.starts_at < next_midnight, "morning"), else_="d2")


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
                ~_told("upcoming_dispatch", _dispatch_occurrence(now)),
            )
        )
    )
    users = users_by_person(session, {a.person_id for a in rows})
    due = []
    for assignment in rows:
        event = assignment.event
        if event.state == EventState.CANCELLED:
            continue
        start_local = event.starts_at.astimezone(TOKYO)
        morning = datetime.combine(start_local.date(), MORNING, TOKYO)
        occurrence = "morning" if now >= morning else "d2"
        due.append(
            Reminder(
                "upcoming_dispatch",
                ("assignment", assignment.id),
                occurrence,
                Message(
                    _l(
                        "About your %(event)s: %(title)s",
                        event=lazy_event_word(event),
                        title=event.title,
                    ),
                    [_when(event), (event.bring and _l("Bring: %(b)s", b=event.bring)) or ""],
                    "/schedule",
                    useful_until=event.starts_at,
                    answer=_one_tap(assignment),
                ),
                user=users.get(assignment.person_id),
                person=assignment.registration.person,
            )
        )
    return len(decide_many(session, due, now=now))


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
                ~_told("unconfirmed_assignment", "24h"),
            )
        )
    )
    users = users_by_person(session, {a.person_id for a in rows})
    due = [
        Reminder(
            "unconfirmed_assignment",
            ("assignment", a.id),
            "24h",
            Message(
                _l("Please answer: %(title)s", title=a.event.title),
                [_when(a.event), _l("Please confirm or decline on your schedule page.")],
                "/schedule",
                useful_until=a.event.starts_at,
                answer=_one_tap(a),
            ),
            user=users.get(a.person_id),
            person=a.registration.person,
        )
        for a in rows
    ]
    return len(decide_many(session, due, now=now))


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
                ~_told("report_missing", "d7"),
            )
        )
    )
    users = users_by_person(session, {a.person_id for a in rows})
    # Reports already filed on the day of a dispatch (any dispatch of that registration),
    # for all the candidates at once; the day is the one the supporter thinks in: a
    # dispatch at 00:30 JST is the day before in UTC.
    days = {a.id: local_date(a.starts_at) for a in rows}
    filed: set[tuple[int, date]] = set()
    registration_ids = sorted({a.registration_id for a in rows})
    for start in range(0, len(registration_ids), BATCH):
        filed.update(
            (registration_id, day)
            for registration_id, day in session.execute(
                select(ActivityReport.registration_id, ActivityReport.activity_on).where(
                    ActivityReport.registration_id.in_(registration_ids[start : start + BATCH]),
                    ActivityReport.activity_on.in_(set(days.values())),
                )
            )
        )
    due = [
        Reminder(
            "report_missing",
            ("assignment", assignment.id),
            "d7",
            Message(
                _l("Your activity report for %(title)s", title=assignment.event.title),
                [
                    _l(
                        "Thank you for taking part. Please file a short activity report; "
                        "the form is filled in for you."
                    )
                ],
                f"/register/{assignment.registration_id}/reports/new?assignment={assignment.id}",
            ),
            user=users.get(assignment.person_id),
            person=assignment.registration.person,
        )
        for assignment in rows
        if (assignment.registration_id, days[assignment.id]) not in filed
    ]
    return len(decide_many(session, due, now=now))


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
    by_program: dict[int, list[DispatchEvent]] = defaultdict(list)
    staff = staff_by_municipality(session, {event.municipality_id for event in events})
    due: list[Reminder] = []
    for event in events:
        by_program[event.program_id].append(event)
        due.extend(_short_of(event, user) for user in staff[event.municipality_id])
    for program_id, items in by_program.items():
        for coordinator in coordinators_of(session, program_id):
            due.extend(_short_of(event, coordinator) for event in items)
    return len(decide_many(session, due, now=now))


def _short_of(event: DispatchEvent, user: User) -> Reminder:
    return Reminder(
        "understaffed",
        ("event", event.id),
        "d7",
        Message(
            _l("Not enough supporters yet: %(title)s", title=event.title),
            [_when(event)],
            f"/dispatch/{event.id}",
        ),
        user=user,
    )
