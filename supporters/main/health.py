"""What `/healthz` reports: can the database be written, are the migrations at head, when
did the scheduler last beat, how old is the oldest mail waiting. A load balancer acts on the
status code (503 when the database cannot write or the schema is behind); a monitor reads
the JSON."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask

from supporters.db import DbSession
from supporters.mail.models import OutboxMessage, OutboxStatus, ServiceState
from supporters.mail.services import TRANSPORT

SCHEDULER = "scheduler"  # the service_state row the scheduler's heartbeat updates
SCHEDULER_SILENT_AFTER = 120.0  # seconds without a heartbeat: warn (it beats every 5 s)
MAIL_WAITING_AFTER = 1800.0  # seconds the oldest pending mail may wait before a warning
_HEADS: dict[str, set[str]] = {}


def migration_heads(app: Flask) -> set[str]:
    """The revisions the code expects (read once per process)."""
    directory = str(app.extensions["migrate"].directory)
    if directory not in _HEADS:
        config = Config()
        config.set_main_option("script_location", str(Path(directory)))
        _HEADS[directory] = set(ScriptDirectory.from_config(config).get_heads())
    return _HEADS[directory]


def _seconds(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else round((now - since).total_seconds(), 1)


def check_health(session: DbSession, *, app: Flask, now: datetime) -> tuple[dict[str, Any], bool]:
    """(report, healthy). Every check runs in a transaction that is rolled back."""
    report: dict[str, Any] = {"status": "ok"}
    healthy = True
    try:
        session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        session.rollback()
        report.update(status="error", database="unreachable", error=type(error).__name__)
        return report, False
    try:
        session.execute(
            sa.insert(ServiceState).values(
                name=f"healthz:{uuid.uuid4().hex[:24]}", updated_at=now, failures=0
            )
        )
        report["database"] = "ok"
    except sa.exc.SQLAlchemyError as error:
        report["database"] = "read-only"
        report["error"] = str(getattr(error, "orig", error)).splitlines()[0][:200]
        healthy = False
    finally:
        session.rollback()

    try:
        current = set(session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except sa.exc.SQLAlchemyError:
        session.rollback()
        current = set()
    heads = migration_heads(app)
    report["migrations"] = {
        "state": "ok" if current == heads else "behind",
        "database": sorted(current),
        "code": sorted(heads),
    }
    if current != heads:
        healthy = False

    try:
        states = {row.name: row for row in session.scalars(sa.select(ServiceState))}
        oldest, pending = session.execute(
            sa.select(sa.func.min(OutboxMessage.created_at), sa.func.count()).where(
                OutboxMessage.status == OutboxStatus.PENDING
            )
        ).one()
        failed = session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.FAILED)
        )
    except sa.exc.SQLAlchemyError:
        session.rollback()
        report["status"] = "error"
        return report, False
    session.rollback()
    beat = states.get(SCHEDULER)
    report["scheduler"] = {
        "last_heartbeat": beat.updated_at.isoformat() if beat else None,
        "age_seconds": _seconds(beat.updated_at if beat else None, now),
        "detail": beat.detail if beat else None,
    }
    transport = states.get(TRANSPORT)
    report["outbox"] = {
        "pending": int(pending or 0),
        "oldest_pending_age_seconds": _seconds(oldest, now),
        "failed": int(failed or 0),
        "transport": "unreachable" if transport and transport.failures else "ok",
        "unreachable_since": (
            transport.since.isoformat() if transport and transport.since else None
        ),
    }
    # What a monitor should act on but a load balancer should not (the web still works).
    warnings = []
    age = report["scheduler"]["age_seconds"]
    if age is None or age > SCHEDULER_SILENT_AFTER:
        warnings.append("no scheduler heartbeat: reminders and mail are not processed")
    waiting = report["outbox"]["oldest_pending_age_seconds"]
    if waiting is not None and waiting > MAIL_WAITING_AFTER:
        warnings.append("mail has been waiting for more than 30 minutes")
    if report["outbox"]["transport"] != "ok":
        warnings.append("the mail server cannot be reached: mail waits")
    if report["outbox"]["failed"]:
        warnings.append("some mail failed: see the admin Mail page")
    report["warnings"] = warnings
    if not healthy:
        report["status"] = "error"
    return report, healthy
