"""Who may see and manage a program's pages: pure predicates over a user's active grants.

Programs sit below accounts (the layers contract), so a user is read duck-typed: its
`active_grants`, each with the stored role name (`accounts.models.Role` is the StrEnum of
these names; tests/programs checks that they agree) and the program it is scoped to."""

from __future__ import annotations

from typing import Any

ADMIN = "admin"
COORDINATOR = "coordinator"


def active_grants(user: Any) -> list[Any]:
    """The grants in force of a logged-in user; none for anyone else."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(user.active_grants)


def _is_admin(user: Any) -> bool:
    return any(grant.role == ADMIN for grant in active_grants(user))


def is_coordinator_of(user: Any, program_id: int) -> bool:
    return any(
        grant.role == COORDINATOR and grant.program_id == program_id
        for grant in active_grants(user)
    )


def can_view_program(user: Any, program_id: int) -> bool:
    return _is_admin(user) or any(g.program_id == program_id for g in active_grants(user))


def visible_program_ids(user: Any) -> set[int] | None:
    """None means every program (admin)."""
    if _is_admin(user):
        return None
    return {g.program_id for g in active_grants(user) if g.program_id is not None}
