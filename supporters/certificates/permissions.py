"""Who may print which card or certificate."""

from __future__ import annotations

from typing import Any

from supporters.accounts.permissions import coordinated_program_ids
from supporters.registry.models import Registration
from supporters.registry.permissions import is_own_current_registration
from supporters.training.models import Enrolment


def can_manage_cards(user: Any, program_id: int) -> bool:
    """Reissue, revoke and print any card of the program, and card sheets."""
    return program_id in coordinated_program_ids(user)


def is_own_registration(user: Any, registration: Registration) -> bool:
    return is_own_current_registration(user, registration)


def can_download_card(user: Any, registration: Registration) -> bool:
    """A supporter their own card; coordinators any card of their program."""
    return can_manage_cards(user, registration.program_id) or is_own_registration(
        user, registration
    )


def can_print_certificate(user: Any, enrolment: Enrolment) -> bool:
    return enrolment.course.program_id in coordinated_program_ids(user)
