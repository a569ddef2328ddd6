"""Activity reports: a supporter's report of an activity (one per dispatch), the yearly
declaration of no activity, the years still due, and what the report pages show. Plain
functions; they never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.dates import fiscal_year, fiscal_year_bounds
from supporters.core.time import local_date
from supporters.db import DbSession, ServiceError
from supporters.people.free_text import check_free_text
from supporters.programs.models import Program
from supporters.registry.hooks import find_dispatch
from supporters.registry.models import (
    ActivityKind,
    ActivityReport,
    NoActivityDeclaration,
    Registration,
    Topic,
)
from supporters.training.models import Course, CourseKind

NOTE_MAX = 200


@dataclass
class ReportInput:
    activity_on: date | None
    hours: str | Decimal | float | None
    kind: str
    municipality_id: int | None
    topics: list[str]
    note: str = ""
    meeting_course_id: int | None = None
    assignment_id: int | None = None  # the dispatch reported on
    # The writer confirmed that a note the detector warned about identifies no one.
    note_confirmed: bool = False


class ReportAlreadyFiled(ServiceError):
    """A report for this dispatch exists: one report per dispatch."""

    def __init__(self, report: ActivityReport) -> None:
        super().__init__(
            None,
            str(
                _l(
                    "The report for this dispatch was already filed on %(d)s.",
                    d=local_date(report.created_at).isoformat(),
                )
            ),
            code="report_already_filed",
        )
        self.report = report


def report_for_assignment(session: DbSession, assignment_id: int) -> ActivityReport | None:
    return session.scalar(
        select(ActivityReport).where(ActivityReport.assignment_id == assignment_id)
    )


def filed_reports_for_assignments(session: DbSession, assignment_ids: set[int]) -> dict[int, int]:
    """assignment id -> its report's id, for the dispatches that have one."""
    if not assignment_ids:
        return {}
    return {
        assignment_id: report_id
        for assignment_id, report_id in session.execute(
            select(ActivityReport.assignment_id, ActivityReport.id).where(
                ActivityReport.assignment_id.in_(assignment_ids)
            )
        )
        if assignment_id is not None
    }


def _check_assignment(session: DbSession, registration: Registration, assignment_id: int) -> None:
    dispatch = find_dispatch(session, assignment_id)  # dispatch registers with the register
    if dispatch is None or dispatch.registration_id != registration.id:
        raise ServiceError(
            None, str(_l("This dispatch is not one of this supporter's.")), code="not_own_dispatch"
        )
    existing = report_for_assignment(session, assignment_id)
    if existing is not None:
        raise ReportAlreadyFiled(existing)


def file_report(
    session: DbSession,
    *,
    actor: User,
    registration: Registration,
    data: ReportInput,
    today: date,
    on_behalf: bool,
) -> ActivityReport:
    if registration.withdrawn_on is not None:
        raise ServiceError(
            None, str(_l("This registration has been withdrawn.")), code="registration_withdrawn"
        )
    if data.assignment_id is not None:
        _check_assignment(session, registration, data.assignment_id)
    if data.activity_on is None:
        raise ServiceError("activity_on", str(_l("Enter the date.")), code="date_missing")
    if data.activity_on > today:
        raise ServiceError(
            "activity_on", str(_l("The date is in the future.")), code="date_in_future"
        )
    if data.activity_on < registration.registered_on:
        raise ServiceError(
            "activity_on",
            str(_l("The date is before the registration.")),
            code="date_before_registration",
        )
    try:
        hours = Decimal(str(data.hours)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError) as error:
        raise ServiceError(
            "hours", str(_l("Enter the hours as a number, e.g. 1.5.")), code="hours_not_a_number"
        ) from error
    if not Decimal("0") < hours <= Decimal("24"):
        raise ServiceError(
            "hours", str(_l("Enter between 0.1 and 24 hours.")), code="hours_out_of_range"
        )
    if data.kind not in {k.value for k in ActivityKind}:
        raise ServiceError("kind", str(_l("Choose the kind of activity.")), code="kind_unknown")
    topics = sorted(set(data.topics))
    if any(t not in {x.value for x in Topic} for t in topics):
        raise ServiceError("topics", str(_l("Choose topics from the list.")), code="topic_unknown")
    note = " ".join((data.note or "").split())
    if len(note) > NOTE_MAX:
        raise ServiceError(
            "note", str(_l("Use at most %(n)d characters.", n=NOTE_MAX)), code="note_too_long"
        )
    check_free_text(note, field="note", confirmed=data.note_confirmed)
    report = ActivityReport(
        registration_id=registration.id,
        activity_on=data.activity_on,
        hours=hours,
        kind=data.kind,
        municipality_id=data.municipality_id,
        topics=topics,
        note=note,
        meeting_course_id=data.meeting_course_id,
        assignment_id=data.assignment_id,
        filed_by_id=actor.id,
        filed_on_behalf=on_behalf,
    )
    session.add(report)
    session.flush()
    record_audit(
        session,
        actor,
        "report.file",
        report,
        program_id=registration.program_id,
        detail={"on_behalf": on_behalf},
    )
    return report


