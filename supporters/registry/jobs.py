"""Reminder rules of the register, registered with and run by each reminder pass (see
reminders/jobs.py). The follow-up course notice is here: it goes to the registered supporters."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, String, case, cast, exists, literal, select
from sqlalchemy.orm import selectinload

from supporters.accounts.models import User
from supporters.core.dates import fiscal_year, fiscal_year_bounds
from supporters.core.display import era_date, lazy
from supporters.core.time import TOKYO, local_date, today_in_japan
from supporters.db import DbSession
from supporters.mail.links import APPLY_FOR_COURSE
from supporters.programs.models import Program
from supporters.registry.models import VALID_STATUSES, ActivityReport, Registration
from supporters.registry.services import (
    erase_withdrawn,
    no_activity_declared_filter,
    status_sql,
    status_today_sql,
)
from supporters.reminders.jobs import register_rule
from supporters.reminders.models import ReminderLedger
from supporters.reminders.rules import (
    Message,
    OneTap,
    Reminder,
    coordinators_of,
    decide_many,
    last_pass_of,
    users_by_person,
)
from supporters.training.models import Course, CourseKind
from supporters.training.services.course_state import (
    first_session_on,
    open_for_applications_filter,
)

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


def _told_of_validity_end(today: date) -> ColumnElement[bool]:
    """The reminder that applies today (`_occurrence`, or the lapse notice) is in the ledger:
    for an anti-join, so a pass reads only the registrations with something new to tell.
    (Beyond the program's window the occurrence is None: those rows are read and skipped.)"""
    which = case(
        (Registration.valid_until < today, "lapse"),
        *[
            (Registration.valid_until <= today + timedelta(days=lead), f"d{lead}")
            for lead in sorted(LEAD_DAYS)
        ],
        else_="window",
    )
    return exists().where(
        ReminderLedger.rule.in_(("follow_up_due", "lapse")),
        ReminderLedger.subject_type == "registration",
        ReminderLedger.subject_id == Registration.id,
        ReminderLedger.occurrence == cast(Registration.valid_until, String) + ":" + which,
    )


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
                ~_told_of_validity_end(today),
            )
        )
    )
    users = users_by_person(session, {r.person_id for r in rows})
    programs_of = {r.id: r.program_id for r in rows}
    due: list[tuple[Reminder, Any]] = []
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
                    d=lazy(era_date, end),
                )
            ]
            title = _l("Your supporter registration has lapsed")
        else:
            found = _occurrence(days_left, program.follow_up_window_days)
            if found is None:
                continue
            occurrence = found
            title = _l(
                "Follow-up training: your registration is valid until %(d)s", d=lazy(era_date, end)
            )
            lines = [
                _l(
                    "Please take a follow-up training before %(d)s to stay registered "
                    "(registration %(n)s).",
                    d=lazy(era_date, end),
                    n=registration.number,
                )
            ]
        due.append(
            (
                Reminder(
                    "lapse" if occurrence == "lapse" else "follow_up_due",
                    ("registration", registration.id),
                    f"{end.isoformat()}:{occurrence}",
                    Message(title, lines, "/me"),
                    user=users.get(registration.person_id),
                    person=registration.person,
                ),
                # The coordinator reads words and dates, not the rule's codes (window, d7, lapse).
                _l("%(n)s: lapsed after %(d)s", n=registration.number, d=lazy(era_date, end))
                if occurrence == "lapse"
                else _l("%(n)s: valid until %(d)s", n=registration.number, d=lazy(era_date, end)),
            )
        )
    decided = decide_many(session, [item for item, _line in due], now=now)
    told = {id(item) for item in decided}
    digest: dict[int, list[Any]] = defaultdict(list)
    for item, line in due:
        if id(item) in told:
            digest[programs_of[item.subject[1]]].append(line)
    digests = [
        Reminder(
            "follow_up_digest",
            ("program", program_id),
            today.isoformat(),
            Message(
                _l("Follow-ups due and lapses: %(n)d supporters", n=len(items)),
                items[:50],
                "/register/?due=90",
            ),
            user=coordinator,
        )
        for program_id, items in digest.items()
        for coordinator in coordinators_of(session, program_id)
    ]
    decide_many(session, digests, now=now)
    return len(decided)


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
            due = [
                Reminder(
                    "report_missing",
                    ("registration", registration.id),
                    occurrence,
                    Message(
                        _l("Your activity report for this fiscal year"),
                        [
                            _l(
                                "The program asks for at least one activity report "
                                "each fiscal year. Please file yours by 31 March."
                            )
                        ],
                        "/me",
                    ),
                    user=users.get(registration.person_id),
                    person=registration.person,
                )
                for registration in rows
            ]
            decided += len(decide_many(session, due, now=now))
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
        one_tap = _apply_link(course)
        # Today's status from the stored columns (a pass at another moment: the history).
        status = (
            status_today_sql(course.program, today)
            if today == today_in_japan()
            else status_sql(course.program, today)
        )
        registered = select(Registration.person_id).where(
            Registration.program_id == course.program_id,
            status.in_([s.value for s in VALID_STATUSES]),
        )
        # Those told about this course already are left out in the query: one set of the
        # recipients told (a hashed anti-join), not a ledger probe per user, since a probe
        # by a computed recipient reads every ledger row of the course each time.
        told = select(ReminderLedger.recipient).where(
            ReminderLedger.rule == "follow_up_course",
            ReminderLedger.subject_type == "course",
            ReminderLedger.subject_id == course.id,
            ReminderLedger.occurrence == "new",
        )
        users = session.scalars(
            select(User)
            .where(
                User.person_id.in_(registered),
                User.active.is_(True),
                (literal("user:") + cast(User.id, String)).not_in(told),
            )
            .order_by(User.id)
        )
        message = Message(
            _l("New follow-up training: %(t)s", t=course.title),
            [course.venue],
            f"/courses/{course.id}",
            answer=one_tap,
        )
        due = [
            Reminder("follow_up_course", ("course", course.id), "new", message, user=user)
            for user in users
        ]
        decided += len(decide_many(session, due, now=now))
    return decided


def _apply_link(course: Course) -> OneTap | None:
    """Apply from the mail: until applications close or the first session's day begins."""
    first = first_session_on(course)
    if first is None:
        return None
    last_day = first - timedelta(days=1)
    if course.application_closes_on is not None:
        last_day = min(last_day, course.application_closes_on)
    until = datetime.combine(last_day + timedelta(days=1), time(0, 0), TOKYO)
    return OneTap(APPLY_FOR_COURSE, course.id, until, _l("Apply here without logging in"))
