"""Dispatch's registrations with the register (registry/hooks.py), made when dispatch is
imported: the register reads a dispatch (whose it is, its day, hours, kind and place) when
a supporter files the activity report for it, without importing dispatch."""

from __future__ import annotations

from supporters.db import DbSession
from supporters.dispatch.models import Assignment
from supporters.registry.hooks import DispatchFacts, register_dispatch_lookup


def dispatch_facts(session: DbSession, assignment_id: int) -> DispatchFacts | None:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        return None
    event = assignment.event
    return DispatchFacts(
        registration_id=assignment.registration_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        activity=event.activity,
        municipality=event.municipality.name,
    )


register_dispatch_lookup(dispatch_facts)
