"""Where features above the register plug in. The register sits below dispatch, so it never
imports it; dispatch registers here, at import, what the register needs to know about a
dispatch (see dispatch/hooks.py). Everything runs in the caller's session and transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from supporters.db import DbSession


@dataclass(frozen=True)
class DispatchFacts:
    """What an activity report needs from a dispatch: whose it is, and what to prefill."""

    registration_id: int
    starts_at: datetime
    ends_at: datetime
    activity: str
    municipality: str


DispatchLookup = Callable[[DbSession, int], DispatchFacts | None]

_dispatch_lookups: list[DispatchLookup] = []


def register_dispatch_lookup(lookup: DispatchLookup) -> None:
    """`lookup(session, assignment_id)`: the dispatch's facts, or None when there is none."""
    if lookup not in _dispatch_lookups:
        _dispatch_lookups.append(lookup)


def find_dispatch(session: DbSession, assignment_id: int) -> DispatchFacts | None:
    for lookup in _dispatch_lookups:
        facts = lookup(session, assignment_id)
        if facts is not None:
            return facts
    return None
