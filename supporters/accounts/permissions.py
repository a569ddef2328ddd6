"""Permissions are pure predicates over a user's active grants, used by views and templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from supporters.accounts.models import Role
from supporters.db import DbSession
from supporters.people.models import Person
from supporters.people.privacy import gave_contact_consent
from supporters.programs.permissions import active_grants, coordinates, coordinator_scope


def has_role(user: Any, role: Role) -> bool:
    return any(grant.role == role for grant in active_grants(user))


def is_admin(user: Any) -> bool:
    return has_role(user, Role.ADMIN)


def coordinated_program_ids(user: Any) -> set[int]:
    """The programs a user coordinates as a whole; a coordinator for one organisation of a
    program is not among them (see programs.permissions.coordinates for their records)."""
    scope = coordinator_scope(user)
    return {program for program, organisations in scope.items() if organisations is None}


def coordinated_any_program_ids(user: Any) -> set[int]:
    """The programs a user coordinates as a whole or for one of its organisations."""
    return set(coordinator_scope(user))


def staff_municipality_ids(user: Any) -> set[int]:
    return {g.municipality_id for g in active_grants(user) if g.role == Role.MUNICIPAL_STAFF}


def supporter_program_ids(user: Any) -> set[int]:
    return {g.program_id for g in active_grants(user) if g.role == Role.SUPPORTER}


def is_coordinator(user: Any) -> bool:
    """Coordinates a program or one of its organisations."""
    return bool(coordinator_scope(user))


def can_manage_users(user: Any) -> bool:
    return is_admin(user)


def can_view_audit_log(user: Any) -> bool:
    return is_admin(user)


def can_view_outbox(user: Any) -> bool:
    return is_admin(user)


# --- who may see a person's contact data ---------------------------------------------
# The one rule every page, export and service uses. The program's coordinators see the
# contact of the people their program has records of; the person sees their own. Anyone else
# (municipal staff, an administrator, another supporter) sees it only where the person, as a
# registered supporter of that program, consented to share their contact with the
# municipality, and only while that registration is in force (people.privacy asks the
# registry, which registers the lookup).


def may_see_contact(
    session: DbSession,
    viewer: Any,
    person: Person,
    program_id: int,
    *,
    organisation_id: int | None = None,
) -> bool:
    """The predicate itself: `program_id` is the program through whose record the viewer
    looks at the person (the course's, the registration's, the event's), `organisation_id`
    the organisation the record belongs to (the course's organiser, the issuing organisation),
    whose coordinators see the contact too."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    if coordinates(viewer, program_id, organisation_id):
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


def contact_for(
    session: DbSession,
    viewer: Any,
    person: Person,
    program_id: int,
    *,
    organisation_id: int | None = None,
) -> Contact:
    if not may_see_contact(session, viewer, person, program_id, organisation_id=organisation_id):
        return Contact(shown=False)
    return Contact(
        shown=True,
        email=person.email,
        phone=person.phone,
        postal_code=person.postal_code,
        address=person.address,
    )
