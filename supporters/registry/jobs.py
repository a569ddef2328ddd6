"""Reminder rules of the register, registered with and run by each reminder pass (see
reminders/jobs.py). The follow-up course notice is here: it goes to the registered supporters."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from supporters.core.dates import fiscal_year, fiscal_year_bounds
from supporters.core.eras import format_date
from supporters.core.time import local_date
from supporters.db import DbSession
from supporters.programs.models import Program
from supporters.registry.models import VALID_STATUSES, ActivityReport, Registration
from supporters.registry.services import erase_withdrawn, no_activity_declared_filter, status_sql
from supporters.reminders.jobs import register_rule
from supporters.reminders.models import ReminderLedger
from supporters.reminders.rules import (
    Message,
    coordinators_of,
    decide,
    last_pass_of,
    users_by_person,
)
from supporters.training.models import Course, CourseKind
from supporters.training.services.course_state import open_for_applications_filter

LEAD_DAYS = (90, 30, 7)  # before the validity end, after the window opens
LAPSE_CATCH_UP_DAYS = 7  # at least; back to the last pass after an outage (essential)
REPORT_MISSING_BATCH = 1000  # registrations loaded at a time


def _occurrence(days_left: int, window: int) -> str | None:
    """The latest reminder that applies today; earlier ones are no longer useful."""
    if days_left < 0:
        return None
    for lead in sorted(LEAD_DAYS):
        if days_left <= lead:
            return f"d{lead}"
    return "window" if days_left <= window else None


@register_rule(order=10)
def follow_up_due(session: DbSession, now: datetime) -> int:
    """Follow-up due: when the window opens, then 90, 30 and 7 days before the end, and on
    lapse; to the supporter, and a daily digest to the program's coordinators."""
    today = local_date(now)
    programs = {
        p.id: p
        for p in session.scalars(
            select(Program).where(
                Program.follow_up_interval_months.is_not(None),
                Program.follow_up_mandatory.is_(True),
            )
        )
    }
    if not programs:
        return 0
    longest = max(p.follow_up_window_days for p in programs.values())
    # A lapse notice is essential: after an outage, reach back to the last pass that ran,
    # so every lapse that fell due meanwhile is told (late, with its date), never dropped.
    catch_up = LAPSE_CATCH_UP_DAYS
    last = last_pass_of(session, "follow_up_due")
    if last is not None and last < now:
        catch_up = max(catch_up, (today - local_date(last)).days + 1)
    rows = list(
        session.scalars(
            select(Registration)
            .options(selectinload(Registration.person))
            .where(
                Registration.program_id.in_(programs),
                Registration.withdrawn_on.is_(None),
                Registration.valid_until.is_not(None),
                Registration.valid_until >= today - timedelta(days=catch_up),
                Registration.valid_until <= today + timedelta(days=longest),
            )
        )
    )
    users = users_by_person(session, {r.person_id for r in rows})
    decided = 0
    digest: dict[int, list[Any]] = defaultdict(list)
    for registration in rows:
        program = programs[registration.program_id]
        end = registration.valid_until
        assert end is not None
        days_left = (end - today).days
        if days_left < 0:
            occurrence = "lapse"
            lines = [
                _l(
                    "Your supporter registration %(n)s lapsed on %(d)s. Taking a follow-up "
                    "training renews it.",
                    n=registration.number,
                    d=format_date(end),
                )
            ]
            title = _l("Your supporter registration has lapsed")
        else:
            found = _occurrence(days_left, program.follow_up_window_days)
            if found is None:
                continue
            occurrence = found
            title = _l(
                "Follow-up training: your registration is valid until %(d)s", d=format_date(end)
            )
            lines = [
                _l(
                    "Please take a follow-up training before %(d)s to stay registered "
                    "(registration %(n)s).",
                    d=format_date(end),
                    n=registration.number,
                )
            ]
        if decide(
            session,
            rule="lapse" if occurrence == "lapse" else "follow_up_due",
            subject=("registration", registration.id),
            occurrence=f"{end.isoformat()}:{occurrence}",
            message=Message(title, lines, "/me"),
            now=now,
            user=users.get(registration.person_id),
            person=registration.person,
        ):
            decided += 1
            # The coordinator reads words and dates, not the rule's codes (window, d7, lapse).
            digest[program.id].append(
                _l("%(n)s: lapsed after %(d)s", n=registration.number, d=format_date(end))
                if occurrence == "lapse"
                else _l("%(n)s: valid until %(d)s", n=registration.number, d=format_date(end))
            )
    for program_id, items in digest.items():
        for coordinator in coordinators_of(session, program_id):
            decide(
                session,
                rule="follow_up_digest",
                subject=("program", program_id),
                occurrence=today.isoformat(),
                now=now,
                user=coordinator,
                message=Message(
                    _l("Follow-ups due and lapses: %(n)d supporters", n=len(items)),
                    items[:50],
                    "/register/?due=90",
                ),
            )
    return decided


