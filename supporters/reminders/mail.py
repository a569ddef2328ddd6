"""Mail to users: rendered in the recipient's language and queued in the outbox. Requests only
queue; the scheduler's `outbox.send` job sends, so no web worker waits on a mail server and an
answer's time does not tell whether mail was queued."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale

from supporters.accounts.models import User
from supporters.db import DbSession
from supporters.reminders.models import OutboxMessage
from supporters.reminders.services import enqueue_mail

log = logging.getLogger(__name__)


def queue_user_mail(
    session: DbSession,
    *,
    user: User,
    kind: str,
    template: str,
    expires_at: datetime | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render templates/mail/<template>.{subject,txt,html} in the user's language and queue it."""
    with force_locale(user.locale or "ja"):
        context = {"user": user, "base_url": current_app.config["BASE_URL"], **context}
        subject = render_template(f"mail/{template}.subject.txt", **context).strip()
        body_text = render_template(f"mail/{template}.txt", **context)
        body_html = render_template(f"mail/{template}.html", **context)
    return enqueue_mail(
        session,
        kind=kind,
        recipient=user.email,
        recipient_user_id=user.id,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        domain=urlsplit(str(current_app.config["BASE_URL"])).hostname or "supporters.invalid",
        expires_at=expires_at,
    )
