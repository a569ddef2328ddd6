"""Fiscal-year figures per program.

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
- participants (programs that let completers take part without registering, e.g. Kagawa):
  the participations in the year's counted events (not cancelled) and the distinct people
  behind them, by kind and activity. A participant is not a supporter: never added into the
  dispatch or register counts.

By organisation (optional `organisation_id`: a program's coordinator may choose one, an
organisation's coordinator only ever gets their own). Each section is the organisation's in
the sense its records belong to it:
- courses, their applicants/attendees/completions and the attribute breakdown: the courses
  it organises (`Course.organiser_id`);
- register changes, statuses, follow-up and lapses: the registrations it issued
  (`Registration.issuing_organisation_id`);
- dispatch: events belong to municipalities, not organisations, so an event counts when one
  of the organisation's supporters (by their registration's issuing organisation) was
  assigned to it and did not decline or drop out; supporters and supporter-hours are those
  of its own supporters only;
- activity reports: those filed under its supporters' registrations;
- participants: those whose qualifying initial course (`Participation.enrolment_id`) it
  organised.
"""

from __future__ import annotations

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
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from supporters.core.dates import add_months, fiscal_year, fiscal_year_bounds
from supporters.core.eras import fiscal_year_label
from supporters.core.time import TOKYO
from supporters.db import DbSession, ServiceError
from supporters.dispatch.models import (
    Assignment,
    AssignmentState,
    DispatchEvent,
    EventState,
    Participation,
)
from supporters.programs.models import Municipality, Organisation, Program
from supporters.registry.models import (
    VALID_STATUSES,
    ActivityReport,
    EventKind,
    Registration,
    RegistrationEvent,
)
from supporters.registry.services import fiscal_year_follow_up_counts
from supporters.reports import year_figures
from supporters.training.models import (
    Attendance,
    Course,
    CourseKind,
    CourseSession,
    Enrolment,
    EnrolmentState,
)
from supporters.training.services.courses import count_by_reporting_group

MIN_YEAR = 1989  # 平成元年度
HISTORY_YEARS = 10
# Events that took place or are planned; requests, refusals, drafts and cancellations are not.
COUNTED_EVENT_STATES = (EventState.OPEN, EventState.STAFFED, EventState.HELD, EventState.REPORTED)
VALID_STATUS_VALUES = [s.value for s in VALID_STATUSES]


# --- input ----------------------------------------------------------------------------


def check_year(year: int, today: date) -> None:
    """Reports are for fiscal years from 平成元年度 to the current one."""
    if year < MIN_YEAR:
        raise ServiceError(
            "year",
            str(_l("Reports start with fiscal year %(y)d.", y=MIN_YEAR)),
            code="year_too_early",
        )
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
            code="year_not_started",
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
            code="as_of_not_a_date",
        ) from error
    if day > today:
        raise ServiceError(
            "as_of",
            str(_l("%(d)s is in the future; choose today or an earlier day.", d=day.isoformat())),
            code="as_of_in_future",
        )
    if day.year < MIN_YEAR:
        raise ServiceError(
            "as_of", str(_l("Choose a day from %(y)d on.", y=MIN_YEAR)), code="as_of_too_early"
        )
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
class ParticipationRow:
    key: str
    participations: int = 0
    participants: int = 0


@dataclass
class ParticipationFigures:
    """People taking part without registering: never supporters, never in their counts."""

    participations: int = 0
    participants: int = 0
    by_kind: list[ParticipationRow] = field(default_factory=list)


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
    # The organisation the figures are for; None: the whole program.
    organisation_id: int | None = None
    organisation_name: str | None = None
    # Only for programs that let completers take part without registering.
    participation: ParticipationFigures | None = None

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


def sum_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _hours_sql(session: DbSession, starts: Any, ends: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(ends) - func.julianday(starts)) * 24.0
    return extract("epoch", ends - starts) / 3600.0


