from __future__ import annotations

from typing import Any

from supporters.accounts.models import Role
from supporters.programs import permissions
from tests import factories


def test_the_role_names_programs_reads_are_the_accounts_roles() -> None:
    assert permissions.ADMIN == Role.ADMIN
    assert permissions.COORDINATOR == Role.COORDINATOR


def test_who_sees_and_manages_a_program(db_session: Any) -> None:
    tochigi = factories.program(db_session, code="tochigi")
    chiba = factories.program(db_session, code="chiba")
    admin = factories.admin(db_session)
    coordinator = factories.coordinator(db_session, program_code="tochigi")
    supporter = factories.supporter(db_session, program_code="chiba")

    assert permissions.visible_program_ids(admin) is None
    assert permissions.visible_program_ids(coordinator) == {tochigi.id}
    assert permissions.visible_program_ids(None) == set()
    assert permissions.can_view_program(admin, chiba.id)
    assert permissions.can_view_program(supporter, chiba.id)
    assert not permissions.can_view_program(supporter, tochigi.id)
    assert permissions.is_coordinator_of(coordinator, tochigi.id)
    assert not permissions.is_coordinator_of(coordinator, chiba.id)
    assert not permissions.is_coordinator_of(admin, tochigi.id)
