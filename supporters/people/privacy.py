"""Who may see a person's contact data: the one rule every page, export and service uses.

The program's coordinators see the contact of the people their program has records of; the
person sees their own. Anyone else (municipal staff, an administrator, another supporter)
sees it only where the person, as a registered supporter of that program, consented to share
their contact with the municipality, and only while that registration is in force.

Consent lives with the registration (a higher layer); the registry registers a lookup here
at import, as the layers contract asks (a lower package never imports a higher one)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select

from supporters.accounts.permissions import coordinated_program_ids
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


def may_see_contact(session: DbSession, viewer: Any, person: Person, program_id: int) -> bool:
    """The predicate itself: `program_id` is the program through whose record the viewer
    looks at the person (the course's, the registration's, the event's)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    if program_id in coordinated_program_ids(viewer):
        return True
    if getattr(viewer, "person_id", None) == person.id:
        return True
    return gave_contact_consent(session, person.id, program_id)


@dataclass(frozen=True)
class Contact:
    """What a viewer may see of a person's contact; all None when not shown."""

    shown: bool
    email: str | None = None
    phone: str | None = None
    postal_code: str | None = None
    address: str | None = None


def contact_for(session: DbSession, viewer: Any, person: Person, program_id: int) -> Contact:
    if not may_see_contact(session, viewer, person, program_id):
        return Contact(shown=False)
    return Contact(
        shown=True,
        email=person.email,
        phone=person.phone,
        postal_code=person.postal_code,
        address=person.address,
    )


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
