"""Queueing mail and sending the outbox.

`enqueue_mail` runs inside the caller's transaction. `send_outbox` is called after commit
(by the view, the reminder pass or the scheduler): it claims each message with a lease, so
two senders never send the same message, and records the outcome in its own transaction.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update

from supporters.db import DbSession
from supporters.reminders.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)


def enqueue_mail(
    session: DbSession,
    *,
    kind: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    recipient_user_id: int | None = None,
    domain: str = "supporters.invalid",
) -> OutboxMessage:
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        recipient_user_id=recipient_user_id,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        message_id=f"<{uuid.uuid4().hex}@{domain}>",
    )
    session.add(message)
    return message


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = formataddr(("ひきこもりサポーター", sender))
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


def _smtp_send(mail_url: str, sender: str, email: EmailMessage) -> None:
    parts = urlsplit(mail_url)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        with smtplib.SMTP_SSL(host, parts.port or 465, timeout=30) as smtp:
            if parts.username:
                smtp.login(parts.username, parts.password or "")
            smtp.send_message(email, from_addr=sender)
        return
    with smtplib.SMTP(host, parts.port or 25, timeout=30) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(parts.username, parts.password or "")
        smtp.send_message(email, from_addr=sender)


def _claim(session: DbSession, message_id: int, now: datetime) -> bool:
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
        )
        .values(lease_until=now + LEASE)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def send_outbox(
    session: DbSession, *, mail_url: str | None, sender: str, now: datetime, limit: int = 100
) -> int:
    """Send due messages; returns how many were sent (or kept, without SMTP). Commits."""
    due_ids = session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    session.commit()
    done = 0
    for message_id in due_ids:
        if not _claim(session, message_id, now):
            continue
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        if not mail_url:
            log.info("mail kept (no SMTP): to=%s subject=%s", message.recipient, message.subject)
            message.status = OutboxStatus.KEPT
            message.lease_until = None
            session.commit()
            done += 1
            continue
        try:
            _smtp_send(mail_url, sender, _build_email(message, sender))
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            _record_failure(message, f"{error.smtp_code} {error.smtp_error!r}", now, permanent)
        except (OSError, smtplib.SMTPException) as error:
            _record_failure(message, repr(error), now, permanent=False)
        else:
            message.status = OutboxStatus.SENT
            message.sent_at = now
            message.attempts += 1
            message.lease_until = None
            done += 1
        session.commit()
    return done


def _record_failure(message: OutboxMessage, error: str, now: datetime, permanent: bool) -> None:
    message.attempts += 1
    message.last_error = error[:500]
    message.lease_until = None
    if permanent or message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
        log.error("mail failed permanently: id=%s %s", message.id, error)
    else:
        message.next_attempt_at = now + retry_delay(message.attempts)
        log.warning("mail failed, will retry: id=%s %s", message.id, error)
