"""A rule change re-derives the registrations it affects in bulk (issue 16, item 3): the
same statements for 10 and for 300 registrations, the same rows as the row-by-row replay it
replaced (kept here as the oracle) on seeded random histories, and nothing changed when
the transaction fails half way."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import event, func, select

from supporters.audit.models import AuditEvent
from supporters.programs.models import Organisation, Program, ProgramRule, RenewalRule, rules_on
from supporters.registry.models import EventKind, Registration, RegistrationEvent
from supporters.registry.rule_changes import _affected, change_program_rules, rederive
from supporters.registry.services import (
    events_for,
    initial_validity,
    keep_status,
    renewed_until,
)
from tests import factories

_numbers = count(1)


def old_rederive(session: Any, program: Program, *, since: date, today: date) -> int:
    """The row-by-row replay `rederive` replaced (one query per registration, ORM updates):
    the oracle the bulk version must agree with."""
    affected = session.scalars(
        select(Registration).where(_affected(program, since)).order_by(Registration.id)
    ).all()
    for registration in affected:
        events = events_for(session, registration)
        end = initial_validity(program, registration.registered_on)
        registration.initial_valid_until = end
        for one in events:
            if one.kind == EventKind.REGISTERED:
                one.valid_until = end
            elif one.kind in (EventKind.RENEWED, EventKind.FOLLOW_UP):
                new_end = renewed_until(rules_on(program, one.occurred_on), end, one.occurred_on)
                one.kind = EventKind.FOLLOW_UP if new_end is None else EventKind.RENEWED
                one.valid_until = new_end
                if new_end is not None and end is not None:
                    end = max(end, new_end)
        registration.valid_until = end
        keep_status(session, registration, today=today, events=events)
    session.flush()
    return len(affected)


def _organisation(session: Any, program: Program) -> Organisation:
    found = session.scalar(select(Organisation).where(Organisation.program_id == program.id))
    if found is None:
        found = Organisation(program_id=program.id, kind="operator", name=f"{program.code} 事務局")
        session.add(found)
        session.flush()
    return found


def _registrations(
    session: Any, program: Program, days: list[date], rng: random.Random | None = None
) -> list[Registration]:
    """Registrations made on `days` straight as rows (the services' cost is not what is
    measured), each with its registered event and, given `rng`, a random history after it:
    follow-ups (renewing or not), suspensions, reinstatements, a withdrawal."""
    from supporters.people.models import Person

    organisation = _organisation(session, program)
    people = [
        Person(name=f"一括 {n}", name_reading="イッカツ", name_key=f"bulk{n}")
        for n in (next(_numbers) for _ in days)
    ]
    session.add_all(people)
    session.flush()
    rows = []
    for person, day in zip(people, days, strict=True):
        end = initial_validity(program, day)
        registration = Registration(
            program_id=program.id,
            person_id=person.id,
            number=f"BULK-{person.id}",
            registered_on=day,
            issuing_organisation_id=organisation.id,
            initial_valid_until=end,
            valid_until=end,
        )
        rows.append(registration)
    session.add_all(rows)
    session.flush()
    for registration in rows:
        session.add(
            RegistrationEvent(
                registration_id=registration.id,
                kind=EventKind.REGISTERED.value,
                occurred_on=registration.registered_on,
                valid_until=registration.valid_until,
            )
        )
        if rng is None:
            continue
        day = registration.registered_on
        suspended = False
        for _step in range(rng.randint(0, 5)):
            day += timedelta(days=rng.choice([1, 30, 200, 365, 700, 1000]) + rng.randint(-1, 1))
            action = rng.choice(["follow_up", "follow_up", "renewed", "toggle", "withdraw"])
            if action == "withdraw":
                registration.withdrawn_on = day
                session.add(
                    RegistrationEvent(
                        registration_id=registration.id,
                        kind=EventKind.WITHDRAWN.value,
                        occurred_on=day,
                    )
                )
                break
            if action == "toggle":
                suspended = not suspended
                kind = EventKind.SUSPENDED if suspended else EventKind.REINSTATED
                session.add(
                    RegistrationEvent(
                        registration_id=registration.id, kind=kind.value, occurred_on=day
                    )
                )
                continue
            kind = EventKind.FOLLOW_UP if action == "follow_up" else EventKind.RENEWED
            session.add(
                RegistrationEvent(
                    registration_id=registration.id,
                    kind=kind.value,
                    occurred_on=day,
                    valid_until=day + timedelta(days=rng.randint(0, 2000)),  # stale on purpose
                )
            )
        registration.status = rng.choice(["active", "lapsed", "follow_up_due"])  # stale too
    session.flush()
    return rows


def _state(session: Any, program: Program) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The stored validity and status of the program's registrations and their events, as
    the database has them."""
    registrations = session.execute(
        select(
            Registration.id,
            Registration.initial_valid_until,
            Registration.valid_until,
            Registration.status,
            Registration.follow_up_due,
        )
        .where(Registration.program_id == program.id)
        .order_by(Registration.id)
    ).all()
    events = session.execute(
        select(RegistrationEvent.id, RegistrationEvent.kind, RegistrationEvent.valid_until)
        .join(Registration, Registration.id == RegistrationEvent.registration_id)
        .where(Registration.program_id == program.id)
        .order_by(RegistrationEvent.id)
    ).all()
    return [tuple(r) for r in registrations], [tuple(e) for e in events]


