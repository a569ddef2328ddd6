from __future__ import annotations

from typing import Any, Protocol

from supporters.audit.models import AuditEvent
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
