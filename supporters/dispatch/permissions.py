from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from supporters.accounts.models import Role
from supporters.accounts.permissions import (
    coordinated_program_ids,
    is_admin,
    staff_municipality_ids,
)
from supporters.dispatch.models import DispatchEvent, EventKind


def can_manage_event(user: Any, event: DispatchEvent) -> bool:
    return event.program_id in coordinated_program_ids(user)


def can_staff_event(user: Any, event: DispatchEvent) -> bool:
    """Ask supporters to take part: the program's coordinators; and, where the program lets
    the municipalities run their dispatches (`staff_own_requests`), the staff of the
    requesting municipality for that program."""
    if can_manage_event(user, event):
        return True
    return (
        event.kind == EventKind.DISPATCH_REQUEST
        and event.program.staff_own_requests
        and staff_programs(user).get(event.municipality_id) == event.program_id
    )


def can_view_event(user: Any, event: DispatchEvent) -> bool:
    return (
        is_admin(user)
        or can_manage_event(user, event)
        or event.municipality_id in staff_municipality_ids(user)
    )


def staff_programs(user: Any) -> dict[int, int]:
    """municipality id -> program id for a municipal staff member's grants."""
    return {
        g.municipality_id: g.program_id
        for g in user.active_grants
        if g.role == Role.MUNICIPAL_STAFF
    }


def visible_event_filter(user: Any) -> ColumnElement[bool]:
    if is_admin(user):
        return true()
    clauses = []
    programs = coordinated_program_ids(user)
    if programs:
        clauses.append(DispatchEvent.program_id.in_(programs))
    places = staff_municipality_ids(user)
    if places:
        clauses.append(DispatchEvent.municipality_id.in_(places))
    return or_(*clauses) if clauses else false()
