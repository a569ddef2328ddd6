"""Rule changes from a date (issue 16, item 3): a program's status rules are versioned
(programs.models.ProgramRule, `rules_on`); a change adds a version in force from its date
and re-derives, in the same transaction, the validity of the registrations whose validity
was derived on or after that date: their initial validity (registered on or after it) and
their follow-up renewals (attended on or after it), replayed in order under the rules in
force on each day. Status on an earlier day is untouched, so past figures do not move."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select

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
from supporters.registry.models import EventKind, Registration, RegistrationEvent
from supporters.registry.services import (
    events_for,
    initial_validity,
    keep_status,
    renewed_until,
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


def rederive(session: DbSession, program: Program, *, since: date, today: date) -> int:
    """Replay the validity of the program's registrations registered or renewed on or after
    `since` under the rules in force on each day; store it and today's status."""
    affected = session.scalars(
        select(Registration)
        .where(
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
        .order_by(Registration.id)
    ).all()
    for registration in affected:
        events = events_for(session, registration)
        end = initial_validity(program, registration.registered_on)
        registration.initial_valid_until = end
        for event in events:
            if event.kind == EventKind.REGISTERED:
                event.valid_until = end
            elif event.kind in (EventKind.RENEWED, EventKind.FOLLOW_UP):
                new_end = renewed_until(
                    rules_on(program, event.occurred_on), end, event.occurred_on
                )
                event.kind = EventKind.FOLLOW_UP if new_end is None else EventKind.RENEWED
                event.valid_until = new_end
                if new_end is not None and end is not None:
                    end = max(end, new_end)
        registration.valid_until = end
        keep_status(session, registration, today=today, events=events)
    session.flush()
    return len(affected)