def _in_memory(
    session: Any, program: Program
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The same as the session's objects hold it (no read: what the pages would see)."""
    registrations = sorted(
        (o for o in session.identity_map.values() if isinstance(o, Registration)),
        key=lambda o: o.id,
    )
    events = sorted(
        (o for o in session.identity_map.values() if isinstance(o, RegistrationEvent)),
        key=lambda o: o.id,
    )
    return (
        [
            (r.id, r.initial_valid_until, r.valid_until, r.status, r.follow_up_due)
            for r in registrations
            if r.program_id == program.id
        ],
        [(e.id, str(e.kind), e.valid_until) for e in events],
    )


@contextmanager
def _statements(session: Any) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.connection().engine

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _interval_change_statements(session: Any, n: int) -> tuple[int, int, list[str]]:
    savepoint = session.begin_nested()
    try:
        program = factories.program(session)
        _registrations(
            session, program, [date(2025, 4, 1) + timedelta(days=i % 300) for i in range(n)]
        )
        with _statements(session) as seen:
            changed = change_program_rules(
                session,
                None,
                program,
                date(2025, 4, 1),
                today=date(2026, 12, 1),
                follow_up_interval_months=24,
            )
            session.flush()
        moved = session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(
                Registration.program_id == program.id, Registration.valid_until < date(2028, 4, 1)
            )
        )
        return changed, moved, seen
    finally:
        savepoint.rollback()
        session.expunge_all()


def test_a_rule_change_takes_the_same_statements_for_10_and_300_registrations(
    db_session: Any,
) -> None:
    small, small_moved, small_seen = _interval_change_statements(db_session, 10)
    large, large_moved, large_seen = _interval_change_statements(db_session, 300)
    assert (small, large) == (10, 300)
    # Every one of them moved from 3 to 2 years (registered 2025-04-01 .. 2026-01-25).
    assert (small_moved, large_moved) == (10, 300)
    assert len(small_seen) == len(large_seen), (small_seen, large_seen)
    assert len(large_seen) <= 15, large_seen
    updates = [s for s in large_seen if s.lstrip().upper().startswith("UPDATE REGISTRATION ")]
    assert len(updates) == 1, updates  # one executemany, not one UPDATE per row


SINCE_CHOICES = [date(2019, 4, 1), date(2021, 1, 1), date(2023, 4, 1), date(2025, 10, 1)]


