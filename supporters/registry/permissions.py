from __future__ import annotations

from typing import Any

from supporters.accounts.permissions import (
    coordinated_program_ids,
    staff_municipality_ids,
)
from supporters.registry.models import Registration


def can_manage_register(user: Any, program_id: int) -> bool:
    return program_id in coordinated_program_ids(user)


def can_view_registration(user: Any, registration: Registration) -> bool:
    """The person page: the program's coordinators, and the supporter themself."""
    return can_manage_register(user, registration.program_id) or (
        user.person_id is not None and user.person_id == registration.person_id
    )


def can_file_report_for(user: Any, registration: Registration) -> bool:
    return can_view_registration(user, registration) and registration.withdrawn_on is None


def staff_places(user: Any) -> set[int]:
    return staff_municipality_ids(user)
