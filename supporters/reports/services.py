"""Fiscal-year figures per program and the counts of the start pages.

Every figure comes from an aggregate query (GROUP BY, conditional sums, correlated EXISTS), so
the number of queries is the same for ten supporters and for a national register. Plain
functions: session, program and dates in; they never commit and never read the request.

Definitions (年度 = April to March; a running year counts up to today):
- courses held in a year: courses whose first session falls in it; applicants are all their
  enrolments, attendees the enrolments present at one session or more, completions the
  completed enrolments.
- attribute breakdown: attendees of the year's initial training by attribute (sensitive:
  the views show it to the program's coordinators only).
- lapsed: a validity period ended during the year without a renewal by its last day (the
  registration not withdrawn before). Follow-up due: a validity end inside the year; done:
  renewed by that day; overdue: the day has passed without a renewal.
- dispatch: events that were not cancelled, declined, drafted or left as a request;
  supporter-hours are the hours of attended assignments.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    distinct,
    exists,
    extract,
    false,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from supporters.core.csv import safe_cell
from supporters.core.dates import add_months, fiscal_year, fiscal_year_bounds
from supporters.core.eras import fiscal_year_label
from supporters.core.time import TOKYO
from supporters.db import DbSession, ServiceError
from supporters.dispatch import services as dispatch_services
from supporters.dispatch.models import (
    HOLDING,
    Assignment,
    AssignmentState,
    DispatchEvent,
    EventState,
)
from supporters.people.models import Attribute, Person
from supporters.programs.models import Municipality, Program
from supporters.registry.models import (
    VALID_STATUSES,
    ActivityReport,
    EventKind,
    Registration,
    RegistrationEvent,
    Status,
)
from supporters.registry.services import (
    fiscal_year_follow_up_counts,
    no_activity_declared_filter,
    status_sql,
    validity_end_sql,
)
from supporters.training.models import (
    Attendance,
    Course,
    CourseKind,
    CourseSession,
    Enrolment,
    EnrolmentState,
)

MIN_YEAR = 1989  # 平成元年度
HISTORY_YEARS = 10
DEFAULT_SUPPRESS_BELOW = 5
SECONDARY_MARK = "x"
# Events that took place or are planned; requests, refusals, drafts and cancellations are not.
COUNTED_EVENT_STATES = (EventState.OPEN, EventState.STAFFED, EventState.HELD, EventState.REPORTED)
_VALID = [s.value for s in VALID_STATUSES]


# --- labels and input -----------------------------------------------------------------


def check_year(year: int, today: date) -> None:
    """Reports are for fiscal years from 平成元年度 to the current one."""
    if year < MIN_YEAR:
        raise ServiceError("year", str(_l("Reports start with fiscal year %(y)d.", y=MIN_YEAR)))
    if year > fiscal_year(today):
        raise ServiceError(
            "year",
            str(
                _l(
                    "Fiscal year %(y)d has not started yet. Reports cover the current and "
                    "past fiscal years.",
                    y=year,
                )
            ),
        )


def parse_as_of(text: str | None, today: date) -> date | None:
    """The optional `as_of` date (YYYY-MM-DD), not in the future."""
    if text is None or not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as error:
        raise ServiceError(
            "as_of",
            str(_l("“%(d)s” is not a date. Write it like 2023-11-30.", d=text.strip()[:20])),
        ) from error
    if day > today:
        raise ServiceError(
            "as_of",
            str(_l("%(d)s is in the future; choose today or an earlier day.", d=day.isoformat())),
        )
    if day.year < MIN_YEAR:
        raise ServiceError("as_of", str(_l("Choose a day from %(y)d on.", y=MIN_YEAR)))
    return day


# --- the report -----------------------------------------------------------------------


@dataclass
class CourseRow:
    kind: str
    courses: int = 0
    capacity: int | None = None
    applicants: int = 0
    attendees: int = 0
    completions: int = 0


@dataclass
class RegistrationFigures:
    new: int = 0
    renewed: int = 0
    follow_up_attended: int = 0
    lapsed: int = 0
    withdrawn: int = 0


@dataclass
class FollowUpFigures:
    due: int = 0
    done: int = 0
    overdue: int = 0
    pending: int = 0


@dataclass
class DispatchRow:
    key: str
    label: str
    events: int = 0
    supporters: int = 0
    hours: float = 0.0


@dataclass
class ActivityRow:
    kind: str
    reports: int = 0
    hours: float = 0.0


@dataclass
class YearRow:
    year: int
    new: int = 0
    valid: int = 0


@dataclass
class FiscalYearReport:
    program_code: str
    program_name_ja: str
    program_name_en: str
    follow_up_mandatory: bool
    activity_reports_required: bool
    year: int
    start: date
    end: date
    today: date
    courses: list[CourseRow]
    attributes: dict[str, int] | None
    registrations: RegistrationFigures
    at_year_end: dict[str, int]
    as_of: date | None
    at_as_of: dict[str, int] | None
    follow_up: FollowUpFigures | None
    dispatch_by_municipality: list[DispatchRow]
    dispatch_by_kind: list[DispatchRow]
    dispatch_by_month: list[DispatchRow]
    activity: list[ActivityRow]
    activity_supporters: int
    history: list[YearRow] = field(default_factory=list)

    @property
    def label(self) -> str:
        return fiscal_year_label(self.year)

    @property
    def running(self) -> bool:
        """The year has not ended: its figures run up to today."""
        return self.today < self.end

    @property
    def year_end_day(self) -> date:
        return min(self.end, self.today)

    @property
    def empty(self) -> bool:
        """Nothing recorded for the year: no course, register change, dispatch or report,
        and nobody registered at its end."""
        r = self.registrations
        return (
            not self.courses
            and not any((r.new, r.renewed, r.follow_up_attended, r.lapsed, r.withdrawn))
            and not any(row.events for row in self.dispatch_by_month)
            and not self.activity
            and not sum(self.at_year_end.values())
        )


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0), TOKYO)


def _sum_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _hours_sql(session: DbSession, starts: Any, ends: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(ends) - func.julianday(starts)) * 24.0
    return extract("epoch", ends - starts) / 3600.0


def _courses(
    session: DbSession, program: Program, start: date, last: date, include_attributes: bool
) -> tuple[list[CourseRow], dict[str, int] | None]:
    first = (
        select(
            CourseSession.course_id.label("course_id"),
            func.min(CourseSession.date).label("first_on"),
        )
        .join(Course, Course.id == CourseSession.course_id)
        .where(Course.program_id == program.id)
        .group_by(CourseSession.course_id)
        .subquery()
    )
    held = select(first.c.course_id).where(first.c.first_on.between(start, last))
    rows: dict[str, CourseRow] = {}
    for kind, courses, capacity, with_capacity in session.execute(
        select(
            Course.kind,
            func.count(Course.id),
            func.sum(Course.capacity),
            func.count(Course.capacity),
        )
        .where(Course.id.in_(held))
        .group_by(Course.kind)
    ):
        rows[kind] = CourseRow(
            kind=kind, courses=courses, capacity=int(capacity or 0) if with_capacity else None
        )
    attended = exists().where(Attendance.enrolment_id == Enrolment.id)
    for kind, state, count, present in session.execute(
        select(Course.kind, Enrolment.state, func.count(Enrolment.id), _sum_if(attended))
        .join(Course, Course.id == Enrolment.course_id)
        .where(Course.id.in_(held))
        .group_by(Course.kind, Enrolment.state)
    ):
        row = rows.setdefault(kind, CourseRow(kind=kind))
        row.applicants += count
        row.attendees += int(present)
        if state == EnrolmentState.COMPLETED:
            row.completions += count
    order = [k.value for k in CourseKind]
    ordered = sorted(rows.values(), key=lambda r: order.index(r.kind) if r.kind in order else 99)
    if not include_attributes:
        return ordered, None
    attributes: dict[str, int] = {}
    for attribute, count in session.execute(
        select(Person.attribute, func.count(Enrolment.id))
        .join(Enrolment, Enrolment.person_id == Person.id)
        .join(Course, Course.id == Enrolment.course_id)
        .where(Course.id.in_(held), Course.kind == CourseKind.INITIAL, attended)
        .group_by(Person.attribute)
    ):
        key = attribute or "unknown"
        attributes[key] = attributes.get(key, 0) + count
    return ordered, attributes


def _ends_of_validity(program: Program) -> Any:
    """Every validity end a registration of the program had: the first, and each renewal's."""
    return union_all(
        select(
            Registration.id.label("rid"), Registration.initial_valid_until.label("ends_on")
        ).where(
            Registration.program_id == program.id, Registration.initial_valid_until.is_not(None)
        ),
        select(
            RegistrationEvent.registration_id.label("rid"),
            RegistrationEvent.valid_until.label("ends_on"),
        )
        .join(Registration, Registration.id == RegistrationEvent.registration_id)
        .where(
            Registration.program_id == program.id,
            RegistrationEvent.kind == EventKind.RENEWED,
            RegistrationEvent.valid_until.is_not(None),
        ),
    ).subquery("validity_ends")


