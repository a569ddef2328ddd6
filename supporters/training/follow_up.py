"""Where training meets the register. Follow-up courses are for registered supporters, and
attending one renews the registration; the register is a higher layer (training must not
import it), so it registers what it does here at import (supporters/registry/
follow_up_hooks.py, imported with the registry package). The app, the commands and the jobs
all import the registry, so the hooks are in place wherever training runs; a bare import of
training without the register fails loudly instead of enrolling anyone into follow-up."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Select

from supporters.db import DbSession

if TYPE_CHECKING:
    from supporters.accounts.models import User
    from supporters.people.models import Person
    from supporters.training.models import Course, Enrolment


@dataclass(frozen=True)
class RegisteredSupporter:
    """A registration in force, as training needs to see it (a link by id, its number)."""

    id: int
    person_id: int
    number: str


@dataclass(frozen=True)
class FollowUpHooks:
    # (session, follow-up course, person): raise a ServiceError unless the person is a
    # registered supporter of the course's program.
    require_registration: Callable[[DbSession, Course, Person], None]
    # (session, actor, enrolment, attended_on): a follow-up course was attended; record it
    # on the registration (renewing it where the program says so), in the same transaction.
    follow_up_attended: Callable[[DbSession, User | None, Enrolment, date], None]
    # program_id -> SELECT of the person ids ever registered in the program (withdrawn too).
    registered_people: Callable[[int], Select[int]]
    # (session, program_id, person_ids or None for all) -> the registrations in force, by
    # person id.
    current_registrations: Callable[
        [DbSession, int, Collection[int] | None], dict[int, RegisteredSupporter]
    ]
    # program_id -> SELECT of the person ids with a registration in force in the program.
    current_people: Callable[[int], Select[int]]
    # (session, program_id, registration numbers) -> the registrations in force with those
    # numbers, by number (an import of a register export names supporters by number).
    numbered_registrations: Callable[
        [DbSession, int, Collection[str]], dict[str, RegisteredSupporter]
    ]


_hooks: list[FollowUpHooks] = []


def register_follow_up_hooks(hooks: FollowUpHooks) -> None:
    """Called once by the register at import; registering again replaces (a reload)."""
    _hooks[:] = [hooks]


def follow_up_hooks() -> FollowUpHooks:
    if not _hooks:
        raise RuntimeError(
            "The register has not registered its follow-up hooks: import supporters.registry."
        )
    return _hooks[0]


def current_registration(
    session: DbSession, program_id: int, person_id: int
) -> RegisteredSupporter | None:
    """The person's registration in force in the program, or None."""
    found = follow_up_hooks().current_registrations(session, program_id, [person_id])
    return found.get(person_id)