def _courses(
    session: DbSession,
    program: Program,
    start: date,
    last: date,
    include_attributes: bool,
    organisation_id: int | None = None,
) -> tuple[list[CourseRow], dict[str, int] | None]:
    organised = [] if organisation_id is None else [Course.organiser_id == organisation_id]
    first = (
        select(
            CourseSession.course_id.label("course_id"),
            func.min(CourseSession.date).label("first_on"),
        )
        .join(Course, Course.id == CourseSession.course_id)
        .where(Course.program_id == program.id, *organised)
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
        select(Course.kind, Enrolment.state, func.count(Enrolment.id), sum_if(attended))
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
    attributes = count_by_reporting_group(
        session, Course.id.in_(held), Course.kind == CourseKind.INITIAL, attended
    )
    return ordered, attributes


def _issued_by(registration: Any, organisation_id: int | None) -> list[ColumnElement[bool]]:
    """The registrations an organisation issued, as a WHERE clause (none: all)."""
    if organisation_id is None:
        return []
    return [registration.issuing_organisation_id == organisation_id]


def _ends_of_validity(program: Program, first: date, last: date) -> Any:
    """Every validity end from `first` to `last` that a registration of the program had: the
    first, and each renewal's."""
    return union_all(
        select(
            Registration.id.label("rid"), Registration.initial_valid_until.label("ends_on")
        ).where(
            Registration.program_id == program.id,
            Registration.initial_valid_until.between(first, last),
        ),
        select(
            RegistrationEvent.registration_id.label("rid"),
            RegistrationEvent.valid_until.label("ends_on"),
        )
        .join(Registration, Registration.id == RegistrationEvent.registration_id)
        .where(
            Registration.program_id == program.id,
            RegistrationEvent.kind == EventKind.RENEWED,
            RegistrationEvent.valid_until.between(first, last),
        ),
    ).subquery("validity_ends")


def _lapses_and_follow_up(
    session: DbSession,
    program: Program,
    start: date,
    end: date,
    today: date,
    organisation_id: int | None = None,
) -> tuple[int, FollowUpFigures]:
    """One pass over the validity ends of the year (and its eve: a registration lapses on
    the day after its validity end), each looked up for a renewal that kept it."""
    one_day = timedelta(days=1)
    ends = _ends_of_validity(program, start - one_day, end)
    renewal = aliased(RegistrationEvent)
    registration = aliased(Registration)
    kept = exists().where(
        renewal.registration_id == ends.c.rid,
        renewal.kind == EventKind.RENEWED,
        renewal.occurred_on <= ends.c.ends_on,
        renewal.valid_until > ends.c.ends_on,
    )
    lapse_window = ends.c.ends_on.between(start - one_day, min(end, today) - one_day)
    due = ends.c.ends_on.between(start, end)
    lapsed, due_count, done, overdue = session.execute(
        select(
            sum_if(and_(lapse_window, ~kept)),
            sum_if(due),
            sum_if(and_(due, kept)),
            sum_if(and_(due, ~kept, ends.c.ends_on < today)),
        )
        .select_from(ends)
        .join(registration, registration.id == ends.c.rid)
        .where(
            or_(registration.withdrawn_on.is_(None), registration.withdrawn_on > ends.c.ends_on),
            *_issued_by(registration, organisation_id),
        )
    ).one()
    figures = FollowUpFigures(
        due=int(due_count),
        done=int(done),
        overdue=int(overdue),
        pending=int(due_count) - int(done) - int(overdue),
    )
    return int(lapsed), figures


# An organisation's supporter takes (or took) part: assigned and not declined or absent.
TAKING_PART = (AssignmentState.ASSIGNED, AssignmentState.CONFIRMED, AssignmentState.ATTENDED)


def _dispatch(
    session: DbSession,
    program: Program,
    start: date,
    end: date,
    organisation_id: int | None = None,
) -> tuple[list[DispatchRow], list[DispatchRow], list[DispatchRow]]:
    """By municipality, by kind and activity, by month: one grouped query, rolled up here.
    For an organisation: the events one of its supporters takes part in, and only its
    supporters' attendance and hours."""
    own: list[ColumnElement[bool]] = []
    counted: list[ColumnElement[bool]] = []
    if organisation_id is not None:
        issued = select(Registration.id).where(
            Registration.program_id == program.id,
            Registration.issuing_organisation_id == organisation_id,
        )
        taking_part = aliased(Assignment)
        own.append(
            exists().where(
                taking_part.event_id == DispatchEvent.id,
                taking_part.state.in_(TAKING_PART),
                taking_part.registration_id.in_(issued),
            )
        )
        counted.append(Assignment.registration_id.in_(issued))
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
            *own,
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
                *counted,
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
    session: DbSession,
    program: Program,
    start: date,
    end: date,
    organisation_id: int | None = None,
) -> tuple[list[ActivityRow], int]:
    in_year = and_(
        Registration.program_id == program.id,
        ActivityReport.activity_on.between(start, end),
        *_issued_by(Registration, organisation_id),
    )
    # The kinds and the distinct filers (which do not add up across kinds) in one statement.
    by_kind = (
        select(
            literal(1).label("grouped"),
            ActivityReport.kind,
            func.count(ActivityReport.id),
            func.sum(ActivityReport.hours),
        )
        .join(Registration, Registration.id == ActivityReport.registration_id)
        .where(in_year)
        .group_by(ActivityReport.kind)
    )
    filers = (
        select(
            literal(0),
            null(),
            func.count(distinct(ActivityReport.registration_id)),
            null(),
        )
        .join(Registration, Registration.id == ActivityReport.registration_id)
        .where(in_year)
    )
    rows: list[ActivityRow] = []
    supporters = 0
    found: Any = session.execute(union_all(by_kind, filers))
    for grouped, kind, count, hours in found:
        if grouped:
            rows.append(
                ActivityRow(kind=kind, reports=count, hours=round(float(Decimal(hours or 0)), 1))
            )
        else:
            supporters = int(count or 0)
    rows.sort(key=lambda r: r.kind)
    return rows, supporters


