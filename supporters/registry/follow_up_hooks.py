"""The register's part in training (see supporters/training/follow_up.py): follow-up courses
are for registered supporters, attending one is recorded on the registration. Imported with
the registry package, so training finds these wherever the app, a command or a job runs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import Select, select

from supporters.accounts.models import User
from supporters.db import DbSession
from supporters.registry.models import Registration
from supporters.registry.services import record_follow_up, require_registration_for_follow_up
from supporters.training.follow_up import (
    FollowUpHooks,
    RegisteredSupporter,
    register_follow_up_hooks,
)
from supporters.training.models import Enrolment


def _follow_up_attended(
    session: DbSession, actor: User | None, enrolment: Enrolment, attended_on: date
) -> None:
    record_follow_up(session, actor=actor, enrolment=enrolment, attended_on=attended_on)


def _registered_people(program_id: int) -> Select[int]:
    return select(Registration.person_id).where(Registration.program_id == program_id)


def _current_people(program_id: int) -> Select[int]:
    return select(Registration.person_id).where(
        Registration.program_id == program_id, Registration.withdrawn_on.is_(None)
    )


def _numbered_registrations(
    session: DbSession, program_id: int, numbers: Collection[str]
) -> dict[str, RegisteredSupporter]:
    query = select(Registration.id, Registration.person_id, Registration.number).where(
        Registration.program_id == program_id,
        Registration.withdrawn_on.is_(None),
        Registration.number.in_(numbers),
    )
    return {
        number: RegisteredSupporter(id=registration_id, person_id=person_id, number=number)
        for registration_id, person_id, number in session.execute(query)
    }


def _current_registrations(
    session: DbSession, program_id: int, person_ids: Collection[int] | None
) -> dict[int, RegisteredSupporter]:
    query = select(Registration.id, Registration.person_id, Registration.number).where(
        Registration.program_id == program_id, Registration.withdrawn_on.is_(None)
    )
    if person_ids is not None:
        query = query.where(Registration.person_id.in_(person_ids))
    return {
        person_id: RegisteredSupporter(id=registration_id, person_id=person_id, number=number)
        for registration_id, person_id, number in session.execute(query)
    }


register_follow_up_hooks(
    FollowUpHooks(
        require_registration=require_registration_for_follow_up,
        follow_up_attended=_follow_up_attended,
        registered_people=_registered_people,
        current_registrations=_current_registrations,
        current_people=_current_people,
        numbered_registrations=_numbered_registrations,
    )
)
