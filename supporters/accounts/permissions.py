"""Permissions are pure predicates over a user's active grants, used by views and templates."""

from __future__ import annotations

from typing import Any

from supporters.accounts.models import Role, User


def _grants(user: Any) -> list[Any]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(user.active_grants)


def has_role(user: Any, role: Role) -> bool:
    return any(grant.role == role for grant in _grants(user))


def is_admin(user: Any) -> bool:
    return has_role(user, Role.ADMIN)


def coordinated_program_ids(user: Any) -> set[int]:
    return {g.program_id for g in _grants(user) if g.role == Role.COORDINATOR}


def staff_municipality_ids(user: Any) -> set[int]:
    return {g.municipality_id for g in _grants(user) if g.role == Role.MUNICIPAL_STAFF}


def supporter_program_ids(user: Any) -> set[int]:
    return {g.program_id for g in _grants(user) if g.role == Role.SUPPORTER}


def is_coordinator(user: Any) -> bool:
    return bool(coordinated_program_ids(user))


def is_coordinator_of(user: Any, program_id: int) -> bool:
    return program_id in coordinated_program_ids(user)


def can_manage_users(user: Any) -> bool:
    return is_admin(user)


def can_view_audit_log(user: Any) -> bool:
    return is_admin(user)


def can_view_outbox(user: Any) -> bool:
    return is_admin(user)


def can_view_program(user: Any, program_id: int) -> bool:
    return is_admin(user) or any(g.program_id == program_id for g in _grants(user))


def visible_program_ids(user: Any) -> set[int] | None:
    """None means every program (admin)."""
    if is_admin(user):
        return None
    return {g.program_id for g in _grants(user) if g.program_id is not None}


__all__ = ["User"]