def _lapses_and_follow_up(
    session: DbSession, program: Program, start: date, end: date, today: date
) -> tuple[int, FollowUpFigures]:
    ends = _ends_of_validity(program)
    renewal = aliased(RegistrationEvent)
    registration = aliased(Registration)
    kept = exists().where(
        renewal.registration_id == ends.c.rid,
        renewal.kind == EventKind.RENEWED,
        renewal.occurred_on <= ends.c.ends_on,
        renewal.valid_until > ends.c.ends_on,
    )
    one_day = timedelta(days=1)
    # A registration lapses on the day after its validity end.
    lapse_window = ends.c.ends_on.between(start - one_day, min(end, today) - one_day)
    due = ends.c.ends_on.between(start, end)
    lapsed, due_count, done, overdue = session.execute(
        select(
            _sum_if(and_(lapse_window, ~kept)),
            _sum_if(due),
            _sum_if(and_(due, kept)),
            _sum_if(and_(due, ~kept, ends.c.ends_on < today)),
        )
        .select_from(ends)
        .join(registration, registration.id == ends.c.rid)
        .where(or_(registration.withdrawn_on.is_(None), registration.withdrawn_on > ends.c.ends_on))
    ).one()
    figures = FollowUpFigures(
        due=int(due_count),
        done=int(done),
        overdue=int(overdue),
        pending=int(due_count) - int(done) - int(overdue),
    )
    return int(lapsed), figures


def _dispatch(
    session: DbSession, program: Program, start: date, end: date
) -> tuple[list[DispatchRow], list[DispatchRow], list[DispatchRow]]:
    """By municipality, by kind and activity, by month: one grouped query, rolled up here."""
    months = [add_months(start, k) for k in range(12)]
    month_index = case(
        *[(DispatchEvent.starts_at < _moment(months[k + 1]), k) for k in range(11)], else_=11
    )
    events = (
        select(
            DispatchEvent.id.label("event_id"),
            DispatchEvent.municipality_id.label("municipality_id"),
            Municipality.name.label("municipality"),
            DispatchEvent.kind.label("kind"),
            DispatchEvent.activity.label("activity"),
            month_index.label("month"),
        )
        .join(Municipality, Municipality.id == DispatchEvent.municipality_id)
        .where(
            DispatchEvent.program_id == program.id,
            DispatchEvent.starts_at >= _moment(start),
            DispatchEvent.starts_at < _moment(end + timedelta(days=1)),
            DispatchEvent.state.in_(COUNTED_EVENT_STATES),
        )
        .subquery("events")
    )
    hours = _hours_sql(session, Assignment.starts_at, Assignment.ends_at)
    query = (
        select(
            events.c.municipality_id,
            events.c.municipality,
            events.c.kind,
            events.c.activity,
            events.c.month,
            func.count(distinct(events.c.event_id)),
            func.count(Assignment.id),
            func.coalesce(func.sum(hours), 0),
        )
        .select_from(events)
        .outerjoin(
            Assignment,
            and_(
                Assignment.event_id == events.c.event_id,
                Assignment.state == AssignmentState.ATTENDED,
            ),
        )
        .group_by(
            events.c.municipality_id,
            events.c.municipality,
            events.c.kind,
            events.c.activity,
            events.c.month,
        )
    )
    by_place: dict[str, DispatchRow] = {}
    by_kind: dict[str, DispatchRow] = {}
    by_month = [DispatchRow(key=m.strftime("%Y-%m"), label=m.strftime("%Y-%m")) for m in months]
    for _mid, place, kind, activity, month, count, supporters, total in session.execute(query):
        key = f"{kind}/{activity}"
        for row in (
            by_place.setdefault(place, DispatchRow(key=place, label=place)),
            by_kind.setdefault(key, DispatchRow(key=key, label=key)),
            by_month[int(month)],
        ):
            row.events += count
            row.supporters += supporters
            row.hours += float(total or 0)
    for rows in (by_place.values(), by_kind.values(), by_month):
        for row in rows:
            row.hours = round(row.hours, 1)
    ordered_places = sorted(by_place.values(), key=lambda r: (-r.events, r.label))
    return ordered_places, sorted(by_kind.values(), key=lambda r: r.key), by_month