def reports_due(
    session: DbSession, registration: Registration, program: Program, today: date
) -> list[int]:
    """Fiscal years (from the registration's to this one) without a report or a declaration
    of no activity, where the program requires reports."""
    if not program.activity_reports_required or registration.withdrawn_on is not None:
        return []
    filed = {
        fiscal_year(day)
        for day in session.scalars(
            select(ActivityReport.activity_on).where(
                ActivityReport.registration_id == registration.id
            )
        )
    } | declared_years(session, registration)
    years = range(fiscal_year(registration.registered_on), fiscal_year(today) + 1)
    return [year for year in years if year not in filed]


def declare_no_activity(
    session: DbSession,
    *,
    actor: User,
    registration: Registration,
    year: int,
    today: date,
    on_behalf: bool,
) -> NoActivityDeclaration:
    """活動なし: where the program requires a yearly report, a supporter with no activity in
    a fiscal year says so instead of inventing hours; it counts as that year's report."""
    program = registration.program
    if not program.activity_reports_required:
        raise ServiceError(
            None,
            str(_l("This program does not ask for a yearly report.")),
            code="reports_not_required",
        )
    if registration.withdrawn_on is not None:
        raise ServiceError(
            None, str(_l("This registration has been withdrawn.")), code="registration_withdrawn"
        )
    if year > fiscal_year(today):
        raise ServiceError(
            "year", str(_l("This fiscal year has not started yet.")), code="year_not_started"
        )
    if year < fiscal_year(registration.registered_on):
        raise ServiceError(
            "year",
            str(_l("The registration began after this fiscal year.")),
            code="year_before_registration",
        )
    start, end = fiscal_year_bounds(year)
    reported = session.scalar(
        select(func.count())
        .select_from(ActivityReport)
        .where(
            ActivityReport.registration_id == registration.id,
            ActivityReport.activity_on.between(start, end),
        )
    )
    if reported:
        raise ServiceError(
            None,
            str(_l("An activity report was filed for this fiscal year: there was activity.")),
            code="activity_reported",
        )
    if year in declared_years(session, registration):
        raise ServiceError(
            None,
            str(_l("No activity was already declared for this fiscal year.")),
            code="no_activity_already_declared",
        )
    declaration = NoActivityDeclaration(
        registration_id=registration.id,
        fiscal_year=year,
        declared_on=today,
        filed_by_id=actor.id,
        filed_on_behalf=on_behalf,
    )
    session.add(declaration)
    session.flush()
    record_audit(
        session,
        actor,
        "report.no_activity",
        registration,
        program_id=registration.program_id,
        detail={"fiscal_year": year, "on_behalf": on_behalf},
    )
    return declaration


def declared_years(session: DbSession, registration: Registration) -> set[int]:
    return set(
        session.scalars(
            select(NoActivityDeclaration.fiscal_year).where(
                NoActivityDeclaration.registration_id == registration.id
            )
        )
    )


def report_totals(session: DbSession, registration: Registration) -> tuple[int, Decimal]:
    count, hours = session.execute(
        select(func.count(), func.coalesce(func.sum(ActivityReport.hours), 0)).where(
            ActivityReport.registration_id == registration.id
        )
    ).one()
    return int(count), Decimal(hours)


def recent_reports(
    session: DbSession, registration: Registration, *, limit: int
) -> list[ActivityReport]:
    """The registration's reports, latest activity first."""
    return list(
        session.scalars(
            select(ActivityReport)
            .where(ActivityReport.registration_id == registration.id)
            .order_by(ActivityReport.activity_on.desc())
            .limit(limit)
        )
    )


# --- the report form ------------------------------------------------------------------


def recent_meetings(session: DbSession, registration: Registration) -> list[Course]:
    """The program's supporter meetings a report can be about, newest first."""
    return list(
        session.scalars(
            select(Course)
            .where(Course.program_id == registration.program_id, Course.kind == CourseKind.MEETING)
            .order_by(Course.id.desc())
            .limit(20)
        )
    )


def report_prefill(
    session: DbSession, registration: Registration, assignment_id: int | None
) -> dict[str, Any] | None:
    """From a dispatch of this registration ("file the activity report" on the schedule):
    the form's date, hours, kind and place; None for any other dispatch."""
    dispatch = find_dispatch(session, assignment_id or 0)
    if dispatch is None or dispatch.registration_id != registration.id:
        return None
    return {
        "activity_on": local_date(dispatch.starts_at),
        "hours": f"{(dispatch.ends_at - dispatch.starts_at).total_seconds() / 3600:.1f}",
        "kind": dispatch.activity,
        "municipality": dispatch.municipality,
    }
