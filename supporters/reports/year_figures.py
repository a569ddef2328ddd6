"""Registrations per status on a few days (the fiscal-year report's year ends and `as_of`),
from the history, in one statement whose work does not grow with the number of days.

The status of a registration on a day (`registry.services.status_on`) only ever compares its
dates with that day: registered, withdrawn, a renewal or suspension on or before it; a
validity end before it, or within the follow-up window after it. So for a handful of days,
what matters of each date is only where it falls among a few *marks*: the days themselves
for the dates of things that happened, and the day before each day and the last day of each
day's window for validity ends. The statement replaces every date by the number of its
interval among the marks (a `CASE`), joins each registration's history as a short text of
those numbers, and counts the registrations per such profile (GROUP BY). There are a few
hundred profiles for a national register. Each profile is then given back real dates, one
per interval (the mark that closes it), and `status_on` itself decides its status on each
day: the counts are what `status_on` says for every registration, by construction, and the
same code keeps deciding.

Within one interval only the last suspension or reinstatement counts (they are all on or
before a day, or none is), so the statement keeps that one (ROW_NUMBER over the few toggle
rows); renewals keep their interval numbers and the latest end wins in `status_on` as in the
history (the numbering keeps the order of dates).

`register_figures` groups by two more columns in the same statement, the fiscal year of
registration and whether withdrawn in the report's year, so the report's register figures
are one statement."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, literal, select, union_all

from supporters.core.dates import fiscal_year_bounds
from supporters.db import DbSession
from supporters.programs.models import Program, rules_on
from supporters.registry.models import EventKind, Registration, RegistrationEvent, Status
from supporters.registry.services import status_on

ONE_DAY = timedelta(days=1)
NONE = -1  # the interval number of a missing date
RENEWAL, SUSPENDED, REINSTATED = "R", "S", "I"
KINDS = {
    RENEWAL: EventKind.RENEWED,
    SUSPENDED: EventKind.SUSPENDED,
    REINSTATED: EventKind.REINSTATED,
}

# A profile: registered, withdrawn and first validity end as interval numbers, then the
# history's entries (kind, interval of the day, interval of the validity end), sorted.
Profile = tuple[int, int, int, tuple[tuple[str, int, int], ...]]


def _interval(column: Any, marks: Sequence[date]) -> ColumnElement[int]:
    """The number of the first mark on or after the column's date (len(marks) after all of
    them); NONE for NULL."""
    return case(
        (column.is_(None), NONE),
        *[(column <= mark, i) for i, mark in enumerate(marks)],
        else_=len(marks),
    )


def _representative(number: int, marks: Sequence[date]) -> date | None:
    """A date in interval `number`: it compares with every mark as each date of the
    interval does."""
    if number == NONE:
        return None
    return marks[number] if number < len(marks) else marks[-1] + ONE_DAY


def _as_text(value: Any) -> Any:
    return cast(value, String)


def _profiles(
    session: DbSession,
    program: Program,
    day_marks: Sequence[date],
    end_marks: Sequence[date],
    organisation_id: int | None,
    extra: Sequence[ColumnElement[Any]] = (),
) -> Counter[tuple[Profile, tuple[Any, ...]]]:
    """The registrations counted per profile and per value of the `extra` columns (of
    Registration). Without `extra`, only those registered by the last day."""
    in_program = select(Registration.id).where(Registration.program_id == program.id)
    event_on = _interval(RegistrationEvent.occurred_on, day_marks)
    renewals = select(
        RegistrationEvent.registration_id.label("rid"),
        (
            literal(RENEWAL)
            + _as_text(event_on)
            + literal(".")
            + _as_text(_interval(RegistrationEvent.valid_until, end_marks))
        ).label("entry"),
    ).where(
        RegistrationEvent.kind == EventKind.RENEWED,
        RegistrationEvent.valid_until.is_not(None),
        RegistrationEvent.registration_id.in_(in_program),
    )
    toggles = (
        select(
            RegistrationEvent.registration_id.label("rid"),
            RegistrationEvent.kind.label("kind"),
            event_on.label("on"),
            func.row_number()
            .over(
                partition_by=(RegistrationEvent.registration_id, event_on),
                order_by=(RegistrationEvent.occurred_on.desc(), RegistrationEvent.id.desc()),
            )
            .label("latest"),
        )
        .where(
            RegistrationEvent.kind.in_((EventKind.SUSPENDED, EventKind.REINSTATED)),
            RegistrationEvent.registration_id.in_(in_program),
        )
        .subquery("toggles")
    )
    last_toggles = select(
        toggles.c.rid,
        (
            case((toggles.c.kind == EventKind.SUSPENDED.value, SUSPENDED), else_=REINSTATED)
            + _as_text(toggles.c.on)
            + literal(".-1")
        ).label("entry"),
    ).where(toggles.c.latest == 1)
    entries = union_all(renewals, last_toggles).subquery("entries")
    if session.get_bind().dialect.name == "postgresql":
        joined = func.string_agg(entries.c.entry, literal(" "))
    else:
        joined = func.group_concat(entries.c.entry, literal(" "))
    histories = (
        select(entries.c.rid, joined.label("history")).group_by(entries.c.rid).subquery("histories")
    )
    per_registration = (
        select(
            _interval(Registration.registered_on, day_marks).label("registered"),
            _interval(Registration.withdrawn_on, day_marks).label("withdrawn"),
            _interval(Registration.initial_valid_until, end_marks).label("ends"),
            histories.c.history,
            *[column.label(f"extra_{i}") for i, column in enumerate(extra)],
        )
        .select_from(Registration)
        .outerjoin(histories, histories.c.rid == Registration.id)
        .where(Registration.program_id == program.id)
    )
    if not extra:
        per_registration = per_registration.where(Registration.registered_on <= day_marks[-1])
    if organisation_id is not None:
        per_registration = per_registration.where(
            Registration.issuing_organisation_id == organisation_id
        )
    rows = per_registration.subquery("per_registration")
    keys = [rows.c.registered, rows.c.withdrawn, rows.c.ends, rows.c.history]
    keys += [rows.c[f"extra_{i}"] for i in range(len(extra))]
    profiles: Counter[tuple[Profile, tuple[Any, ...]]] = Counter()
    for registered, withdrawn, ends, history, *values, count in session.execute(
        select(*keys, func.count()).group_by(*keys)
    ):
        profiles[((registered, withdrawn, ends, _entries(history)), tuple(values))] += count
    return profiles


def _entries(history: str | None) -> tuple[tuple[str, int, int], ...]:
    if not history:
        return ()
    found = set()
    for entry in history.split():
        on, end = entry[1:].split(".")
        found.add((entry[0], int(on), int(end)))
    return tuple(sorted(found, key=lambda e: (e[1], e[0], e[2])))


@dataclass
class RegisterFigures:
    counts: list[dict[str, int]]  # per status, on each day asked
    new: dict[int, int]  # registered in each fiscal year asked
    withdrawn: int  # withdrawn in the fiscal year asked


def register_figures(
    session: DbSession,
    program: Program,
    days: list[date],
    *,
    years: Sequence[int] = (),
    withdrawn_in: int | None = None,
    organisation_id: int | None = None,
) -> RegisterFigures:
    """The statuses on `days` (as `status_counts_on`), the registrations of each fiscal year
    of `years`, and those withdrawn in the fiscal year `withdrawn_in`, in one statement."""
    if not days:
        return RegisterFigures(counts=[], new={}, withdrawn=0)
    day_marks = sorted(set(days))
    end_marks = sorted(
        {day - ONE_DAY for day in day_marks}
        | {day + timedelta(days=rules_on(program, day).follow_up_window_days) for day in day_marks}
    )
    extra: list[ColumnElement[Any]] = []
    if years:
        extra.append(
            case(
                (Registration.registered_on < fiscal_year_bounds(min(years))[0], None),
                *[
                    (Registration.registered_on <= fiscal_year_bounds(y)[1], y)
                    for y in sorted(years)
                ],
                else_=None,
            )
        )
    if withdrawn_in is not None:
        start, end = fiscal_year_bounds(withdrawn_in)
        extra.append(case((Registration.withdrawn_on.between(start, end), 1), else_=0))
    profiles = _profiles(session, program, day_marks, end_marks, organisation_id, extra)
    figures = RegisterFigures(
        counts=[{s.value: 0 for s in Status} for _ in days], new={y: 0 for y in years}, withdrawn=0
    )
    statuses: Counter[Profile] = Counter()
    for (profile, values), count in profiles.items():
        statuses[profile] += count
        if years and values[0] is not None:
            figures.new[int(values[0])] += count
        if withdrawn_in is not None and values[-1]:
            figures.withdrawn += count
    for (registered, withdrawn, ends, history), count in statuses.items():
        registration = Registration(
            registered_on=_representative(registered, day_marks),
            withdrawn_on=_representative(withdrawn, day_marks),
            initial_valid_until=_representative(ends, end_marks),
        )
        events = [
            RegistrationEvent(
                kind=KINDS[kind],
                occurred_on=_representative(on, day_marks),
                valid_until=_representative(end, end_marks),
            )
            for kind, on, end in history
        ]
        for i, day in enumerate(days):
            status = status_on(registration, program, events, day)
            if status is not None:
                figures.counts[i][status.value] += count
    return figures


def status_counts_on(
    session: DbSession,
    program: Program,
    days: list[date],
    *,
    organisation_id: int | None = None,
) -> list[dict[str, int]]:
    """Registrations per status (a dict of every Status value) on each of `days`, as
    `registry.services.status_on` gives it; only those of `organisation_id` (the issuing
    organisation) when given. One statement."""
    return register_figures(session, program, days, organisation_id=organisation_id).counts