def _activity(
    session: DbSession, program: Program, start: date, end: date
) -> tuple[list[ActivityRow], int]:
    in_year = and_(
        Registration.program_id == program.id, ActivityReport.activity_on.between(start, end)
    )
    rows = [
        ActivityRow(kind=kind, reports=count, hours=round(float(Decimal(hours or 0)), 1))
        for kind, count, hours in session.execute(
            select(
                ActivityReport.kind, func.count(ActivityReport.id), func.sum(ActivityReport.hours)
            )
            .join(Registration, Registration.id == ActivityReport.registration_id)
            .where(in_year)
            .group_by(ActivityReport.kind)
            .order_by(ActivityReport.kind)
        )
    ]
    supporters = session.scalar(
        select(func.count(distinct(ActivityReport.registration_id)))
        .join(Registration, Registration.id == ActivityReport.registration_id)
        .where(in_year)
    )
    return rows, int(supporters or 0)


def status_counts_on(
    session: DbSession, program: Program, days: list[date]
) -> list[dict[str, int]]:
    """Counts per status on each of `days`, in one query. The rules of
    :func:`supporters.registry.services.status_sql`, written as joins with grouped
    registration events instead of correlated subqueries per registration and day, so that
    ten year ends cost one pass over the register (the tests check both agree):
    - the validity end on a day is the latest renewal's end up to that day, else the first;
    - the suspension state is that of the last suspension or reinstatement up to the day
      (in order of day, then entry), found with LEAD over each registration's toggles."""
    if not days:
        return []
    in_program = select(Registration.id).where(Registration.program_id == program.id)
    renewals = (
        select(
            RegistrationEvent.registration_id.label("rid"),
            *[
                func.max(
                    case((RegistrationEvent.occurred_on <= day, RegistrationEvent.valid_until))
                ).label(f"end_{i}")
                for i, day in enumerate(days)
            ],
        )
        .where(
            RegistrationEvent.kind == EventKind.RENEWED,
            RegistrationEvent.registration_id.in_(in_program),
        )
        .group_by(RegistrationEvent.registration_id)
        .subquery("renewals")
    )
    toggles = (
        select(
            RegistrationEvent.registration_id.label("rid"),
            RegistrationEvent.kind.label("kind"),
            RegistrationEvent.occurred_on.label("occurred_on"),
            func.lead(RegistrationEvent.occurred_on)
            .over(
                partition_by=RegistrationEvent.registration_id,
                order_by=(RegistrationEvent.occurred_on, RegistrationEvent.id),
            )
            .label("next_on"),
        )
        .where(
            RegistrationEvent.kind.in_((EventKind.SUSPENDED, EventKind.REINSTATED)),
            RegistrationEvent.registration_id.in_(in_program),
        )
        .subquery("toggles")
    )
    suspended = (
        select(
            toggles.c.rid,
            *[
                func.max(
                    case(
                        (
                            and_(
                                toggles.c.kind == EventKind.SUSPENDED.value,
                                toggles.c.occurred_on <= day,
                                or_(toggles.c.next_on.is_(None), toggles.c.next_on > day),
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ).label(f"suspended_{i}")
                for i, day in enumerate(days)
            ],
        )
        .group_by(toggles.c.rid)
        .subquery("suspended")
    )
    columns: list[Any] = []
    for i, day in enumerate(days):
        end = func.coalesce(renewals.c[f"end_{i}"], Registration.initial_valid_until)
        status = case(
            (
                and_(Registration.withdrawn_on.is_not(None), Registration.withdrawn_on <= day),
                Status.WITHDRAWN.value,
            ),
            (suspended.c[f"suspended_{i}"] == 1, Status.SUSPENDED.value),
            (end.is_(None), Status.ACTIVE.value),
            (end < day, Status.LAPSED.value),
            (
                end <= day + timedelta(days=program.follow_up_window_days),
                Status.FOLLOW_UP_DUE.value,
            ),
            else_=Status.ACTIVE.value,
        )
        registered = Registration.registered_on <= day
        columns += [_sum_if(and_(registered, status == s.value)) for s in Status]
    values = session.execute(
        select(*columns)
        .select_from(Registration)
        .outerjoin(renewals, renewals.c.rid == Registration.id)
        .outerjoin(suspended, suspended.c.rid == Registration.id)
        .where(Registration.program_id == program.id)
    ).one()
    width = len(Status)
    return [
        {s.value: int(values[i * width + k]) for k, s in enumerate(Status)}
        for i in range(len(days))
    ]


def _valid(counts: dict[str, int]) -> int:
    return sum(counts.get(s, 0) for s in _VALID)


def _registrations(
    session: DbSession, program: Program, year: int, today: date, as_of: date | None
) -> tuple[RegistrationFigures, list[YearRow], dict[str, int], dict[str, int] | None]:
    """New and withdrawn in the year; for the years up to it, new registrations and those
    valid at each year end; the statuses at the year end and on `as_of`. Two queries."""
    start, end = fiscal_year_bounds(year)
    years = list(range(max(MIN_YEAR, year - HISTORY_YEARS + 1), year + 1))
    columns: list[Any] = [_sum_if(Registration.withdrawn_on.between(start, end))]
    for y in years:
        y_start, y_end = fiscal_year_bounds(y)
        columns.append(_sum_if(Registration.registered_on.between(y_start, y_end)))
    values = [
        int(v)
        for v in session.execute(
            select(*columns).where(Registration.program_id == program.id)
        ).one()
    ]
    withdrawn, news = values[0], values[1:]
    days = [min(fiscal_year_bounds(y)[1], today) for y in years]
    counts = status_counts_on(session, program, days + ([as_of] if as_of else []))
    at_year_end = counts[len(years) - 1]
    at_as_of = counts[-1] if as_of else None
    history = [
        YearRow(year=y, new=n, valid=_valid(c))
        for y, n, c in zip(years, news, counts[: len(years)], strict=True)
    ]
    while history and not (history[0].new or history[0].valid) and history[0].year != year:
        history.pop(0)
    return RegistrationFigures(new=news[-1], withdrawn=withdrawn), history, at_year_end, at_as_of


def build_fiscal_year_report(
    session: DbSession,
    program: Program,
    year: int,
    *,
    today: date,
    as_of: date | None = None,
    include_attributes: bool = False,
) -> FiscalYearReport:
    """The figures of one program's fiscal year. `include_attributes` only for the program's
    coordinators (the caller decides)."""
    check_year(year, today)
    start, end = fiscal_year_bounds(year)
    last = min(end, today)
    courses, attributes = _courses(session, program, start, last, include_attributes)
    registrations, history, at_year_end, at_as_of = _registrations(
        session, program, year, today, as_of
    )
    follow_counts = fiscal_year_follow_up_counts(session, program, year)
    registrations.renewed = follow_counts.get(EventKind.RENEWED, 0)
    registrations.follow_up_attended = follow_counts.get(EventKind.FOLLOW_UP, 0)
    lapsed, follow_up = _lapses_and_follow_up(session, program, start, end, today)
    registrations.lapsed = lapsed
    by_place, by_kind, by_month = _dispatch(session, program, start, end)
    activity, filers = _activity(session, program, start, end)
    return FiscalYearReport(
        program_code=program.code,
        program_name_ja=program.name_ja,
        program_name_en=program.name_en,
        follow_up_mandatory=program.follow_up_mandatory,
        activity_reports_required=program.activity_reports_required,
        year=year,
        start=start,
        end=end,
        today=today,
        courses=courses,
        attributes=attributes,
        registrations=registrations,
        at_year_end=at_year_end,
        as_of=as_of,
        at_as_of=at_as_of,
        follow_up=follow_up if program.follow_up_mandatory else None,
        dispatch_by_municipality=by_place,
        dispatch_by_kind=by_kind,
        dispatch_by_month=by_month,
        activity=activity,
        activity_supporters=filers,
        history=history,
    )


# --- figures for display and export, with small-number suppression --------------------

Cell = int | str | None


@dataclass(frozen=True)
class Suppression:
    """For publication, counts of people under `threshold` are shown as "<threshold"."""

    publish: bool = False
    threshold: int = DEFAULT_SUPPRESS_BELOW

    @property
    def mark(self) -> str:
        return f"<{self.threshold}"

    def hides(self, value: int) -> bool:
        return self.publish and value < self.threshold

    def count(self, value: int) -> Cell:
        return self.mark if self.hides(value) else value


def _percent(part: int, total: int) -> float:
    return round(100 * part / total, 1) if total else 0.0


def attribute_rows(attributes: dict[str, int], rule: Suppression) -> list[dict[str, Any]]:
    """Every attribute in a fixed order (and "unknown" when there are any), with counts and
    percentages. Published: cells under the threshold read "<N"; when only one cell is hidden,
    the next smallest is hidden too ("x"), so that no hidden cell follows from the total."""
    keys = [a.value for a in Attribute] + (["unknown"] if attributes.get("unknown") else [])
    total = sum(attributes.values())
    counts = {key: attributes.get(key, 0) for key in keys}
    hidden = {key for key, value in counts.items() if rule.hides(value)}
    secondary: set[str] = set()
    if len(hidden) == 1:
        shown = sorted(
            (value, keys.index(key), key) for key, value in counts.items() if key not in hidden
        )
        if shown:
            secondary.add(shown[0][2])
    rows = []
    for key in keys:
        if key in hidden:
            count: Cell = rule.mark
            percent: float | None = None
        elif key in secondary:
            count, percent = SECONDARY_MARK, None
        else:
            count, percent = counts[key], _percent(counts[key], total)
        rows.append({"attribute": key, "count": count, "percent": percent})
    return rows


def report_figures(report: FiscalYearReport, rule: Suppression) -> dict[str, Any]:
    """The report as plain data (JSON-ready): what the page, the PDF, CSV, JSON and the
    command show. Counts of people pass through `rule`; events, courses, capacity and hours
    are not counts of people and are shown as they are."""
    c = rule.count

    def course(row: CourseRow) -> dict[str, Any]:
        return {
            "kind": row.kind,
            "courses": row.courses,
            "capacity": row.capacity,
            "applicants": c(row.applicants),
            "attendees": c(row.attendees),
            "completions": c(row.completions),
        }

    def statuses(counts: dict[str, int], day: date) -> dict[str, Any]:
        return {
            "on": day.isoformat(),
            "valid": c(sum(counts.get(s, 0) for s in _VALID)),
            "statuses": {s.value: c(counts.get(s.value, 0)) for s in Status},
        }

    def dispatch(row: DispatchRow) -> dict[str, Any]:
        return {
            "key": row.key,
            "events": row.events,
            "supporters": c(row.supporters),
            "hours": row.hours,
        }

    total_courses = CourseRow(
        kind="total",
        courses=sum(r.courses for r in report.courses),
        capacity=sum(r.capacity for r in report.courses if r.capacity is not None)
        if any(r.capacity is not None for r in report.courses)
        else None,
        applicants=sum(r.applicants for r in report.courses),
        attendees=sum(r.attendees for r in report.courses),
        completions=sum(r.completions for r in report.courses),
    )
    reg = report.registrations
    attributes = None
    if report.attributes is not None:
        total = sum(report.attributes.values())
        attributes = {
            "total": c(total),
            "attendees": total > 0,
            "rows": attribute_rows(report.attributes, rule),
        }
    follow_up = None
    if report.follow_up is not None:
        f = report.follow_up
        follow_up = {
            "due": c(f.due),
            "done": c(f.done),
            "overdue": c(f.overdue),
            "pending": c(f.pending),
        }
    months = report.dispatch_by_month
    return {
        "program": {
            "code": report.program_code,
            "name_ja": report.program_name_ja,
            "name_en": report.program_name_en,
        },
        "fiscal_year": report.year,
        "label": report.label,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "running": report.running,
        "figures_until": report.year_end_day.isoformat(),
        "empty": report.empty,
        "publish": rule.publish,
        "suppress_below": rule.threshold if rule.publish else None,
        "courses": [course(row) for row in report.courses],
        "courses_total": course(total_courses),
        "attributes": attributes,
        "registrations": {
            "new": c(reg.new),
            "renewed": c(reg.renewed),
            "follow_up_attended": c(reg.follow_up_attended),
            "lapsed": c(reg.lapsed),
            "withdrawn": c(reg.withdrawn),
        },
        "register_at_year_end": statuses(report.at_year_end, report.year_end_day),
        "register_as_of": statuses(report.at_as_of, report.as_of)
        if report.at_as_of is not None and report.as_of is not None
        else None,
        "follow_up": follow_up,
        "dispatch": {
            "events": sum(r.events for r in months),
            "supporters": c(sum(r.supporters for r in months)),
            "hours": round(sum(r.hours for r in months), 1),
            "by_month": [dispatch(r) for r in months],
            "by_municipality": [dispatch(r) for r in report.dispatch_by_municipality],
            "by_kind": [dispatch(r) for r in report.dispatch_by_kind],
        },
        "activity_reports": {
            "reports": sum(r.reports for r in report.activity),
            "supporters": c(report.activity_supporters),
            "hours": round(sum(r.hours for r in report.activity), 1),
            "by_kind": [
                {"kind": r.kind, "reports": r.reports, "hours": r.hours} for r in report.activity
            ],
        },
        "history": [
            {
                "fiscal_year": row.year,
                "label": fiscal_year_label(row.year),
                "new": c(row.new),
                "valid_at_year_end": c(row.valid),
            }
            for row in report.history
        ],
    }


def figure_rows(figures: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """The figures flattened to (section, item, value, percent) rows for CSV and text."""
    rows: list[tuple[str, str, Any, Any]] = [
        ("report", "program", figures["program"]["code"], ""),
        ("report", "program_name", figures["program"]["name_ja"], ""),
        ("report", "fiscal_year", figures["fiscal_year"], ""),
        ("report", "label", figures["label"], ""),
        ("report", "start", figures["start"], ""),
        ("report", "end", figures["end"], ""),
        ("report", "figures_until", figures["figures_until"], ""),
        ("report", "empty", str(figures["empty"]).lower(), ""),
        ("report", "publish", str(figures["publish"]).lower(), ""),
    ]
    if figures["suppress_below"] is not None:
        rows.append(("report", "suppress_below", figures["suppress_below"], ""))
    for row in [*figures["courses"], figures["courses_total"]]:
        for item in ("courses", "capacity", "applicants", "attendees", "completions"):
            rows.append((f"courses.{row['kind']}", item, row[item], ""))
    if figures["attributes"] is not None:
        rows.append(("attributes", "total", figures["attributes"]["total"], ""))
        for row in figures["attributes"]["rows"]:
            rows.append(("attributes", row["attribute"], row["count"], row["percent"]))
    for item, value in figures["registrations"].items():
        rows.append(("registrations", item, value, ""))
    for section in ("register_at_year_end", "register_as_of"):
        block = figures[section]
        if block is None:
            continue
        rows.append((section, "on", block["on"], ""))
        rows.append((section, "valid", block["valid"], ""))
        for status, value in block["statuses"].items():
            rows.append((section, status, value, ""))
    if figures["follow_up"] is not None:
        for item, value in figures["follow_up"].items():
            rows.append(("follow_up", item, value, ""))
    dispatch = figures["dispatch"]
    for item in ("events", "supporters", "hours"):
        rows.append(("dispatch", item, dispatch[item], ""))
    for group in ("by_month", "by_municipality", "by_kind"):
        for row in dispatch[group]:
            for item in ("events", "supporters", "hours"):
                rows.append((f"dispatch.{group}.{row['key']}", item, row[item], ""))
    activity = figures["activity_reports"]
    for item in ("reports", "supporters", "hours"):
        rows.append(("activity_reports", item, activity[item], ""))
    for row in activity["by_kind"]:
        rows.append((f"activity_reports.{row['kind']}", "reports", row["reports"], ""))
        rows.append((f"activity_reports.{row['kind']}", "hours", row["hours"], ""))
    for row in figures["history"]:
        rows.append((f"history.{row['fiscal_year']}", "new", row["new"], ""))
        rows.append(
            (f"history.{row['fiscal_year']}", "valid_at_year_end", row["valid_at_year_end"], "")
        )
    return [(s, i, "" if v is None else v, "" if p is None else p) for s, i, v, p in rows]


# --- start pages ----------------------------------------------------------------------


def missing_report_condition(year: int) -> Any:
    """Registrations that ran during fiscal year `year` and have no activity report in it
    (the start page's count and the list it links to)."""
    start, end = fiscal_year_bounds(year)
    filed = exists().where(
        ActivityReport.registration_id == Registration.id,
        ActivityReport.activity_on.between(start, end),
    )
    return and_(
        Registration.registered_on <= end,
        or_(Registration.withdrawn_on.is_(None), Registration.withdrawn_on > end),
        ~filed,
        *no_activity_declared_filter(year),  # "no activity this year" counts as the report
    )


def supporters_without_report(
    session: DbSession, program: Program, year: int
) -> list[tuple[Registration, Person]]:
    """The supporters counted by `missing_report_condition`, by reading."""
    return [
        (registration, person)
        for registration, person in session.execute(
            select(Registration, Person)
            .join(Person, Person.id == Registration.person_id)
            .where(Registration.program_id == program.id, missing_report_condition(year))
            .order_by(Person.name_reading, Person.id)
        )
    ]


def waiting_list_condition(today: date) -> Any:
    """Enrolments on the waiting list of a course with a session still to come (joined to
    Course): the start page's count and the list it links to."""
    upcoming = select(CourseSession.course_id).where(CourseSession.date >= today)
    return and_(Enrolment.state == EnrolmentState.WAITLISTED, Course.id.in_(upcoming))


def waiting_enrolments(
    session: DbSession, program: Program, today: date
) -> list[tuple[Enrolment, Course, Person]]:
    """The trainees counted by `waiting_list_condition`, course by course, in order."""
    return [
        (enrolment, course, person)
        for enrolment, course, person in session.execute(
            select(Enrolment, Course, Person)
            .join(Course, Course.id == Enrolment.course_id)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Course.program_id == program.id, waiting_list_condition(today))
            .order_by(Course.id, Enrolment.id)
        )
    ]


@dataclass
class CoordinatorActions:
    """What needs action in one program, each a count."""

    program: Program
    understaffed: int = 0
    follow_up_due: int = 0
    lapsing: int = 0
    unconfirmed: int = 0
    missing_reports: int = 0
    waiting_list: int = 0
    pending_requests: int = 0


UNDERSTAFFED_DAYS = dispatch_services.UNDERSTAFFED_DAYS
LAPSING_DAYS = 60
UNCONFIRMED_HOURS = dispatch_services.UNCONFIRMED_HOURS


def coordinator_actions(
    session: DbSession, programs: list[Program], *, now: datetime, today: date
) -> list[CoordinatorActions]:
    """Six grouped queries, whatever the number of programs, events or supporters."""
    if not programs:
        return []
    ids = [p.id for p in programs]
    result = {p.id: CoordinatorActions(program=p) for p in programs}

    for program_id, understaffed, pending in session.execute(
        select(
            DispatchEvent.program_id,
            _sum_if(dispatch_services.understaffed_condition(now)),
            _sum_if(dispatch_services.pending_request_condition(now)),
        )
        .where(
            DispatchEvent.program_id.in_(ids),
            DispatchEvent.starts_at >= now,
            DispatchEvent.state.in_((EventState.OPEN, EventState.REQUESTED)),
        )
        .group_by(DispatchEvent.program_id)
    ):
        result[program_id].understaffed = int(understaffed)
        result[program_id].pending_requests = int(pending)

    for program_id, count in session.execute(
        select(DispatchEvent.program_id, func.count(Assignment.id))
        .join(DispatchEvent, DispatchEvent.id == Assignment.event_id)
        .where(DispatchEvent.program_id.in_(ids), dispatch_services.unconfirmed_condition(now))
        .group_by(DispatchEvent.program_id)
    ):
        result[program_id].unconfirmed = int(count)

    mandatory = [p for p in programs if p.follow_up_mandatory]
    if mandatory:
        in_window = or_(
            *[
                and_(
                    Registration.program_id == p.id,
                    Registration.valid_until <= today + timedelta(days=p.follow_up_window_days),
                )
                for p in mandatory
            ]
        )
        for program_id, due, lapsing in session.execute(
            select(
                Registration.program_id,
                _sum_if(in_window),
                _sum_if(Registration.valid_until <= today + timedelta(days=LAPSING_DAYS)),
            )
            .where(
                Registration.program_id.in_([p.id for p in mandatory]),
                Registration.withdrawn_on.is_(None),
                Registration.valid_until >= today,
            )
            .group_by(Registration.program_id)
        ):
            result[program_id].follow_up_due = int(due)
            result[program_id].lapsing = int(lapsing)

    required = [p.id for p in programs if p.activity_reports_required]
    if required:
        for program_id, count in session.execute(
            select(Registration.program_id, func.count(Registration.id))
            .where(
                Registration.program_id.in_(required),
                missing_report_condition(fiscal_year(today) - 1),
            )
            .group_by(Registration.program_id)
        ):
            result[program_id].missing_reports = int(count)

    for program_id, count in session.execute(
        select(Course.program_id, func.count(Enrolment.id))
        .join(Course, Course.id == Enrolment.course_id)
        .where(Course.program_id.in_(ids), waiting_list_condition(today))
        .group_by(Course.program_id)
    ):
        result[program_id].waiting_list = int(count)
    return [result[p.id] for p in programs]


@dataclass
class StaffOverview:
    events: list[tuple[DispatchEvent, str, int]]  # event, municipality name, places taken
    upcoming_by_state: Counter[str]
    supporters_by_place: dict[int, int]


def staff_overview(
    session: DbSession,
    places: dict[int, Program],
    *,
    now: datetime,
    today: date,
    limit: int = 10,
) -> StaffOverview:
    """A municipal staff member's municipalities (id → program): upcoming events and
    requests, and the supporters valid today whose main municipality it is. Three queries."""
    if not places:
        return StaffOverview([], Counter(), {})
    ids = list(places)
    shown = (EventState.REQUESTED, EventState.OPEN, EventState.STAFFED)
    # Places filled: confirmed (or attended), not merely asked, as the dispatch pages count.
    taken = (
        select(Assignment.event_id, func.count().label("taken"))
        .where(Assignment.state.in_((AssignmentState.CONFIRMED, AssignmentState.ATTENDED)))
        .group_by(Assignment.event_id)
        .subquery()
    )
    rows = session.execute(
        select(DispatchEvent, Municipality.name, func.coalesce(taken.c.taken, 0))
        .join(Municipality, Municipality.id == DispatchEvent.municipality_id)
        .outerjoin(taken, taken.c.event_id == DispatchEvent.id)
        .where(
            DispatchEvent.municipality_id.in_(ids),
            DispatchEvent.starts_at >= now,
            DispatchEvent.state.in_(shown),
        )
        .order_by(DispatchEvent.starts_at, DispatchEvent.id)
        .limit(limit)
    ).all()
    by_state: Counter[str] = Counter(
        {
            state: count
            for state, count in session.execute(
                select(DispatchEvent.state, func.count())
                .where(DispatchEvent.municipality_id.in_(ids), DispatchEvent.starts_at >= now)
                .group_by(DispatchEvent.state)
            )
        }
    )
    valid_here = or_(
        false(),
        *[
            and_(
                Registration.program_id == program.id,
                Registration.main_municipality_id == place_id,
                status_sql(program, today).in_(_VALID),
            )
            for place_id, program in places.items()
        ],
    )
    supporters = {
        place_id: int(count)
        for place_id, count in session.execute(
            select(Registration.main_municipality_id, func.count(Registration.id))
            .where(
                Registration.main_municipality_id.in_(ids),
                Registration.registered_on <= today,
                valid_here,
            )
            .group_by(Registration.main_municipality_id)
        )
    }
    return StaffOverview(
        events=[(event, name, int(count)) for event, name, count in rows],
        upcoming_by_state=by_state,
        supporters_by_place={place_id: supporters.get(place_id, 0) for place_id in ids},
    )


@dataclass
class SupporterOverview:
    next_assignment: Assignment | None
    next_event: DispatchEvent | None
    next_place: str | None
    awaiting_answer: int
    registrations: list[tuple[Registration, Program, str | None, date | None]]


def supporter_overview(
    session: DbSession, person_id: int, programs: list[Program], *, now: datetime, today: date
) -> SupporterOverview:
    """The next dispatch, the requests waiting for an answer and the status of each
    registration (in the programs given) on `today`: three queries. Only registrations in
    force count: a withdrawn or erased one shows nothing here."""
    in_force = select(Registration.id).where(
        Registration.person_id == person_id,
        Registration.program_id.in_([p.id for p in programs]),
        Registration.withdrawn_on.is_(None),
        Registration.erased_at.is_(None),
    )
    first = session.execute(
        select(Assignment, DispatchEvent, Municipality.name)
        .join(DispatchEvent, DispatchEvent.id == Assignment.event_id)
        .join(Municipality, Municipality.id == DispatchEvent.municipality_id)
        .where(
            Assignment.person_id == person_id,
            Assignment.registration_id.in_(in_force),
            Assignment.state.in_(HOLDING),
            Assignment.ends_at >= now,
        )
        .order_by(Assignment.starts_at, Assignment.id)
        .limit(1)
    ).first()
    awaiting = session.scalar(
        select(func.count(Assignment.id)).where(
            Assignment.person_id == person_id,
            Assignment.registration_id.in_(in_force),
            Assignment.state == AssignmentState.ASSIGNED,
            Assignment.starts_at > now,
        )
    )
    registrations: list[tuple[Registration, Program, str | None, date | None]] = []
    by_id = {p.id: p for p in programs}
    if by_id:
        status = case(
            *[(Registration.program_id == p.id, status_sql(p, today)) for p in programs],
            else_=None,
        )
        for registration, row_status, valid_until in session.execute(
            select(Registration, status, validity_end_sql(today))
            .where(
                Registration.person_id == person_id,
                Registration.program_id.in_(list(by_id)),
                Registration.registered_on <= today,
                Registration.withdrawn_on.is_(None),
                Registration.erased_at.is_(None),
            )
            .order_by(Registration.registered_on.desc(), Registration.id.desc())
        ):
            registrations.append(
                (registration, by_id[registration.program_id], row_status, valid_until)
            )
    return SupporterOverview(
        next_assignment=first[0] if first else None,
        next_event=first[1] if first else None,
        next_place=first[2] if first else None,
        awaiting_answer=int(awaiting or 0),
        registrations=registrations,
    )


# --- exports --------------------------------------------------------------------------


def figures_csv(figures: dict[str, Any], terms: dict[str, str] | None = None) -> str:
    """UTF-8 CSV with a byte order mark (for Excel), for people: Japanese headers, sections,
    items and values in the words of the web report and its PDF (reports.terms); cells that
    a spreadsheet would run as a formula are neutralised. JSON keeps the English keys."""
    if terms is None:
        from supporters.reports.terms import terms as report_terms

        terms = report_terms("ja")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([terms[k] for k in ("csv.section", "csv.item", "csv.value", "csv.percent")])
    for row in labelled_figure_rows(figures, terms):
        writer.writerow([safe_cell(v) if isinstance(v, str) else v for v in row])
    return "\ufeff" + buffer.getvalue()


def labelled_figure_rows(
    figures: dict[str, Any], terms: dict[str, str]
) -> list[tuple[str, str, Any, Any]]:
    """The figures as (section, item, value, percent) rows in the report's own words."""
    T = terms

    def label(group: str, code: str) -> str:
        return T.get(f"{group}.{code}", code)

    def yes_no(value: Any) -> str:
        return T["yes"] if value else T["no"]

    report = T["report"]
    rows: list[tuple[str, str, Any, Any]] = [
        (report, T["report.program"], figures["program"]["name_ja"], ""),
        (report, T["report.fiscal_year"], figures["label"], ""),
        (report, T["report.start"], figures["start"], ""),
        (report, T["report.end"], figures["end"], ""),
        (report, T["report.figures_until"], figures["figures_until"], ""),
        (report, T["report.publish"], yes_no(figures["publish"]), ""),
    ]
    if figures["suppress_below"] is not None:
        rows.append((report, T["report.suppress_below"], figures["suppress_below"], ""))
    for row in [*figures["courses"], figures["courses_total"]]:
        kind = T["total"] if row["kind"] == "total" else label("course_kind", row["kind"])
        for item in ("courses", "capacity", "applicants", "attendees", "completions"):
            rows.append((f"{T['courses']}・{kind}", T[f"courses.{item}"], row[item], ""))
    if figures["attributes"] is not None:
        section = T["attributes"]
        for row in figures["attributes"]["rows"]:
            rows.append(
                (section, label("attribute", row["attribute"]), row["count"], row["percent"])
            )
        rows.append((section, T["total"], figures["attributes"]["total"], ""))
    for item, value in figures["registrations"].items():
        rows.append((T["register"], T.get(f"registrations.{item}", item), value, ""))
    for section_key, caption in (
        (
            "register_at_year_end",
            T["register.today" if figures["running"] else "register.year_end"],
        ),
        ("register_as_of", T["register.as_of"]),
    ):
        block = figures[section_key]
        if block is None:
            continue
        section = f"{T['register']}・{caption} {block['on']}"
        rows.append((section, T["register.valid"], block["valid"], ""))
        for status, value in block["statuses"].items():
            rows.append((section, label("status", status), value, ""))
    if figures["follow_up"] is not None:
        for item, value in figures["follow_up"].items():
            rows.append((T["follow_up"], T.get(f"follow_up.{item}", item), value, ""))
    dispatch = figures["dispatch"]
    for item in ("events", "supporters", "hours"):
        rows.append((T["dispatch"], T[f"dispatch.{item}"], dispatch[item], ""))
    for group in ("by_month", "by_municipality", "by_kind"):
        for row in dispatch[group]:
            key = row["key"]
            if group == "by_kind":
                kind, _, activity = key.partition("/")
                key = f"{label('event_kind', kind)}・{label('activity', activity)}"
            section = f"{T['dispatch']}・{T[f'dispatch.{group}']}: {key}"
            for item in ("events", "supporters", "hours"):
                rows.append((section, T[f"dispatch.{item}"], row[item], ""))
    activity = figures["activity_reports"]
    for item in ("reports", "supporters", "hours"):
        rows.append((T["activity_reports"], T[f"activity_reports.{item}"], activity[item], ""))
    for row in activity["by_kind"]:
        section = f"{T['activity_reports.by_kind']}: {label('activity', row['kind'])}"
        rows.append((section, T["activity_reports.reports"], row["reports"], ""))
        rows.append((section, T["activity_reports.hours"], row["hours"], ""))
    for row in figures["history"]:
        section = f"{T['history']}: {row['label']}"
        rows.append((section, T["history.new"], row["new"], ""))
        rows.append((section, T["history.valid_at_year_end"], row["valid_at_year_end"], ""))
    return [(s, i, "" if v is None else v, "" if p is None else p) for s, i, v, p in rows]


def _display_width(text: str) -> int:
    """Columns a terminal gives the text: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    space = " " * max(width - _display_width(text), 0)
    return text + space if left else space + text


def _text_table(title: str, headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[("—" if v is None or v == "" else str(v)) for v in row] for row in rows]
    widths = [
        max([_display_width(h)] + [_display_width(row[i]) for row in cells])
        for i, h in enumerate(headers)
    ]

    def line(values: list[str]) -> str:
        return "  " + "  ".join(
            _pad(v, w, left=i == 0) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return ["", title, line(headers), *(line(row) for row in cells)]


def figures_text(figures: dict[str, Any]) -> str:
    """A plain-text listing for the terminal: the same figures as the page, as tables."""
    lines = [
        f"{figures['label']} (FY{figures['fiscal_year']}: {figures['start']} – {figures['end']}) "
        f"{figures['program']['name_ja']} [{figures['program']['code']}]"
    ]
    if figures["empty"]:
        lines.append("No data recorded for this fiscal year.")
    if figures["running"]:
        lines.append(f"The year is still running: figures up to {figures['figures_until']}.")
    if figures["publish"]:
        n = figures["suppress_below"]
        lines.append(f"For publication: counts of people under {n} read '<{n}'.")
    columns = ["courses", "capacity", "applicants", "attendees", "completions"]
    lines += _text_table(
        "Training",
        ["kind", *columns],
        [
            [row["kind"], *(row[c] for c in columns)]
            for row in [*figures["courses"], figures["courses_total"]]
        ],
    )
    if figures["attributes"] is not None:
        lines += _text_table(
            "Attendees of initial training by attribute",
            ["attribute", "people", "percent"],
            [[r["attribute"], r["count"], r["percent"]] for r in figures["attributes"]["rows"]]
            + [["total", figures["attributes"]["total"], ""]],
        )
    lines += _text_table(
        "Register changes in the year",
        ["change", "people"],
        [[key, value] for key, value in figures["registrations"].items()],
    )
    for key, title in (
        ("register_at_year_end", "Register at the year end"),
        ("register_as_of", "Register on the chosen day"),
    ):
        block = figures[key]
        if block is not None:
            lines += _text_table(
                f"{title} ({block['on']})",
                ["status", "people"],
                [
                    ["registered and valid", block["valid"]],
                    *([s, v] for s, v in block["statuses"].items()),
                ],
            )
    if figures["follow_up"] is not None:
        lines += _text_table(
            "Follow-up training (mandatory)",
            ["", "people"],
            [[key, value] for key, value in figures["follow_up"].items()],
        )
    dispatch = figures["dispatch"]
    metrics = ["events", "supporters", "hours"]
    lines += _text_table(
        "Dispatch",
        ["", *metrics],
        [["total", *(dispatch[m] for m in metrics)]]
        + [[row["key"], *(row[m] for m in metrics)] for row in dispatch["by_month"]],
    )
    for group, title in (("by_municipality", "municipality"), ("by_kind", "kind/activity")):
        if dispatch[group]:
            lines += _text_table(
                f"Dispatch by {title}",
                [title, *metrics],
                [[row["key"], *(row[m] for m in metrics)] for row in dispatch[group]],
            )
    activity = figures["activity_reports"]
    lines += _text_table(
        "Activity reports",
        ["kind", "reports", "hours"],
        [["total", activity["reports"], activity["hours"]]]
        + [[row["kind"], row["reports"], row["hours"]] for row in activity["by_kind"]]
        + [["supporters who reported", activity["supporters"], ""]],
    )
    lines += _text_table(
        "Registrations over the years",
        ["fiscal year", "new", "valid at year end"],
        [
            [f"{r['label']} ({r['fiscal_year']})", r["new"], r["valid_at_year_end"]]
            for r in figures["history"]
        ],
    )
    return "\n".join(lines)