def _random_versions(session: Any, program: Program, rng: random.Random) -> None:
    """A few rule versions at random dates with random rules, written as the data they
    are (not through a change, which would re-derive already)."""
    for _ in range(rng.randint(1, 3)):
        day = date(2018, 1, 1) + timedelta(days=rng.randint(0, 3000))
        if any(v.effective_from == day for v in program.rule_versions):
            continue
        session.add(
            ProgramRule(
                program_id=program.id,
                effective_from=day,
                follow_up_interval_months=rng.choice([None, 12, 24, 36]),
                follow_up_mandatory=rng.choice([True, True, False]),
                follow_up_window_days=rng.choice([0, 30, 90, 180, 365]),
                renewal_rule=rng.choice(list(RenewalRule)).value,
            )
        )
    session.flush()
    session.refresh(program, ["rule_versions"])


@pytest.mark.parametrize("seed", range(6))
def test_bulk_rederive_equals_the_row_by_row_replay_on_random_histories(
    db_session: Any, seed: int
) -> None:
    rng = random.Random(seed)
    program = factories.program(db_session, code=rng.choice(["tochigi", "chiba", "kagawa"]))
    days = [date(2018, 4, 1) + timedelta(days=rng.randint(0, 2600)) for _ in range(40)]
    _registrations(db_session, program, days, rng)
    _random_versions(db_session, program, rng)
    since = rng.choice(SINCE_CHOICES)
    today = date(2019, 1, 1) + timedelta(days=rng.randint(0, 3000))
    untouched = _state(db_session, program)

    savepoint = db_session.begin_nested()
    old_count = old_rederive(db_session, program, since=since, today=today)
    expected = _state(db_session, program)
    savepoint.rollback()
    db_session.expire_all()
    assert _state(db_session, program) == untouched

    db_session.refresh(program, ["rule_versions"])
    # Load the rows into the session first, as a page would have, to check they are kept true.
    # (held: the session keeps its objects by weak reference)
    held = [
        *db_session.scalars(select(Registration).where(Registration.program_id == program.id)),
        *db_session.scalars(select(RegistrationEvent)),
    ]
    assert rederive(db_session, program, since=since, today=today) == old_count
    assert old_count > 0
    assert _state(db_session, program) == expected
    assert _in_memory(db_session, program)[0] == expected[0]
    events_in_memory = {e[0]: e for e in _in_memory(db_session, program)[1]}
    assert [events_in_memory[e[0]] for e in expected[1]] == expected[1]
    # The bulk replay writes nothing the second time.
    with _statements(db_session) as seen:
        rederive(db_session, program, since=since, today=today)
    assert not [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    assert held


class _Interrupted(Exception):
    pass


def test_a_rule_change_failing_half_way_leaves_nothing_changed(db_session: Any) -> None:
    program = factories.program(db_session)
    rng = random.Random(7)
    _registrations(
        db_session, program, [date(2023, 4, 1) + timedelta(days=i * 7) for i in range(30)], rng
    )
    before = _state(db_session, program)
    versions = db_session.scalar(
        select(func.count()).select_from(ProgramRule).where(ProgramRule.program_id == program.id)
    )
    audits = db_session.scalar(select(func.count()).select_from(AuditEvent))
    engine = db_session.connection().engine
    writes: list[str] = []

    def fail_on_registrations(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE REGISTRATION_EVENT "):
            writes.append(statement)  # the events are written; the registrations are next
        if statement.lstrip().upper().startswith("UPDATE REGISTRATION "):
            raise _Interrupted

    savepoint = db_session.begin_nested()
    event.listen(engine, "before_cursor_execute", fail_on_registrations)
    try:
        with pytest.raises(_Interrupted):
            change_program_rules(
                db_session,
                None,
                program,
                date(2023, 4, 1),
                today=date(2026, 12, 1),
                follow_up_interval_months=12,
                renewal_rule="window_only",
            )
    finally:
        event.remove(engine, "before_cursor_execute", fail_on_registrations)
    savepoint.rollback()
    db_session.expire_all()
    assert writes, "the failure came after the events were written"
    assert _state(db_session, program) == before
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(ProgramRule)
            .where(ProgramRule.program_id == program.id)
        )
        == versions
    )
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == audits
