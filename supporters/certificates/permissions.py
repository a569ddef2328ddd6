"""Who may print which card or certificate."""

from __future__ import annotations

from typing import Any

from supporters.programs.permissions import coordinates, coordinator_scope
from supporters.registry.models import Registration
from supporters.registry.permissions import can_manage_registration, is_own_current_registration
from supporters.training.models import Enrolment


def can_manage_cards(user: Any, registration: Registration) -> bool:
    """Reissue, revoke and print a supporter's card: the program's coordinators and those of
    the issuing organisation."""
    return can_manage_registration(user, registration)


def can_print_sheets(user: Any) -> bool:
    """Card sheets, of the registrations each coordinator manages."""
    return bool(coordinator_scope(user))


def is_own_registration(user: Any, registration: Registration) -> bool:
    return is_own_current_registration(user, registration)


def can_download_card(user: Any, registration: Registration) -> bool:
    """A supporter their own card; coordinators any card of their program."""
    return can_manage_cards(user, registration) or is_own_registration(user, registration)


def can_print_certificate(user: Any, enrolment: Enrolment) -> bool:
    course = enrolment.course
    return coordinates(user, course.program_id, course.organiser_id)