def _participation(
    session: DbSession,
    program: Program,
    start: date,
    end: date,
    organisation_id: int | None = None,
) -> ParticipationFigures:
    """Participations (not cancelled) in the year's counted events and the distinct people
    taking part, in total and by kind and activity: one statement (the total and the groups
    as a UNION, since distinct people do not add up across groups)."""
    where: list[ColumnElement[bool]] = [
        DispatchEvent.program_id == program.id,
        DispatchEvent.starts_at >= _moment(start),
        DispatchEvent.starts_at < _moment(end + timedelta(days=1)),
        DispatchEvent.state.in_(COUNTED_EVENT_STATES),
        Participation.cancelled_at.is_(None),
    ]
    if organisation_id is not None:
        trained = (
            select(Enrolment.id)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Course.program_id == program.id, Course.organiser_id == organisation_id)
        )
        where.append(Participation.enrolment_id.in_(trained))
    counts = (func.count(Participation.id), func.count(distinct(Participation.person_id)))
    grouped = (
        select(literal(1).label("grouped"), DispatchEvent.kind, DispatchEvent.activity, *counts)
        .select_from(Participation)
        .join(DispatchEvent, DispatchEvent.id == Participation.event_id)
        .where(*where)
        .group_by(DispatchEvent.kind, DispatchEvent.activity)
    )
    total = (
        select(literal(0), null(), null(), *counts)
        .select_from(Participation)
        .join(DispatchEvent, DispatchEvent.id == Participation.event_id)
        .where(*where)
    )
    figures = ParticipationFigures()
    found: Any = session.execute(union_all(grouped, total))
    for is_group, kind, activity, count, people in found:
        if not is_group:
            figures.participations, figures.participants = int(count), int(people)
        else:
            figures.by_kind.append(
                ParticipationRow(
                    key=f"{kind}/{activity}", participations=int(count), participants=int(people)
                )
            )
    figures.by_kind.sort(key=lambda r: r.key)
    return figures


def status_counts_on(
    session: DbSession,
    program: Program,
    days: list[date],
    *,
    organisation_id: int | None = None,
) -> list[dict[str, int]]:
    """Counts per status on each of `days`, as `registry.services.status_on` gives them, in
    one statement (reports/year_figures.py says how); only the registrations issued by
    `organisation_id` when given."""
    return year_figures.status_counts_on(session, program, days, organisation_id=organisation_id)


def _valid(counts: dict[str, int]) -> int:
    return sum(counts.get(s, 0) for s in VALID_STATUS_VALUES)


def _registrations(
    session: DbSession,
    program: Program,
    year: int,
    today: date,
    as_of: date | None,
    *,
    organisation_id: int | None = None,
) -> tuple[RegistrationFigures, list[YearRow], dict[str, int], dict[str, int] | None]:
    """New and withdrawn in the year; for the years up to it, new registrations and those
    valid at each year end; the statuses at the year end and on `as_of`. One statement
    (reports/year_figures.py); only the registrations issued by `organisation_id` when given."""
    years = list(range(max(MIN_YEAR, year - HISTORY_YEARS + 1), year + 1))
    days = [min(fiscal_year_bounds(y)[1], today) for y in years]
    figures = year_figures.register_figures(
        session,
        program,
        days + ([as_of] if as_of else []),
        years=years,
        withdrawn_in=year,
        organisation_id=organisation_id,
    )
    counts, withdrawn = figures.counts, figures.withdrawn
    news = [figures.new[y] for y in years]
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
    organisation: Organisation | None = None,
) -> FiscalYearReport:
    """The figures of one program's fiscal year, or of one of its organisations (see the
    module's docstring for what belongs to an organisation). `include_attributes` only for
    the program's coordinators, and `organisation` as allowed (the caller decides)."""
    check_year(year, today)
    if organisation is not None and organisation.program_id != program.id:
        raise ServiceError(
            "organisation",
            str(_l("This organisation does not belong to the program.")),
            code="organisation_not_in_program",
        )
    org = organisation.id if organisation is not None else None
    start, end = fiscal_year_bounds(year)
    last = min(end, today)
    courses, attributes = _courses(session, program, start, last, include_attributes, org)
    registrations, history, at_year_end, at_as_of = _registrations(
        session, program, year, today, as_of, organisation_id=org
    )
    follow_counts = fiscal_year_follow_up_counts(session, program, year, organisation_id=org)
    registrations.renewed = follow_counts.get(EventKind.RENEWED, 0)
    registrations.follow_up_attended = follow_counts.get(EventKind.FOLLOW_UP, 0)
    lapsed, follow_up = _lapses_and_follow_up(session, program, start, end, today, org)
    registrations.lapsed = lapsed
    by_place, by_kind, by_month = _dispatch(session, program, start, end, org)
    activity, filers = _activity(session, program, start, end, org)
    participation = (
        _participation(session, program, start, end, org)
        if program.participation_without_registration
        else None
    )
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
        organisation_id=org,
        organisation_name=organisation.name if organisation is not None else None,
        participation=participation,
    )
