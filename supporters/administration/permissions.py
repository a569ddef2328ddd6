"""Who may see and change a program's rules: the admin changes them; the program's
coordinators see them. Grants are read duck-typed (programs.permissions)."""

from __future__ import annotations

from typing import Any

from supporters.programs.permissions import ADMIN, active_grants, is_coordinator_of


def can_change_programs(user: Any) -> bool:
    return any(grant.role == ADMIN for grant in active_grants(user))


def can_see_rules(user: Any, program_id: int) -> bool:
    return can_change_programs(user) or is_coordinator_of(user, program_id)
