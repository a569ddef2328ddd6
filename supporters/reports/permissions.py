"""Who sees which report. Figures are aggregates; the attribute breakdown is sensitive and
is for the program's coordinators only (not admins, not municipal staff, not coordinators
of other programs, not an organisation's coordinators).

A coordinator for one organisation of a program (a grant with `organisation_id`) sees the
report of their organisation only, never the whole program's: `report_scope`."""

from __future__ import annotations

from typing import Any

from supporters.accounts.models import Role
from supporters.accounts.permissions import (
    coordinated_any_program_ids,
    coordinated_program_ids,
    is_admin,
)
from supporters.programs.permissions import coordinated_organisation_ids
from supporters.training.permissions import can_view_attribute_figures


def _staff_program_ids(user: Any) -> set[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return {g.program_id for g in user.active_grants if g.role == Role.MUNICIPAL_STAFF}


def reportable_program_ids(user: Any) -> set[int] | None:
    """The programs whose reports a user may see; None: every program (admin)."""
    if is_admin(user):
        return None
    return coordinated_any_program_ids(user) | _staff_program_ids(user)


def can_view_reports(user: Any) -> bool:
    ids = reportable_program_ids(user)
    return ids is None or bool(ids)


def can_view_report(user: Any, program_id: int) -> bool:
    ids = reportable_program_ids(user)
    return ids is None or program_id in ids


def report_scope(user: Any, program_id: int) -> frozenset[int] | None:
    """Whose figures of the program a user may see: None for the whole program (and any one
    of its organisations): admins, the program's coordinators and municipal staff; else the
    organisations they coordinate (empty: none)."""
    if (
        is_admin(user)
        or program_id in coordinated_program_ids(user)
        or program_id in _staff_program_ids(user)
    ):
        return None
    return coordinated_organisation_ids(user, program_id) or frozenset()


def can_view_report_of(user: Any, program_id: int, organisation_id: int | None) -> bool:
    """May see the figures of `organisation_id` (None: the whole program)."""
    scope = report_scope(user, program_id)
    if scope is None:
        return True
    return organisation_id is not None and organisation_id in scope


def can_view_report_attributes(user: Any, program_id: int) -> bool:
    return can_view_attribute_figures(user, program_id)
