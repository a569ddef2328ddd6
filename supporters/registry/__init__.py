"""The register. Importing it teaches people.privacy where contact consent is kept, and that
registrations are a program's records of a person."""

from sqlalchemy import Select, select

from supporters.people.privacy import register_contact_consent, register_person_records
from supporters.registry import follow_up_hooks as _follow_up_hooks  # noqa: F401  (registers)
from supporters.registry.models import Registration
from supporters.registry.permissions import contact_consent_in_force


def _registered_people() -> Select[int, int]:
    return select(Registration.person_id, Registration.program_id)


register_contact_consent(contact_consent_in_force)
register_person_records(_registered_people)
