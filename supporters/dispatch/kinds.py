"""A program's kinds of activity (program data, table program_activity_kind): which the
event form offers, which mechanic an event of the kind uses, and the program's own word
for taking part that pages and mails show."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from supporters.db import DbSession, ServiceError
from supporters.dispatch.models import DispatchEvent, ProgramActivityKind
from supporters.programs.models import Program


def program_kinds(
    session: DbSession, program: Program, *, active_only: bool = True
) -> list[ProgramActivityKind]:
    query = select(ProgramActivityKind).where(ProgramActivityKind.program_id == program.id)
    if active_only:
        query = query.where(ProgramActivityKind.active.is_(True))
    return list(
        session.scalars(query.order_by(ProgramActivityKind.sort_order, ProgramActivityKind.id))
    )


def kind_for_event(
    session: DbSession,
    program: Program,
    kind_id: int | None,
    *,
    event_kind: str | None = None,
    activity: str | None = None,
) -> ProgramActivityKind | None:
    """The kind an event is created with: the chosen one (the program's own and active), or
    the program's first with the mechanic `event_kind` (and the report `activity`, if one
    has it), or none if the program has none."""
    if kind_id is not None:
        kind = session.get(ProgramActivityKind, kind_id)
        if kind is None or kind.program_id != program.id or not kind.active:
            raise ServiceError(
                "activity_kind",
                str(_l("Choose the kind of activity.")),
                code="activity_kind_unknown",
            )
        return kind
    fitting = [
        kind
        for kind in program_kinds(session, program)
        if event_kind is None or kind.event_kind == event_kind
    ]
    same_activity = [kind for kind in fitting if kind.activity == activity]
    candidates = same_activity or fitting
    return candidates[0] if candidates else None


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ja"


def kind_name(event: DispatchEvent) -> str | None:
    """The event's kind as its program names it (居場所, 家族会, …), None for old events."""
    kind = event.activity_kind
    return kind.name(current_language()) if kind is not None else None


def taking_part(event: DispatchEvent) -> str | None:
    """The program's word for taking part in the event (出張相談会への同席, 派遣,
    活動への参加), None for old events without a kind."""
    kind = event.activity_kind
    return kind.taking_part(current_language()) if kind is not None else None
