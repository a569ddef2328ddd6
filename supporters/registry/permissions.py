from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false

from supporters.accounts.permissions import (
    coordinated_program_ids,
    staff_municipality_ids,
    supporter_program_ids,
)
from supporters.programs.permissions import coordinates
from supporters.registry.models import Registration


def can_manage_register(user: Any, program_id: int) -> bool:
    """The whole register of a program: its coordinators."""
    return program_id in coordinated_program_ids(user)


def can_manage_registration(user: Any, registration: Registration) -> bool:
    """One supporter: the program's coordinators and those of the issuing organisation."""
    return coordinates(user, registration.program_id, registration.issuing_organisation_id)


def is_own_current_registration(user: Any, registration: Registration) -> bool:
    """The supporter themself, and only while it lasts: an active supporter role in the
    registration's program, not withdrawn, not erased. The one rule for every page, PDF,
    report form and feed a supporter reaches through their own registration, so access ends
    at once when the role is revoked or the registration is withdrawn or erased."""
    person_id = getattr(user, "person_id", None)
    return (
        person_id is not None
        and person_id == registration.person_id
        and registration.program_id in supporter_program_ids(user)
        and registration.withdrawn_on is None
        and registration.erased_at is None
    )


def own_current_registration_filter(user: Any) -> ColumnElement[bool]:
    """The same rule as a WHERE clause on Registration."""
    person_id = getattr(user, "person_id", None)
    programs = supporter_program_ids(user)
    if person_id is None or not programs:
        return false()
    return (
        (Registration.person_id == person_id)
        & Registration.program_id.in_(programs)
        & Registration.withdrawn_on.is_(None)
        & Registration.erased_at.is_(None)
    )


def can_view_registration(user: Any, registration: Registration) -> bool:
    """The person page: the program's coordinators, and the supporter themself."""
    return can_manage_registration(user, registration) or is_own_current_registration(
        user, registration
    )


def can_file_report_for(user: Any, registration: Registration) -> bool:
    return can_view_registration(user, registration) and registration.withdrawn_on is None


def staff_places(user: Any) -> set[int]:
    return staff_municipality_ids(user)


def contact_consent_in_force(session: Any, person_id: int, program_id: int) -> bool:
    """The person, registered in the program (in force), consented to share their contact
    with the municipality. Registered with people.privacy (see registry/__init__.py)."""
    from sqlalchemy import exists, select

    return bool(
        session.scalar(
            select(
                exists().where(
                    Registration.person_id == person_id,
                    Registration.program_id == program_id,
                    Registration.consent_share_contact.is_(True),
                    Registration.withdrawn_on.is_(None),
                    Registration.erased_at.is_(None),
                )
            )
        )
    )
