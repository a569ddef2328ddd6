"""What a person's privacy rests on, below the features that keep records of people: whether
the person consented to share their contact in a program, and which people a program may
match and see (`known_to_program`).

Who may see contact data is `accounts.permissions.contact_for`, which asks the consent here.
Consent lives with the registration, and the records with training and the registry (higher
layers); they register their lookups here at import, as the layers contract asks (a lower
package never imports a higher one)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import ColumnElement, Select, false, or_, select

from supporters.db import DbSession
from supporters.people.models import Person

# (session, person_id, program_id) -> did the person consent to share contact in the program?
ConsentLookup = Callable[[DbSession, int, int], bool]
_consent_lookups: list[ConsentLookup] = []


def register_contact_consent(lookup: ConsentLookup) -> None:
    if lookup not in _consent_lookups:
        _consent_lookups.append(lookup)


def gave_contact_consent(session: DbSession, person_id: int, program_id: int) -> bool:
    return any(lookup(session, person_id, program_id) for lookup in _consent_lookups)


# --- whose record a person is --------------------------------------------------------
# A person record belongs to the programs that hold records of it (an enrolment in one of
# their courses, a registration). Each feature that keeps such records registers a query of
# (person_id, program_id) pairs here, as the registry does for consent above.
PersonRecords = Callable[[], Select[int, int]]
_record_sources: list[PersonRecords] = []


def register_person_records(source: PersonRecords) -> None:
    if source not in _record_sources:
        _record_sources.append(source)


def known_to_program(program_id: int) -> ColumnElement[bool]:
    """People the program may match and see: those it holds a record of, and records no
    program holds yet (just created). Never a person only another program knows. Correlated
    EXISTS per source, so each candidate costs an index lookup on the sources' person_id."""
    sources = [source() for source in _record_sources]
    if not sources:  # nothing registered (a bare import): match no one rather than anyone
        return false()
    held_here = [
        s.where(s.selected_columns[0] == Person.id, s.selected_columns[1] == program_id).exists()
        for s in sources
    ]
    held_anywhere = [s.where(s.selected_columns[0] == Person.id).exists() for s in sources]
    return or_(*held_here, ~or_(*held_anywhere))


def is_known_to_program(session: DbSession, person_id: int, program_id: int) -> bool:
    return bool(
        session.scalar(
            select(Person.id).where(Person.id == person_id, known_to_program(program_id))
        )
    )


def known_people_named(
    session: DbSession, program_id: int, name_keys: Iterable[str], *, batch: int = 500
) -> list[Person]:
    """The people `program_id` may match (`known_to_program`) whose name key is one of
    `name_keys`, in id order: the candidates of many duplicate look-ups at once (an import),
    one query per `batch` keys instead of one per row."""
    keys = sorted(set(name_keys))
    found: list[Person] = []
    for start in range(0, len(keys), batch):
        found.extend(
            session.scalars(
                select(Person).where(
                    Person.name_key.in_(keys[start : start + batch]),
                    known_to_program(program_id),
                )
            )
        )
    return sorted(found, key=lambda person: person.id)
