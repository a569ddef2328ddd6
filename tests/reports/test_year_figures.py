"""The report's status counts (reports/year_figures.py) against `registry.services.status_on`
on random histories: random registrations, renewals (some shortening, some without an end),
suspensions and reinstatements (several on one day), withdrawals, rule versions changing the
follow-up window, two issuing organisations; the days asked include the day before, of and
after the dates of the histories and of the windows' edges."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from supporters.core.dates import add_months, fiscal_year_bounds
from supporters.programs.models import BEGINNING, Organisation, Program, ProgramRule
from supporters.registry.models import EventKind, Registration, RegistrationEvent, Status
from supporters.registry.services import events_for, status_on
from supporters.reports.figures import _registrations, status_counts_on
from tests import factories

FIRST = date(2014, 1, 1)
SPAN = 4800  # days: to 2027


def _day(rng: random.Random, after: date = FIRST, within: int = SPAN) -> date:
    return after + timedelta(days=rng.randrange(within))


def _world(session: Any, seed: int, size: int = 40) -> tuple[Program, list[int], list[date]]:
    """`size` random registrations of Tochigi, and the dates their histories mention."""
    rng = random.Random(seed)
    program = factories.program(session, code="tochigi")
    if not program.rule_versions:
        session.add(
            ProgramRule(
                program_id=program.id,
                effective_from=BEGINNING,
                follow_up_interval_months=36,
                follow_up_mandatory=True,
                follow_up_window_days=180,
            )
        )
    session.add(  # the window changes from a random day on
        ProgramRule(
            program_id=program.id,
            effective_from=_day(rng),
            follow_up_interval_months=36,
            follow_up_mandatory=True,
            follow_up_window_days=rng.choice([0, 30, 365]),
        )
    )
    session.flush()
    session.refresh(program, ["rule_versions"])
    made = [
        Organisation(program_id=program.id, kind="operator", name=f"乱数 事業所 {seed}-{k}")
        for k in range(2)
    ]
    session.add_all(made)
    session.flush()
    organisations = [o.id for o in made]
    mentioned: list[date] = []
    for n in range(size):
        person = factories.person(
            session, name=f"乱数 {seed}-{n}", reading="ランスウ", email=f"r{seed}-{n}@example.jp"
        )
        registered = _day(rng)
        initial = None if rng.random() < 0.2 else add_months(registered, rng.choice([12, 36]))
        withdrawn = _day(rng, registered, 3000) if rng.random() < 0.3 else None
        registration = Registration(
            program_id=program.id,
            person_id=person.id,
            number=f"R{seed}-{n}",
            registered_on=registered,
            issuing_organisation_id=rng.choice(organisations),
            initial_valid_until=initial,
            valid_until=initial,
            withdrawn_on=withdrawn,
        )
        session.add(registration)
        session.flush()
        events = [RegistrationEvent(kind=EventKind.REGISTERED, occurred_on=registered)]
        toggle_days = [_day(rng, registered, 2500) for _ in range(2)]
        for _ in range(rng.randrange(4)):  # renewals, a few without an end or shortening
            on = _day(rng, registered, 3000)
            end = None if rng.random() < 0.1 else _day(rng, on - timedelta(days=400), 1800)
            events.append(
                RegistrationEvent(kind=EventKind.RENEWED, occurred_on=on, valid_until=end)
            )
        for _ in range(rng.randrange(5)):  # toggles, often on the same days
            kind = rng.choice([EventKind.SUSPENDED, EventKind.REINSTATED])
            events.append(RegistrationEvent(kind=kind, occurred_on=rng.choice(toggle_days)))
        if rng.random() < 0.3:
            events.append(
                RegistrationEvent(kind=EventKind.FOLLOW_UP, occurred_on=_day(rng, registered))
            )
        rng.shuffle(events)  # entry order differs from date order
        for event in events:
            event.registration_id = registration.id
            session.add(event)
            session.flush()
            mentioned.extend(d for d in (event.occurred_on, event.valid_until) if d)
        mentioned.extend(d for d in (registered, initial, withdrawn) if d)
    return program, organisations, mentioned


def _expected(
    session: Any, program: Program, days: list[date], organisation_id: int | None = None
) -> list[dict[str, int]]:
    query = select(Registration).where(Registration.program_id == program.id)
    if organisation_id is not None:
        query = query.where(Registration.issuing_organisation_id == organisation_id)
    counts = [Counter({s.value: 0 for s in Status}) for _ in days]
    for registration in session.scalars(query):
        events = events_for(session, registration)
        for i, day in enumerate(days):
            status = status_on(registration, program, events, day)
            if status is not None:
                counts[i][status.value] += 1
    return [dict(c) for c in counts]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_status_counts_on_equal_status_on_for_random_histories(db_session: Any, seed: int) -> None:
    program, organisations, mentioned = _world(db_session, seed)
    rng = random.Random(seed * 1000)
    windows = {v.follow_up_window_days for v in program.rule_versions}
    for _round in range(6):
        days: list[date] = []
        for _ in range(rng.randrange(1, 12)):
            base = rng.choice(mentioned)
            shift = rng.choice([0, 0, 1, -1, *windows, *[-w for w in windows]])
            days.append(base + timedelta(days=shift + rng.choice([-1, 0, 1])))
        if rng.random() < 0.5:
            days.append(days[0])  # a day asked twice
        assert status_counts_on(db_session, program, days) == _expected(
            db_session, program, days
        ), days
        for organisation_id in organisations:
            assert status_counts_on(
                db_session, program, days, organisation_id=organisation_id
            ) == _expected(db_session, program, days, organisation_id), (organisation_id, days)


def test_the_report_years_by_organisation_add_up(db_session: Any) -> None:
    """`_registrations` split by issuing organisation: the parts add up to the whole, and
    new registrations per year are those registered in it."""
    program, organisations, _mentioned = _world(db_session, 7, size=30)
    today = date(2026, 11, 30)
    whole = _registrations(db_session, program, 2025, today, date(2025, 11, 30))
    parts = [
        _registrations(
            db_session, program, 2025, today, date(2025, 11, 30), organisation_id=organisation
        )
        for organisation in organisations
    ]
    assert whole[0].new == sum(p[0].new for p in parts)
    assert whole[0].withdrawn == sum(p[0].withdrawn for p in parts)
    for status in Status:
        assert whole[2][status] == sum(p[2][status] for p in parts)
        assert whole[3] is not None
        assert whole[3][status] == sum(p[3][status] for p in parts if p[3] is not None)
    start, end = fiscal_year_bounds(2025)
    registrations = list(
        db_session.scalars(select(Registration).where(Registration.program_id == program.id))
    )
    assert whole[0].new == sum(start <= r.registered_on <= end for r in registrations)
    assert whole[0].withdrawn == sum(
        r.withdrawn_on is not None and start <= r.withdrawn_on <= end for r in registrations
    )
    for row in whole[1]:
        y_start, y_end = fiscal_year_bounds(row.year)
        assert row.new == sum(y_start <= r.registered_on <= y_end for r in registrations)


def test_the_report_page_sends_at_most_15_statements(
    client: Any, db_session: Any, login_as: Any
) -> None:
    """The rule versions that `status_on` reads are one statement more than the program's
    own columns were: the new registrations ride in the status statement to make up for it."""
    from tests.reports.conftest import build_fy2024, counting_queries

    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    db_session.commit()
    with counting_queries() as statements:
        assert client.get("/reports/tochigi/2024?as_of=2024-12-01").status_code == 200
    assert len(statements) <= 15, statements
