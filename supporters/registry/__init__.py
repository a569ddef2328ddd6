"""The register. Importing it teaches people.privacy where contact consent is kept."""

from supporters.people.privacy import register_contact_consent
from supporters.registry.permissions import contact_consent_in_force

register_contact_consent(contact_consent_in_force)
