"""Rule changes from a date (issue 16, item 3): a program's status rules are versioned
(programs.models.ProgramRule, `rules_on`); a change adds a version in force from its date
and re-derives, in the same transaction, the validity of the registrations whose validity
was derived on or after that date: their initial validity (registered on or after it) and
their follow-up renewals (attended on or after it), replayed in order under the rules in
force on each day. Status on an earlier day is untouched, so past figures do not move."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Table, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.time import today_in_japan
from supporters.db import DbSession, ServiceError
from supporters.programs.models import (
    BEGINNING,
    RULE_FIELDS,
    Program,
    ProgramRule,
    RenewalRule,
    rules_on,
    sync_program_rules,
)
from supporters.registry.models import EventKind, Registration, RegistrationEvent, Status
from supporters.registry.services import (
    initial_validity,
    renewed_until,
    status_on,
    window_opens,
)


def _check(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(RULE_FIELDS))
    if unknown:
        raise ServiceError(
            None, str(_l("Unknown rule: %(name)s", name=unknown[0])), code="unknown_rule_field"
        )
    interval = fields.get("follow_up_interval_months")
    if interval is not None and interval <= 0:
        raise ServiceError(
            "follow_up_interval_months",
            str(_l("Give a positive number of months.")),
            code="interval_not_positive",
        )
    window = fields.get("follow_up_window_days")
    if "follow_up_window_days" in fields and (window is None or window < 0):
        raise ServiceError(
            "follow_up_window_days",
            str(_l("Give zero or more days.")),
            code="window_negative",
        )
    rule = fields.get("renewal_rule")
    if "renewal_rule" in fields and rule not in list(RenewalRule):
        raise ServiceError(
            "renewal_rule", str(_l("Choose a renewal rule.")), code="unknown_renewal_rule"
        )


def change_program_rules(
    session: DbSession,
    actor: User | None,
    program: Program,
    effective_from: date,
    *,
    today: date | None = None,
    **fields: Any,
) -> int:
    """Put `fields` (of programs.models.RULE_FIELDS) in force from `effective_from` on (a
    version from that day; later versions take the changed fields too), re-derive the
    registrations it affects and audit the change with before and after. Returns how many
    registrations were re-derived; 0 as well when the rules from that day already say so
    (the same change twice writes nothing). Does not commit: the version, the re-derived
    validity and the audit land or fail together."""
    _check(fields)
    day = today or today_in_japan()
    if not program.rule_versions:  # the rules so far become the first version
        session.add(
            ProgramRule(program_id=program.id, effective_from=BEGINNING, **_values(program))
        )
        session.flush()
        session.refresh(program, ["rule_versions"])
    current = rules_on(program, effective_from)
    before = _values(current)
    after = {**before, **fields}
    later = [v for v in program.rule_versions if v.effective_from > effective_from]
    if after == before and all(_values(v) == {**_values(v), **fields} for v in later):
        return 0
    version = next((v for v in program.rule_versions if v.effective_from == effective_from), None)
    if version is None:
        version = ProgramRule(program_id=program.id, effective_from=effective_from)
        session.add(version)
    for name, value in after.items():
        setattr(version, name, value)
    for newer in later:  # the fields changed hold from the date on, through later versions
        for name, value in fields.items():
            setattr(newer, name, value)
    session.flush()
    session.refresh(program, ["rule_versions"])
    sync_program_rules(program, day)
    count = rederive(session, program, since=effective_from, today=day)
    record_audit(
        session,
        actor,
        "program.rules",
        program,
        program_id=program.id,
        detail={
            "effective_from": effective_from.isoformat(),
            "before": before,
            "after": after,
            "registrations": count,
        },
    )
    return count


def _values(rules: ProgramRule | Program) -> dict[str, Any]:
    return {name: getattr(rules, name) for name in RULE_FIELDS}


def _affected(program: Program, since: date) -> ColumnElement[bool]:
    """The program's registrations registered, or renewed by a follow-up, on or after
    `since`: those whose validity a rule version from `since` may change."""
    return and_(
        Registration.program_id == program.id,
        or_(
            Registration.registered_on >= since,
            exists().where(
                RegistrationEvent.registration_id == Registration.id,
                RegistrationEvent.kind.in_((EventKind.RENEWED, EventKind.FOLLOW_UP)),
                RegistrationEvent.occurred_on >= since,
            ),
        ),
    )


def rederive(session: DbSession, program: Program, *, since: date, today: date) -> int:
    """Replay the validity of the program's registrations registered or renewed on or after
    `since` under the rules in force on each day; store it and today's status (the rules of
    `keep_status`). A constant number of statements whatever their number: the affected
    registrations, all their events, then one executemany UPDATE for the events and one for
    the registrations that changed. The objects already in the session get the new values
    as their loaded state, so they agree with the rows without another read."""
    session.flush()
    affected = session.scalars(
        select(Registration).where(_affected(program, since)).order_by(Registration.id)
    ).all()
    if not affected:
        return 0
    histories: dict[int, list[RegistrationEvent]] = defaultdict(list)
    for event in session.scalars(
        select(RegistrationEvent)
        .where(
            RegistrationEvent.registration_id.in_(
                select(Registration.id).where(_affected(program, since)).scalar_subquery()
            )
        )
        .order_by(
            RegistrationEvent.registration_id, RegistrationEvent.occurred_on, RegistrationEvent.id
        )
    ):
        histories[event.registration_id].append(event)
    event_rows: list[dict[str, Any]] = []
    registration_rows: list[dict[str, Any]] = []
    for registration in affected:
        events = histories[registration.id]
        end = initial_validity(program, registration.registered_on)
        for event in events:
            kind, until = event.kind, event.valid_until
            if event.kind == EventKind.REGISTERED:
                until = end
            elif event.kind in (EventKind.RENEWED, EventKind.FOLLOW_UP):
                until = renewed_until(rules_on(program, event.occurred_on), end, event.occurred_on)
                kind = (EventKind.FOLLOW_UP if until is None else EventKind.RENEWED).value
                if until is not None and end is not None:
                    end = max(end, until)
            if (kind, until) != (event.kind, event.valid_until):
                event_rows.append({"event_id": event.id, "new_kind": kind, "new_until": until})
                set_committed_value(event, "kind", kind)
                set_committed_value(event, "valid_until", until)
        before = _stored(registration)
        set_committed_value(
            registration,
            "initial_valid_until",
            initial_validity(program, registration.registered_on),
        )
        set_committed_value(registration, "valid_until", end)
        status = status_on(registration, program, events, today) or Status.ACTIVE
        set_committed_value(registration, "status", status.value)
        set_committed_value(registration, "follow_up_due", window_opens(program, end, today))
        after = _stored(registration)
        if after != before:
            registration_rows.append({"registration_id": registration.id, **after})
    if event_rows:
        session.execute(_UPDATE_EVENT, event_rows)
    if registration_rows:
        session.execute(_UPDATE_REGISTRATION, registration_rows)
    return len(affected)


_STORED = ("initial_valid_until", "valid_until", "status", "follow_up_due")


def _stored(registration: Registration) -> dict[str, Any]:
    return {f"new_{name}": getattr(registration, name) for name in _STORED}


_events = cast(Table, RegistrationEvent.__table__)
_registrations = cast(Table, Registration.__table__)
# Core statements with bound parameters, run as one executemany each (the ORM's unit of work
# would issue one UPDATE per set of changed columns).
_UPDATE_EVENT = (
    update(_events)
    .where(_events.c.id == bindparam("event_id"))
    .values(kind=bindparam("new_kind"), valid_until=bindparam("new_until"))
)
_UPDATE_REGISTRATION = (
    update(_registrations)
    .where(_registrations.c.id == bindparam("registration_id"))
    .values({name: bindparam(f"new_{name}") for name in _STORED})
)
