"""What the start page counts and lists for each role: a coordinator's actions per program, a
municipal staff member's upcoming events and supporters, a supporter's next dispatch and
registrations; and the audit log page. Aggregate queries, a fixed number whatever the amount
of data; plain functions that never commit and never read the request."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select

from supporters.accounts.models import Role, User
from supporters.audit.models import AuditEvent
from supporters.core.dates import fiscal_year
from supporters.core.time import today_in_japan
from supporters.db import DbSession
from supporters.dispatch import services as dispatch_services
from supporters.dispatch.models import (
    HOLDING,
    Assignment,
    AssignmentState,
    DispatchEvent,
    EventState,
)
from supporters.programs.models import Municipality, Program
from supporters.registry.activity_reports import reports_due
from supporters.registry.models import Registration
from supporters.registry.queries import in_force_today
from supporters.registry.services import status_sql, status_today_sql, validity_end_sql
from supporters.reports.figures import VALID_STATUS_VALUES, sum_if
from supporters.reports.worklists import missing_report_condition, waiting_list_condition
from supporters.training.models import Course, CourseKind, Enrolment, EnrolmentState
from supporters.training.services.course_state import follow_up_courses_open


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
            sum_if(dispatch_services.understaffed_condition(now)),
            sum_if(dispatch_services.pending_request_condition(now)),
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
                sum_if(in_window),
                sum_if(Registration.valid_until <= today + timedelta(days=LAPSING_DAYS)),
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
    if today == today_in_japan():  # the stored columns, through the municipality's index
        valid_here = or_(
            false(),
            *[
                and_(
                    Registration.program_id == program.id,
                    Registration.main_municipality_id == place_id,
                )
                for place_id, program in places.items()
            ],
        )
        valid_here = and_(valid_here, in_force_today(today))
    else:  # another day (tests, a day being looked back on): from the history
        valid_here = or_(
            false(),
            *[
                and_(
                    Registration.program_id == program.id,
                    Registration.main_municipality_id == place_id,
                    status_sql(program, today).in_(VALID_STATUS_VALUES),
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
    # 次にすること beyond answering: fiscal years whose activity report is due, per
    # registration (the My page's rule), and follow-up courses open to apply to that the
    # supporter has not applied to, per program; filed reports and applications drop out.
    reports_due: list[tuple[Registration, int]] = field(default_factory=list)
    follow_ups: list[tuple[Program, Course]] = field(default_factory=list)


def supporter_overview(
    session: DbSession, person_id: int, programs: list[Program], *, now: datetime, today: date
) -> SupporterOverview:
    """The next dispatch, the requests waiting for an answer, the status of each
    registration (in the programs given) on `today`, the activity reports due and the
    follow-up courses to take: three queries, and two per registration where reports are
    required or a follow-up is to take (a supporter holds one to three). Only registrations
    in force count: a withdrawn or erased one shows nothing here."""
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
        stored = today == today_in_japan()  # today: the registration's own columns
        status = case(
            *[
                (
                    Registration.program_id == p.id,
                    status_today_sql(p, today).element if stored else status_sql(p, today),
                )
                for p in programs
            ],
            else_=None,
        )
        end = Registration.valid_until if stored else validity_end_sql(today)
        for registration, row_status, valid_until in session.execute(
            select(Registration, status, end)
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
    due = [
        (registration, year)
        for registration, program, _status, _until in registrations
        for year in reports_due(session, registration, program, today)
    ]
    return SupporterOverview(
        next_assignment=first[0] if first else None,
        next_event=first[1] if first else None,
        next_place=first[2] if first else None,
        awaiting_answer=int(awaiting or 0),
        registrations=registrations,
        reports_due=due,
        follow_ups=follow_ups_to_take(session, person_id, registrations, today),
    )


def follow_ups_to_take(
    session: DbSession,
    person_id: int,
    registrations: list[tuple[Registration, Program, str | None, date | None]],
    today: date,
) -> list[tuple[Program, Course]]:
    """Follow-up courses open for applications that the supporter has not applied to: where
    the follow-up is due or the registration lapsed, or where follow-ups are optional (as
    the My page offers them). One query per such program and one for the applications."""
    programs = {
        program.id: program
        for _registration, program, status, _until in registrations
        if status in ("follow_up_due", "lapsed") or not program.follow_up_mandatory
    }
    if not programs:
        return []
    applied = set(
        session.scalars(
            select(Enrolment.course_id)
            .join(Course, Course.id == Enrolment.course_id)
            .where(
                Enrolment.person_id == person_id,
                Course.program_id.in_(list(programs)),
                Course.kind == CourseKind.FOLLOW_UP,
                Enrolment.state != EnrolmentState.WITHDRAWN,
            )
        )
    )
    return [
        (program, course)
        for program in programs.values()
        for course in follow_up_courses_open(session, program, today, limit=3)
        if course.id not in applied
    ]


@dataclass
class StartPage:
    """Everything the start page shows, for each role the user holds."""

    grants: list[Any]
    coordinator: list[CoordinatorActions]
    staff_grants: list[Any]
    staff: StaffOverview | None
    supporter: SupporterOverview | None
    is_admin: bool


def start_page(session: DbSession, user: Any, *, now: datetime, today: date) -> StartPage:
    """For each role the user holds, what needs doing. A fixed number of aggregate queries,
    whatever the amount of data."""
    grants = list(user.active_grants)

    def programs_for(role: Role) -> list[Any]:
        # A coordinator for one organisation is not given the whole program's to-dos.
        found = {
            g.program.id: g.program
            for g in grants
            if g.role == role and g.program and g.organisation_id is None
        }
        return [found[key] for key in sorted(found)]

    coordinator = coordinator_actions(session, programs_for(Role.COORDINATOR), now=now, today=today)
    staff_grants = [g for g in grants if g.role == Role.MUNICIPAL_STAFF and g.municipality]
    staff = (
        staff_overview(
            session, {g.municipality_id: g.program for g in staff_grants}, now=now, today=today
        )
        if staff_grants
        else None
    )
    supporter_programs = programs_for(Role.SUPPORTER)
    supporter = (
        supporter_overview(session, user.person_id, supporter_programs, now=now, today=today)
        if supporter_programs and user.person_id
        else None
    )
    return StartPage(
        grants=grants,
        coordinator=coordinator,
        staff_grants=staff_grants,
        staff=staff,
        supporter=supporter,
        is_admin=any(g.role == Role.ADMIN for g in grants),
    )


# --- the audit log ----------------------------------------------------------------------

AUDIT_PAGE_SIZE = 100


def audit_log_page(
    session: DbSession, *, action: str, page: int, page_size: int = AUDIT_PAGE_SIZE
) -> tuple[list[Any], int]:
    """One page of audit events, newest first, each with its actor's email (None: the
    system), and the number of events; `action` keeps those whose action starts with it."""
    query = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_user_id)
    count_query = select(func.count()).select_from(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
        count_query = count_query.where(AuditEvent.action.startswith(action))
    total = session.scalar(count_query) or 0
    rows = session.execute(
        query.order_by(AuditEvent.id.desc()).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return list(rows), total
