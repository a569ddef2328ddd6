"""The register as lists and pages: its filters in SQL, a page of it, its CSV export, the
person page, a supporter's own page and the municipal list. Reads (and the audit rows of
who saw what); they never commit."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, func, or_, select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.csv import safe_cell
from supporters.core.time import today_in_japan
from supporters.db import DbSession, ServiceError
from supporters.people.models import Person
from supporters.programs.models import Municipality, Program
from supporters.registry.activity_reports import recent_reports, report_totals, reports_due
from supporters.registry.forms import STATUS_LABELS
from supporters.registry.models import ActivityReport, Registration, RegistrationEvent, Status
from supporters.registry.permissions import own_current_registration_filter
from supporters.registry.services import (
    IN_FORCE,
    events_for,
    follow_up_due_from,
    status_counts,
    status_on,
    status_sql,
    status_today_filter,
    status_today_sql,
    validity_end_on,
    validity_end_sql,
)
from supporters.training.models import Course, Enrolment
from supporters.training.services.course_state import follow_up_courses_open

# --- the register list ----------------------------------------------------------------


@dataclass
class RegisterFilter:
    program: Program
    day: date
    status: str | None = None
    query: str = ""
    municipality_id: int | None = None
    due_within_days: int | None = None
    attribute: str | None = None  # coordinators only: the view checks
    # The issuing organisations shown: None for all of the program's (its coordinators, who
    # may split the register by one); an organisation's coordinators see their own only.
    organisation_ids: frozenset[int] | None = None


def register_query(
    flt: RegisterFilter, *, municipality_ids: set[int] | None = None, count: bool = False
) -> Any:
    """SELECT Registration, Person, status, valid_until_on (both as of the filter's day) for
    the register, filtered in SQL. For today, from the stored columns and their index
    (`status_today_sql`); for another day, from the history (`status_sql`).

    The search: a query in kana (ひらがな, ﾊﾝｶｸ or カタカナ) finds the readings that start
    with it (spaces as typed, one at most), through ix_person_reading_prefix;
    any other text finds names (with or without spaces) and registration numbers that
    contain it. With `count`, SELECT count(*) of the same rows, joining the person only
    where a condition is on the person."""
    from supporters.people.services import normalise_reading

    end: Any
    today = flt.day == today_in_japan()
    if today:
        status = status_today_sql(flt.program, flt.day)
        end = Registration.valid_until
    else:
        status = status_sql(flt.program, flt.day)
        end = validity_end_sql(flt.day)
    query = (
        select(func.count()).select_from(Registration)
        if count
        else select(Registration, Person, status, end.label("valid_until_on"))
    )
    if not count or flt.query or flt.attribute:
        query = query.join(Person, Person.id == Registration.person_id)
    query = query.where(
        Registration.program_id == flt.program.id, Registration.registered_on <= flt.day
    )
    if flt.status:
        query = query.where(
            status_today_filter(flt.program, flt.day, flt.status) if today else status == flt.status
        )
    by_reading: Any = Person.name_reading
    if flt.query:
        text = " ".join(flt.query.split())
        try:  # any kana form: ひらがな, ﾊﾝｶｸ and カタカナ all find the reading
            reading = normalise_reading(text)
        except ServiceError:
            reading = ""
        if reading:  # katakana and single spaces only: no LIKE wildcard to escape
            query = query.where(Person.name_reading.like(reading + "%"))
            # The same order, as an expression no index gives: otherwise PostgreSQL walks
            # the whole reading index in order, filtering, to stop at the first 50 that
            # match (300-500 ms for サトウ at national scale), rather than reading the
            # prefix's few thousand through ix_person_reading_prefix and sorting them.
            by_reading = Person.name_reading.concat("")
        else:
            query = query.where(
                or_(
                    Person.name.contains(text, autoescape=True),
                    Person.name_key.contains(text.replace(" ", ""), autoescape=True),
                    Registration.number.contains(text, autoescape=True),
                )
            )
    if flt.municipality_id:
        query = query.where(Registration.main_municipality_id == flt.municipality_id)
    if municipality_ids is not None:
        query = query.where(Registration.main_municipality_id.in_(municipality_ids or {-1}))
    if flt.due_within_days is not None:
        query = query.where(
            end.is_not(None), end >= flt.day, end <= flt.day + timedelta(days=flt.due_within_days)
        )
    if flt.attribute:
        query = query.where(Person.attribute == flt.attribute)
    if flt.organisation_ids is not None:
        query = query.where(Registration.issuing_organisation_id.in_(flt.organisation_ids))
    return query if count else query.order_by(by_reading, Person.id)


def programs_by_id(session: DbSession, program_ids: set[int]) -> list[Program]:
    return list(
        session.scalars(select(Program).where(Program.id.in_(program_ids)).order_by(Program.id))
    )


def chosen_program(session: DbSession, program_ids: set[int], code: str | None) -> Program:
    """The program of `code` among `program_ids`, else the first of them."""
    programs = programs_by_id(session, program_ids)
    chosen = next((p for p in programs if p.code == code), None) if code else None
    if chosen is None:
        chosen = session.get(Program, min(program_ids))
    assert chosen is not None
    return chosen


@dataclass
class RegisterPage:
    rows: list[Row[Any]]
    total: int
    places: dict[int, Municipality]  # the rows' main municipalities
    counts: dict[str, int]  # registrations per status on the filter's day


def register_page(
    session: DbSession, flt: RegisterFilter, *, actor: User, page: int, page_size: int
) -> RegisterPage:
    """One page of the register. A list filtered by attribute (sensitive) is audited."""
    query = register_query(flt)
    total = session.scalar(register_query(flt, count=True)) or 0
    rows = list(session.execute(query.limit(page_size).offset((page - 1) * page_size)).all())
    places = {
        m.id: m
        for m in session.scalars(
            select(Municipality).where(
                Municipality.id.in_({r.Registration.main_municipality_id for r in rows} - {None})
            )
        )
    }
    counts = status_counts(session, flt.program, flt.day, organisation_ids=flt.organisation_ids)
    if flt.attribute:
        record_audit(
            session,
            actor,
            "person.view_attribute_list",
            None,
            program_id=flt.program.id,
            detail={"attribute": flt.attribute},
        )
    return RegisterPage(rows=rows, total=total, places=places, counts=counts)


REGISTER_CSV_HEADER = [
    "登録番号",
    "氏名",
    "フリガナ",
    "状態",
    "登録日",
    "有効期限",
    "主な活動市町村",
    "メールアドレス",
    "電話番号",
]


def export_register(
    session: DbSession, flt: RegisterFilter, *, actor: User, ip_address: str | None
) -> bytes:
    """The filtered register as a CSV that Excel opens (UTF-8 with BOM, no formulas);
    audited."""
    record_audit(
        session,
        actor,
        "export.register",
        None,
        program_id=flt.program.id,
        ip_address=ip_address,
        detail={
            "status": flt.status,
            "as_of": flt.day.isoformat(),
            "q": flt.query,
            "organisation_ids": sorted(flt.organisation_ids)
            if flt.organisation_ids is not None
            else None,
        },
    )
    places = dict(session.execute(select(Municipality.id, Municipality.name)).all())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REGISTER_CSV_HEADER)
    for registration, person, status, valid_until in session.execute(register_query(flt)):
        writer.writerow(
            [
                registration.number,
                safe_cell(person.name),
                safe_cell(person.name_reading),
                str(STATUS_LABELS[status]),
                registration.registered_on.isoformat(),
                valid_until.isoformat() if valid_until else "",
                places.get(registration.main_municipality_id, ""),
                safe_cell(person.email or ""),
                safe_cell(person.phone or ""),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def registrations_of_program(
    session: DbSession, registration_ids: set[int], program_id: int
) -> list[Registration]:
    return list(
        session.scalars(
            select(Registration)
            .where(Registration.id.in_(registration_ids), Registration.program_id == program_id)
            .order_by(Registration.id)
        )
    )


# --- one registration -----------------------------------------------------------------


@dataclass
class PersonPage:
    events: list[RegistrationEvent]
    status: Status | None
    valid_until: date | None
    follow_up_due_from: date | None
    enrolments: list[Row[Enrolment, Course]]  # in the program, oldest first
    reports: list[ActivityReport]  # the latest 100
    due: list[int]  # fiscal years without a report
    totals: tuple[int, Decimal]  # reports, hours


def person_page(session: DbSession, registration: Registration, today: date) -> PersonPage:
    program = registration.program
    events = events_for(session, registration)
    enrolments = session.execute(
        select(Enrolment, Course)
        .join(Course, Course.id == Enrolment.course_id)
        .where(
            Enrolment.person_id == registration.person_id,
            Course.program_id == registration.program_id,
        )
        .order_by(Enrolment.applied_at)
    ).all()
    reports = recent_reports(session, registration, limit=100)
    valid_until = validity_end_on(registration, events, today)
    return PersonPage(
        events=events,
        status=status_on(registration, program, events, today),
        valid_until=valid_until,
        follow_up_due_from=follow_up_due_from(program, valid_until),
        enrolments=list(enrolments),
        reports=reports,
        due=reports_due(session, registration, program, today),
        totals=report_totals(session, registration),
    )


def supporter_cards(session: DbSession, user: Any, today: date) -> list[dict[str, Any]]:
    """A supporter's own page: one card per current registration, latest first."""
    registrations = session.scalars(
        select(Registration)
        .where(own_current_registration_filter(user))
        .order_by(Registration.registered_on.desc())
    ).all()
    cards = []
    for registration in registrations:
        program = registration.program
        events = events_for(session, registration)
        status = status_on(registration, program, events, today)
        follow_ups: list[Course] = []
        if status in ("follow_up_due", "lapsed") or not program.follow_up_mandatory:
            follow_ups = follow_up_courses_open(session, program, today, limit=3)
        cards.append(
            {
                "registration": registration,
                "program": program,
                "status": status,
                "valid_until": validity_end_on(registration, events, today),
                "due": reports_due(session, registration, program, today),
                "follow_ups": follow_ups,
                "reports": recent_reports(session, registration, limit=10),
            }
        )
    return cards


def in_force_today(today: date) -> ColumnElement[bool]:
    """Active or due for follow-up on `today` (Japan's today: the stored columns are
    today's), as `status_today_sql` says of every program alike: neither suspended nor
    withdrawn, and the validity not ended."""
    return and_(
        Registration.status.in_(IN_FORCE),
        or_(Registration.valid_until.is_(None), Registration.valid_until >= today),
    )


@dataclass
class MunicipalSection:
    program: Program
    in_force: int  # supporters active or due for follow-up, in the whole list
    not_in_force: int  # lapsed or suspended, in the whole list
    rows: list[Row[Any]]  # this page's: Registration, Person, status, valid_until_on, in_force


@dataclass
class MunicipalPage:
    sections: list[MunicipalSection]
    total: int


def municipal_page(
    session: DbSession, program_ids: set[int], places: set[int], *, page: int, page_size: int
) -> MunicipalPage:
    """For municipal staff, today: the current supporters whose main municipality is one of
    `places`, program by program, those in force first, by reading; one page of them and
    the counts of each part. Four statements (the programs, their rules, the counts and the
    page) whatever the size of the list, from the stored columns and their indexes."""
    today = today_in_japan()
    programs = list(
        session.scalars(select(Program).where(Program.id.in_(program_ids)).order_by(Program.id))
    )
    if not programs:
        return MunicipalPage([], 0)
    in_force = in_force_today(today)
    scope = (
        Registration.program_id.in_([p.id for p in programs]),
        Registration.main_municipality_id.in_(places or {-1}),
        Registration.registered_on <= today,
        Registration.withdrawn_on.is_(None),
    )
    counts: dict[tuple[int, bool], int] = {
        (program_id, bool(flag)): int(n)
        for program_id, flag, n in session.execute(
            select(Registration.program_id, in_force, func.count())
            .where(*scope)
            .group_by(Registration.program_id, in_force)
        )
    }
    status = case(
        *[(Registration.program_id == p.id, status_today_sql(p, today).element) for p in programs],
        else_=None,
    )
    rows = session.execute(
        select(
            Registration,
            Person,
            status.label("status"),
            Registration.valid_until.label("valid_until_on"),
            in_force.label("in_force"),
        )
        .join(Person, Person.id == Registration.person_id)
        .where(*scope)
        .order_by(
            Registration.program_id,
            case((in_force, 0), else_=1),
            Person.name_reading,
            Person.id,
        )
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    sections = [
        MunicipalSection(
            program=p,
            in_force=counts.get((p.id, True), 0),
            not_in_force=counts.get((p.id, False), 0),
            rows=[r for r in rows if r.Registration.program_id == p.id],
        )
        for p in programs
    ]
    return MunicipalPage(sections=sections, total=sum(counts.values()))
