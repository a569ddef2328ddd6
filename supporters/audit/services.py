from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from sqlalchemy.dialects import postgresql, sqlite

from supporters.audit.models import AuditCounter, AuditEvent
from supporters.db import DbSession


class _HasId(Protocol):
    id: int


def record_audit(
    session: DbSession,
    actor: _HasId | None,
    action: str,
    target: object | None = None,
    *,
    program_id: int | None = None,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction, so it lands or fails with the change."""
    target_type = getattr(target, "__tablename__", None) if target is not None else None
    event = AuditEvent(
        actor_user_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=getattr(target, "id", None),
        program_id=program_id,
        ip_address=ip_address,
        detail=detail,
    )
    session.add(event)
    return event


def count_audit(
    session: DbSession,
    action: str,
    target: object | None = None,
    *,
    day: date,
    outcome: str = "",
    program_id: int | None = None,
) -> None:
    """Count one anonymous event in the day's counter row (one atomic upsert), in the
    caller's transaction. Never records who asked."""
    values = {
        "day": day,
        "action": action,
        "target_type": getattr(target, "__tablename__", "") if target is not None else "",
        "target_id": getattr(target, "id", None) or 0,
        "outcome": outcome,
        "program_id": program_id,
        "count": 1,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(AuditCounter).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "action", "target_type", "target_id", "outcome"],
        set_={"count": AuditCounter.count + 1},
    )
    session.execute(statement)
