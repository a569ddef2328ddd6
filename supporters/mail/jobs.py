"""Sending the outbox as a job: the scheduler's `outbox.send`, and the end of every reminder
pass (`reminders.jobs.run_due`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from supporters.db import DbSession
from supporters.mail.services import send_outbox_report

OUTBOX_BATCH = 500  # messages one pass sends at most; the rest wait for the next pass


def mail_settings(app_config: Mapping[str, Any]) -> tuple[str | None, str]:
    """The SMTP URL (None: keep mail for the admin's mail view) and the sender address."""
    return app_config.get("MAIL_URL") or None, str(app_config.get("MAIL_FROM") or "")


def send_due_mail(
    session: DbSession,
    *,
    now: datetime,
    app_config: Mapping[str, Any],
    guard: Callable[[], None] | None = None,
) -> int:
    """Send (or keep) what is due in the outbox; returns how many left. Commits."""
    mail_url, sender = mail_settings(app_config)
    return send_outbox_report(
        session, mail_url=mail_url, sender=sender, now=now, limit=OUTBOX_BATCH, guard=guard
    ).done
