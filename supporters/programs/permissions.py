"""Who may see and manage a program's pages: pure predicates over a user's active grants.

Programs sit below accounts (the layers contract), so a user is read duck-typed: its
`active_grants`, each with the stored role name (`accounts.models.Role` is the StrEnum of
these names; tests/programs checks that they agree) and the program it is scoped to.

A coordinator grant is for the whole program, or (with `organisation_id`) for one
organisation of it: that organisation's courses (it organises them) and supporters (it issues
their cards). `coordinator_scope` is the one place this is read; every predicate and every
list query asks it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_

ADMIN = "admin"
COORDINATOR = "coordinator"


def active_grants(user: Any) -> list[Any]:
    """The grants in force of a logged-in user; none for anyone else."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(user.active_grants)


def _is_admin(user: Any) -> bool:
    return any(grant.role == ADMIN for grant in active_grants(user))


def coordinator_scope(user: Any) -> dict[int, frozenset[int] | None]:
    """What a user coordinates: program id -> None (the whole program) or the ids of the
    organisations of that program they coordinate. A whole-program grant wins."""
    scope: dict[int, frozenset[int] | None] = {}
    for grant in active_grants(user):
        if grant.role != COORDINATOR or grant.program_id is None:
            continue
        organisation_id = getattr(grant, "organisation_id", None)
        held = scope.get(grant.program_id, frozenset())
        if organisation_id is None or held is None:
            scope[grant.program_id] = None
        else:
            scope[grant.program_id] = held | {organisation_id}
    return scope


def is_coordinator_of(user: Any, program_id: int) -> bool:
    """Coordinates the whole program (not only one of its organisations)."""
    scope = coordinator_scope(user)
    return program_id in scope and scope[program_id] is None


def coordinates(user: Any, program_id: int, organisation_id: int | None) -> bool:
    """Coordinates a record of `program_id` that belongs to `organisation_id` (a course's
    organiser, a registration's issuing organisation): the program's coordinators, and that
    organisation's."""
    scope = coordinator_scope(user)
    if program_id not in scope:
        return False
    organisations = scope[program_id]
    return organisations is None or organisation_id in organisations


def coordinated_filter(
    user: Any, program_column: Any, organisation_column: Any
) -> ColumnElement[bool]:
    """`coordinates` as a WHERE clause over a record's program and organisation columns."""
    scope = coordinator_scope(user)
    programs = [program for program, organisations in scope.items() if organisations is None]
    organisations = {o for held in scope.values() if held is not None for o in held}
    clauses: list[ColumnElement[bool]] = []
    if programs:
        clauses.append(program_column.in_(sorted(programs)))
    if organisations:
        clauses.append(organisation_column.in_(sorted(organisations)))
    return or_(*clauses) if clauses else false()


def coordinated_organisation_ids(user: Any, program_id: int) -> frozenset[int] | None:
    """The organisations of a program a user coordinates: None for all of them (the
    program's coordinators), empty for none."""
    scope = coordinator_scope(user)
    if program_id not in scope:
        return frozenset()
    return scope[program_id]


def can_view_program(user: Any, program_id: int) -> bool:
    return _is_admin(user) or any(g.program_id == program_id for g in active_grants(user))


def visible_program_ids(user: Any) -> set[int] | None:
    """None means every program (admin)."""
    if _is_admin(user):
        return None
    return {g.program_id for g in active_grants(user) if g.program_id is not None}
