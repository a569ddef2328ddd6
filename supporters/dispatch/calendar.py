"""A supporter's private calendar feed (iCalendar), and single-event downloads."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import segno
from flask_babel import force_locale
from icalendar import Alarm, Calendar, Event
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from supporters.accounts.models import User
from supporters.core.time import TOKYO
from supporters.db import DbSession, now_utc
from supporters.dispatch.models import (
    Assignment,
    AssignmentState,
    CalendarFeed,
    DispatchEvent,
    EventState,
)
from supporters.dispatch.schedule import one_per_event
from supporters.registry.forms import ACTIVITY_LABELS

PRODID = "-//supporters//dispatch schedule//JA"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reset_feed_token(session: DbSession, user: User, *, now: datetime) -> str:
    """A new private address; the old one stops working at once."""
    session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(24)
    session.add(CalendarFeed(user_id=user.id, token_hash=_hash(token), created_at=now))
    session.flush()
    return token


def webcal_url(feed_url: str) -> str:
    """The feed's address for one-tap subscribing: same host and path, webcal scheme."""
    return urlunsplit(urlsplit(feed_url)._replace(scheme="webcal"))


def qr_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data URI, for an <img> (the CSP allows data: images)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=4))


def has_feed(session: DbSession, user: User) -> bool:
    return (
        session.scalar(
            select(CalendarFeed.id).where(
                CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None)
            )
        )
        is not None
    )


def user_for_feed(session: DbSession, token: str) -> User | None:
    return session.scalar(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(
            CalendarFeed.token_hash == _hash(token),
            CalendarFeed.revoked_at.is_(None),
            User.active.is_(True),
        )
    )


def feed_assignments(
    session: DbSession,
    person_id: int,
    *,
    now: datetime,
    registration_ids: Iterable[int] | None = None,
) -> list[Assignment]:
    """Five years back and everything ahead, in one query (events and places included); one
    entry per event, as on the schedule page; with `registration_ids`, only the dispatches
    of those registrations."""
    query = select(Assignment)
    if registration_ids is not None:
        query = query.where(Assignment.registration_id.in_(list(registration_ids)))
    return one_per_event(
        session.scalars(
            query.options(joinedload(Assignment.event).joinedload(DispatchEvent.municipality))
            .where(
                Assignment.person_id == person_id,
                Assignment.state != AssignmentState.DECLINED,
                Assignment.starts_at >= now - timedelta(days=5 * 366),
            )
            .order_by(Assignment.starts_at, Assignment.event_id, Assignment.id)
        )
    )


def build_calendar(
    assignments: Iterable[Assignment],
    *,
    base_url: str,
    domain: str,
    name: str = "サポーター派遣予定",
    now: datetime | None = None,
) -> bytes:
    now = now or now_utc()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", TOKYO.key)
    for assignment in assignments:
        calendar.add_component(_vevent(assignment, base_url=base_url, domain=domain, now=now))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _vevent(assignment: Assignment, *, base_url: str, domain: str, now: datetime) -> Event:
    event = assignment.event
    # A request that ended without an answer (or a recorded no-show) did not take place for
    # this supporter: not left as TENTATIVE in their calendar for ever.
    lapsed = event.ends_at <= now and assignment.state in (
        AssignmentState.ASSIGNED,
        AssignmentState.NO_SHOW,
    )
    cancelled = (
        event.state == EventState.CANCELLED
        or assignment.state == AssignmentState.CANCELLED
        or lapsed
    )
    vevent = Event()
    vevent.add("uid", f"assignment-{assignment.id}@{domain}")
    vevent.add("dtstamp", assignment.answered_at or assignment.created_at)
    vevent.add("dtstart", event.starts_at.astimezone(TOKYO))
    vevent.add("dtend", event.ends_at.astimezone(TOKYO))
    vevent.add("summary", event.title)
    vevent.add("location", f"{event.municipality.name} {event.venue}")
    with force_locale("ja"):  # the feed is in Japanese, whatever the calendar app asks for
        role = str(ACTIVITY_LABELS.get(event.activity, event.activity))
    description = [f"役割: {role}"]
    if event.bring:
        description.append(f"持ち物: {event.bring}")
    if event.notes:
        description.append(event.notes)
    description.append(f"{base_url.rstrip('/')}/schedule")
    vevent.add("description", "\n".join(description))
    vevent.add(
        "status",
        "CANCELLED"
        if cancelled
        else (
            "CONFIRMED"
            if assignment.state in (AssignmentState.CONFIRMED, AssignmentState.ATTENDED)
            else "TENTATIVE"
        ),
    )
    vevent.add("sequence", event.version)
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.title)
        alarm.add("trigger", timedelta(days=-1))
        vevent.add_component(alarm)
    return vevent