@register_rule(order=20)
def report_missing(session: DbSession, now: datetime) -> int:
    """The yearly activity report where the program requires one: in February and March,
    to valid supporters with no report (nor a declaration of no activity) in this fiscal
    year. Those the ledger already has for the year are left out in the query, and the rest
    are taken in batches, so every supporter is told once however many there are."""
    today = local_date(now)
    if today.month not in (2, 3):
        return 0
    year = fiscal_year(today)
    start, _end = fiscal_year_bounds(year)
    occurrence = f"fy{year}"
    programs = list(
        session.scalars(select(Program).where(Program.activity_reports_required.is_(True)))
    )
    decided = 0
    for program in programs:
        filed = exists().where(
            ActivityReport.registration_id == Registration.id, ActivityReport.activity_on >= start
        )
        told = exists().where(
            ReminderLedger.rule == "report_missing",
            ReminderLedger.subject_type == "registration",
            ReminderLedger.subject_id == Registration.id,
            ReminderLedger.occurrence == occurrence,
        )
        conditions = [
            Registration.program_id == program.id,
            Registration.withdrawn_on.is_(None),
            Registration.registered_on < start,
            ~filed,
            ~told,
            *no_activity_declared_filter(year),
        ]
        last_id = 0
        while True:
            rows = list(
                session.scalars(
                    select(Registration)
                    .options(selectinload(Registration.person))
                    .where(*conditions, Registration.id > last_id)
                    .order_by(Registration.id)
                    .limit(REPORT_MISSING_BATCH)
                )
            )
            if not rows:
                break
            last_id = rows[-1].id
            users = users_by_person(session, {r.person_id for r in rows})
            for registration in rows:
                if decide(
                    session,
                    rule="report_missing",
                    subject=("registration", registration.id),
                    occurrence=occurrence,
                    now=now,
                    user=users.get(registration.person_id),
                    person=registration.person,
                    message=Message(
                        _l("Your activity report for this fiscal year"),
                        [
                            _l(
                                "The program asks for at least one activity report "
                                "each fiscal year. Please file yours by 31 March."
                            )
                        ],
                        "/me",
                    ),
                ):
                    decided += 1
    return decided


@register_rule(order=30)
def erase_after_retention(session: DbSession, now: datetime) -> int:
    days = int(current_app.config.get("WITHDRAWN_RETENTION_DAYS", 365))
    return erase_withdrawn(session, now=now, retention_days=days)


@register_rule(order=90)
def follow_up_course(session: DbSession, now: datetime) -> int:
    """A follow-up course that can be taken: tell the program's registered supporters (who
    have an account) once, when its applications are open and its first session is still
    ahead. Courses already held, started, closed or not yet open are not announced, however
    recently their records were entered."""
    today = local_date(now)
    courses = list(
        session.scalars(
            select(Course)
            .where(Course.kind == CourseKind.FOLLOW_UP, *open_for_applications_filter(today))
            .order_by(Course.id)
        )
    )
    decided = 0
    for course in courses:
        status = status_sql(course.program, today)
        person_ids = set(
            session.scalars(
                select(Registration.person_id).where(
                    Registration.program_id == course.program_id,
                    status.in_([s.value for s in VALID_STATUSES]),
                )
            )
        )
        for user in users_by_person(session, person_ids).values():
            decided += decide(
                session,
                rule="follow_up_course",
                subject=("course", course.id),
                occurrence="new",
                now=now,
                user=user,
                message=Message(
                    _l("New follow-up training: %(t)s", t=course.title),
                    [course.venue],
                    f"/courses/{course.id}",
                ),
            )
    return decided
