"""The trainee import's work on the whole file at once (`importer.import_trainees` checks
the rows first): who the rows name, looked up with a few queries for the file instead of
some per row, and the new people, enrolments and audit rows written in batches, a statement
per table and 1,000 rows."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, insert, select

from supporters.accounts.models import User
from supporters.audit.models import AuditEvent
from supporters.db import DbSession
from supporters.people.models import Person
from supporters.people.privacy import known_people_named
from supporters.people.services import PersonInput
from supporters.programs.models import Municipality
from supporters.training.follow_up import follow_up_hooks
from supporters.training.models import Course, Enrolment, EnrolmentState
from supporters.training.services.course_state import count_holding_place

WRITE_BATCH = 1000  # rows of the file written at a time: a statement per table
_T = TypeVar("_T")


@dataclass
class ImportRow:
    number: int
    data: PersonInput
    residence: Municipality | None
    work: Municipality | None
    key: str  # name_key(data.name): the duplicate look-ups' key
    registration_number: str = ""
    # The attribute as the file gives it, in the program's words (a program attribute code);
    # the person keeps its reporting group.
    attribute: str | None = None


@dataclass
class PlannedEnrolment:
    row: ImportRow
    person: Person | None  # None: a new person
    state: EnrolmentState


def _same_contact(person: Person, data: PersonInput) -> bool:
    """`find_duplicates`' contact rule, for people already read: the same e-mail, or the
    same phone as typed or as its digits alone."""
    if data.email and person.email == data.email:
        return True
    if data.phone:
        return person.phone in (data.phone, re.sub(r"\D", "", data.phone))
    return False


def _by_name_key(people: Iterable[Person]) -> dict[str, list[Person]]:
    grouped: dict[str, list[Person]] = {}
    for person in people:
        grouped.setdefault(person.name_key, []).append(person)
    return grouped


def _duplicates(candidates: dict[str, list[Person]], row: ImportRow) -> list[Person]:
    """`find_duplicates` (same name and reading, and the same e-mail or phone), among
    candidates read for the whole file (`known_people_named`), in id order."""
    return [
        person
        for person in candidates.get(row.key, [])
        if person.name_reading == row.data.name_reading and _same_contact(person, row.data)
    ]


def known_people(
    session: DbSession, course: Course, rows: list[ImportRow]
) -> dict[int, Person | None]:
    """Per row number, the person of the program's records the row names (the first of
    `find_duplicates`), or None: a new person."""
    candidates = _by_name_key(known_people_named(session, course.program_id, (r.key for r in rows)))
    found: dict[int, Person | None] = {}
    for row in rows:
        matches = _duplicates(candidates, row)
        found[row.number] = matches[0] if matches else None
    return found


def registered_people(
    session: DbSession, course: Course, rows: list[ImportRow]
) -> dict[int, Person | None]:
    """Per row number, the registered supporter of the course's program the row names: by
    registration number when the file has one (a register export), else by name and reading
    with the same contact, else by name and reading alone if exactly one supporter has them."""
    hooks = follow_up_hooks()
    numbers = sorted({r.registration_number for r in rows if r.registration_number})
    person_by_number: dict[str, int] = {}
    for chunk in _chunks(numbers):
        person_by_number.update(
            (number, found.person_id)
            for number, found in hooks.numbered_registrations(
                session, course.program_id, chunk
            ).items()
        )
    people_by_id: dict[int, Person] = {}
    for id_chunk in _chunks(sorted(set(person_by_number.values()))):
        people_by_id.update(
            (p.id, p) for p in session.scalars(select(Person).where(Person.id.in_(id_chunk)))
        )
    by_number = {number: people_by_id[pid] for number, pid in person_by_number.items()}
    keys = sorted({r.key for r in rows if not r.registration_number})
    registered: dict[str, list[Person]] = {}
    for chunk in _chunks(keys):
        registered.update(
            _by_name_key(
                session.scalars(
                    select(Person)
                    .where(
                        Person.name_key.in_(chunk),
                        Person.id.in_(hooks.current_people(course.program_id)),
                    )
                    .order_by(Person.id)
                )
            )
        )
    registered_ids = {p.id for people in registered.values() for p in people}
    known = _by_name_key(known_people_named(session, course.program_id, keys)) if keys else {}
    found: dict[int, Person | None] = {}
    for row in rows:
        if row.registration_number:
            found[row.number] = by_number.get(row.registration_number)
            continue
        matches = [p for p in _duplicates(known, row) if p.id in registered_ids]
        if not matches:
            matches = [
                p for p in registered.get(row.key, []) if p.name_reading == row.data.name_reading
            ]
        found[row.number] = matches[0] if len(matches) == 1 else None
    return found


def plan_enrolments(
    session: DbSession, course: Course, people: list[tuple[ImportRow, Person | None]]
) -> tuple[list[PlannedEnrolment], list[tuple[ImportRow, Person]]]:
    """What enrolling the rows one after the other would do (as `enrol_person`): confirmed
    while the course has room, then the waiting list; and the rows naming a person an
    earlier row enrols, which enrolling would refuse."""
    holding = count_holding_place(session, course)
    claimed: set[int] = set()
    plan: list[PlannedEnrolment] = []
    repeated: list[tuple[ImportRow, Person]] = []
    for row, person in people:
        if person is not None:
            if person.id in claimed:
                repeated.append((row, person))
                continue
            claimed.add(person.id)
        if course.capacity is None or holding < course.capacity:
            state = EnrolmentState.CONFIRMED
            holding += 1
        else:
            state = EnrolmentState.WAITLISTED
        plan.append(PlannedEnrolment(row, person, state))
    return plan, repeated


def write_enrolments(
    session: DbSession,
    *,
    actor: User | None,
    course: Course,
    plan: list[PlannedEnrolment],
    states: dict[int, str],
    now: datetime,
    written: Callable[[int], None],
) -> None:
    """The new people, the enrolments and their audit rows, as `create_person`,
    `enrol_person` and `record_audit` write them, a batch of rows at a time, as plain rows
    (not objects in the session: building 20,000 of them was most of an import's time); the
    audit rows in the order row by row enrolling gave them."""
    withdrawn = [p.person.id for p in plan if p.person is not None and p.person.id in states]
    earlier: dict[int, Enrolment] = {}
    for chunk in _chunks(withdrawn):
        earlier.update(
            (e.person_id, e)
            for e in session.scalars(
                select(Enrolment).where(
                    Enrolment.course_id == course.id, Enrolment.person_id.in_(chunk)
                )
            )
        )
    created = sum(1 for p in plan if p.person is None)
    ids = _Ids(
        session,
        {Person: created, Enrolment: len(plan) - len(earlier), AuditEvent: created + len(plan)},
    )
    actor_id = actor.id if actor else None
    for start in range(0, len(plan), WRITE_BATCH):
        part = plan[start : start + WRITE_BATCH]
        people: list[dict[str, Any]] = []
        enrolments: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for planned in part:
            if planned.person is None:
                person_id = ids.take(Person)
                people.append(
                    {"id": person_id, "name_key": planned.row.key, **vars(planned.row.data)}
                )
                events.append(_audit_row(ids, actor_id, "person.create", Person, person_id))
            else:
                person_id = planned.person.id
            given = planned.row.attribute or (
                planned.person.attribute if planned.person else planned.row.data.attribute
            )
            # The group the program counts the given word in (the person's: their group).
            group = planned.row.data.attribute if planned.row.attribute else given
            earlier_enrolment = earlier.get(person_id)
            if earlier_enrolment is not None:  # withdrawn, back again: a new place in the queue
                earlier_enrolment.state = planned.state
                earlier_enrolment.applied_at = now
                earlier_enrolment.state_changed_at = now
                earlier_enrolment.eligibility_override_reason = None
                earlier_enrolment.attribute = given
                earlier_enrolment.attribute_group = group
                enrolment_id = earlier_enrolment.id
            else:
                enrolment_id = ids.take(Enrolment)
                enrolments.append(
                    {
                        "id": enrolment_id,
                        "course_id": course.id,
                        "person_id": person_id,
                        "state": planned.state.value,
                        "source": "csv",
                        "applied_at": now,
                        "state_changed_at": now,
                        "eligibility_override_reason": None,
                        "created_by_id": actor_id,
                        "attribute": given,
                        "attribute_group": group,
                    }
                )
            events.append(
                _audit_row(
                    ids,
                    actor_id,
                    "enrolment.create",
                    Enrolment,
                    enrolment_id,
                    program_id=course.program_id,
                    detail={"state": planned.state.value, "override": False},
                )
            )
        for model, rows in ((Person, people), (Enrolment, enrolments), (AuditEvent, events)):
            if rows:  # every row with every key, so that they go as one executemany
                session.execute(insert(model).execution_options(render_nulls=True), rows)
        written(start + len(part))
    session.flush()  # a withdrawn trainee's enrolment taken up again


def _audit_row(
    ids: _Ids,
    actor_id: int | None,
    action: str,
    target: type[Any],
    target_id: int,
    *,
    program_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row `record_audit` adds for the same event."""
    return {
        "id": ids.take(AuditEvent),
        "actor_user_id": actor_id,
        "action": action,
        "target_type": target.__tablename__,
        "target_id": target_id,
        "program_id": program_id,
        "ip_address": None,
        "detail": detail,
    }


class _Ids:
    """Ids for the new rows, given before they are inserted, so that a batch of rows goes
    in one statement that reads nothing back (an executemany) on both databases: SQLAlchemy
    otherwise sends one statement per row on SQLite, which has no column to order the
    returned ids by, and on PostgreSQL spends more time building one huge statement than the
    database spends on it.

    PostgreSQL: taken from each table's sequence, as a default would. SQLite: the highest
    id + 1 onwards, what SQLite gives itself (no AUTOINCREMENT tables); safe because the
    course lock taken before holds SQLite's write lock until commit: nobody else inserts."""

    def __init__(self, session: DbSession, needed: dict[type[Any], int]) -> None:
        self.free: dict[type[Any], Iterator[int]] = {}
        postgresql = session.get_bind().dialect.name == "postgresql"
        for model, count in needed.items():
            # Read before any new row is added: a query flushes what is pending first.
            table = model.__tablename__
            if count == 0:
                self.free[model] = iter(())
            elif postgresql:
                sequence = func.pg_get_serial_sequence(table, "id")
                taken = session.scalars(
                    select(func.nextval(sequence)).select_from(func.generate_series(1, count))
                )
                self.free[model] = iter(sorted(taken))
            else:
                highest = session.scalar(select(func.max(model.id))) or 0
                self.free[model] = iter(range(highest + 1, highest + 1 + count))

    def take(self, model: type[Any]) -> int:
        return next(self.free[model])


def _chunks(values: Sequence[_T], size: int = 500) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
