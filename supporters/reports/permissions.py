"""Who sees which report. Figures are aggregates; the attribute breakdown is sensitive and
is for the program's coordinators only (not admins, not municipal staff, not coordinators
of other programs)."""

from __future__ import annotations

from typing import Any

from supporters.accounts.models import Role
from supporters.accounts.permissions import coordinated_program_ids, is_admin
from supporters.training.permissions import can_view_attribute_figures


def _staff_program_ids(user: Any) -> set[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return {g.program_id for g in user.active_grants if g.role == Role.MUNICIPAL_STAFF}


def reportable_program_ids(user: Any) -> set[int] | None:
    """The programs whose reports a user may see; None: every program (admin)."""
    if is_admin(user):
        return None
    return coordinated_program_ids(user) | _staff_program_ids(user)


def can_view_reports(user: Any) -> bool:
    ids = reportable_program_ids(user)
    return ids is None or bool(ids)


def can_view_report(user: Any, program_id: int) -> bool:
    ids = reportable_program_ids(user)
    return ids is None or program_id in ids


def can_view_report_attributes(user: Any, program_id: int) -> bool:
    return can_view_attribute_figures(user, program_id)
