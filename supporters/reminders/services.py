"""Queueing mail and sending the outbox.

`enqueue_mail` runs inside the caller's transaction, so a message exists if and only if the
change that causes it was committed. `send_outbox` runs after commit (in the view, the
reminder pass, the scheduler's `outbox.send` job or `reminders run-due`), in any number of
processes at once:

* **Claim**: one message at a time, in its own short transaction, by a single
  `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING` that sets a lease
  and counts the attempt. PostgreSQL skips rows another sender is claiming; SQLite
  serialises writers. A message is claimable only while it is pending, due and not leased,
  so two senders never hold the same message.
* **Send** with no transaction open (SMTP may be slow), over one SMTP connection per pass.
* **Record** the outcome in a second short transaction: `sent`; or, after a transient
  failure, back to pending with an exponential backoff; or `failed` (shown on the admin
  Mail page) after a permanent 5xx, a rejected recipient, an unusable address or
  `MAX_ATTEMPTS` attempts.
* **Crash**: a sender killed mid-send leaves its one message leased; when the lease
  expires the next pass sends it again. So a SIGKILL duplicates at most the message in
  flight and loses nothing; the others were either sent and marked, or never claimed.

Every transaction here starts with its write, which SQLite's busy timeout can wait for
(a read-then-write transaction could fail with SQLITE_BUSY_SNAPSHOT under WAL instead).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import unquote, urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.orm import aliased

from supporters.db import DbSession, now_utc
from supporters.reminders.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
SMTP_TIMEOUT = 30  # seconds per SMTP command; well inside LEASE, so a lease never expires mid-send
SENDER_NAME = "ひきこもりサポーター"


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
    """Queue one message in the caller's transaction (sent after commit, by whoever claims it)."""
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


@dataclass
class OutboxReport:
    """What one pass did: `sent` over SMTP, `kept` (no SMTP configured), `retrying`
    (transient failure, back to pending with a backoff), `failed` (permanent)."""

    sent: int = 0
    kept: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.kept


class _ServerUnavailable(Exception):
    """The SMTP server (not the message) is the problem: stop this pass, retry later."""


class _PermanentFailure(Exception):
    """This message can never be delivered as it is (5xx, rejected or unusable address)."""


class _TransientFailure(Exception):
    """This message could not be delivered now (4xx); try it again after a backoff."""


class _SmtpConnection:
    """One SMTP connection for a whole pass, opened on first use, dropped after an error."""

    def __init__(self, mail_url: str, timeout: float = SMTP_TIMEOUT) -> None:
        self.url = urlsplit(mail_url)
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        url = self.url
        host = url.hostname or "localhost"
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                host, url.port or 465, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, url.port or 25, timeout=self.timeout)
        try:
            if url.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, email: EmailMessage, *, sender: str, recipient: str) -> None:
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except (OSError, smtplib.SMTPException) as error:
                raise _ServerUnavailable(_describe(error)) from error
        try:
            self._smtp.send_message(email, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            codes = [code for code, _ in error.recipients.values()]
            text = "; ".join(
                f"{address}: {code} {_text(reply)}"
                for address, (code, reply) in error.recipients.items()
            )
            if codes and all(500 <= code < 600 for code in codes):
                raise _PermanentFailure(f"recipient refused: {text}") from error
            raise _TransientFailure(f"recipient deferred: {text}") from error
        except smtplib.SMTPSenderRefused as error:
            # Our own From address is refused: a configuration problem for every message.
            self.close()
            raise _ServerUnavailable(f"sender refused: {_describe(error)}") from error
        except smtplib.SMTPNotSupportedError as error:
            # e.g. a non-ASCII address and a server without SMTPUTF8: retrying cannot help.
            self.close()
            raise _PermanentFailure(_describe(error)) from error
        except smtplib.SMTPResponseException as error:
            self.close()
            if error.smtp_code == 421:  # service not available, closing the channel
                raise _ServerUnavailable(_describe(error)) from error
            if 500 <= error.smtp_code < 600:
                raise _PermanentFailure(_describe(error)) from error
            raise _TransientFailure(_describe(error)) from error
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise _ServerUnavailable(_describe(error)) from error

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class _Claimed:
    """A message as claimed: what sending needs, and its lease (the fencing token)."""

    id: int
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    message_id: str
    created_at: datetime
    attempts: int
    lease_until: datetime


_CLAIMED_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.recipient,
    OutboxMessage.subject,
    OutboxMessage.body_text,
    OutboxMessage.body_html,
    OutboxMessage.message_id,
    OutboxMessage.created_at,
    OutboxMessage.attempts,
    OutboxMessage.lease_until,
)


def _claim_next(session: DbSession, clock: datetime) -> _Claimed | None:
    """Lease the oldest due message and count the attempt; None when nothing is due. Commits."""
    claimable = (
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.next_attempt_at <= clock,
        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < clock),
        OutboxMessage.attempts < MAX_ATTEMPTS,
    )
    candidate = aliased(OutboxMessage)
    next_id = (
        select(candidate.id)
        .where(
            candidate.status == OutboxStatus.PENDING,
            candidate.next_attempt_at <= clock,
            or_(candidate.lease_until.is_(None), candidate.lease_until < clock),
            candidate.attempts < MAX_ATTEMPTS,
        )
        .order_by(candidate.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer at a time
        .scalar_subquery()
    )
    # The conditions are repeated on the outer UPDATE: PostgreSQL re-checks them on the
    # row's newest version if it had to wait for another transaction.
    row = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == next_id, *claimable)
        .values(lease_until=clock + LEASE, attempts=OutboxMessage.attempts + 1)
        .returning(*_CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    ).first()
    session.commit()
    return None if row is None else _Claimed(*row)


def _anything_due(session: DbSession, clock: datetime) -> bool:
    """A cheap read first, so an idle pass (every minute, every web request that sends
    mail) takes no write lock at all."""
    found = session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= clock,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < clock),
        )
        .limit(1)
    )
    session.commit()
    return found is not None


def _fail_abandoned(session: DbSession, clock: datetime) -> None:
    """A message whose last allowed attempt was interrupted (sender killed) is failed."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.attempts >= MAX_ATTEMPTS,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < clock),
        )
        .values(
            status=OutboxStatus.FAILED,
            lease_until=None,
            last_error="the sender stopped during the last attempt",
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        log.error("mail failed: %d message(s) interrupted on their last attempt", count)


def _build_email(claimed: _Claimed, sender: str) -> EmailMessage:
    """The MIME message: text (and HTML) in UTF-8, base64 when not ASCII, so Japanese
    survives any relay; the Message-ID is the stored one, stable across retries."""
    email = EmailMessage()
    email["From"] = formataddr((SENDER_NAME, sender))
    email["To"] = claimed.recipient
    email["Subject"] = claimed.subject
    email["Message-ID"] = claimed.message_id
    email["Date"] = format_datetime(claimed.created_at)
    email.set_content(claimed.body_text, cte=_transfer_encoding(claimed.body_text))
    if claimed.body_html:
        email.add_alternative(
            claimed.body_html, subtype="html", cte=_transfer_encoding(claimed.body_html)
        )
    return email


def _transfer_encoding(text: str) -> str | None:
    return None if text.isascii() else "base64"


def _record_sent(session: DbSession, message_id: int, clock: datetime) -> None:
    # The mail has left: mark it even if (unexpectedly) our lease was taken over meanwhile.
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENT, sent_at=clock, lease_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _record_failure(
    session: DbSession,
    claimed: _Claimed,
    error: str,
    clock: datetime,
    *,
    permanent: bool,
) -> bool:
    """Back to pending after a backoff, or failed; True if it is failed now. Only the
    holder of the lease records a failure (the lease time is the fencing token)."""
    attempts = claimed.attempts
    failed = permanent or attempts >= MAX_ATTEMPTS
    values: dict[str, object] = {"lease_until": None, "last_error": error[:500]}
    if failed:
        values["status"] = OutboxStatus.FAILED
    else:
        values["next_attempt_at"] = clock + retry_delay(attempts)
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claimed.id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.lease_until == claimed.lease_until,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if failed:
        log.error("mail failed permanently: id=%s %s", claimed.id, error)
    else:
        log.warning(
            "mail not sent, retry in %s: id=%s %s", retry_delay(attempts), claimed.id, error
        )
    return failed


def send_outbox_report(
    session: DbSession, *, mail_url: str | None, sender: str, now: datetime, limit: int = 100
) -> OutboxReport:
    """Send (or, without SMTP, keep) up to `limit` due messages. Commits.

    `now` may be moved forward (tests, `reminders run-due --now`) but never behind the real
    clock: each claim uses the later of `now` and the real time, so a lease always ends
    LEASE after the claim in real time, however long the pass, and a pass run with an old
    `now` cannot take a message from a live sender.
    """
    clock = max(now, now_utc())
    report = OutboxReport()
    if not _anything_due(session, clock):
        return report
    _fail_abandoned(session, clock)
    smtp = _SmtpConnection(mail_url) if mail_url else None
    try:
        for _ in range(limit):
            clock = max(now, now_utc())
            claimed = _claim_next(session, clock)
            if claimed is None:
                break
            if smtp is None:
                log.info(
                    "mail kept (no SMTP): to=%s subject=%s", claimed.recipient, claimed.subject
                )
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == claimed.id)
                    .values(status=OutboxStatus.KEPT, lease_until=None)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
                report.kept += 1
                continue
            try:
                if not claimed.recipient.strip():
                    raise _PermanentFailure("no e-mail address")
                try:
                    email = _build_email(claimed, sender)
                except (ValueError, TypeError, IndexError, UnicodeError) as error:
                    raise _PermanentFailure(f"unusable message: {_describe(error)}") from error
                smtp.send(email, sender=sender, recipient=claimed.recipient)
            except _PermanentFailure as error:
                _record_failure(session, claimed, str(error), clock, permanent=True)
                report.failed += 1
            except _TransientFailure as error:
                failed = _record_failure(session, claimed, str(error), clock, permanent=False)
                report.failed += failed
                report.retrying += not failed
            except _ServerUnavailable as error:
                failed = _record_failure(session, claimed, str(error), clock, permanent=False)
                report.failed += failed
                report.retrying += not failed
                break  # the other messages would fail the same way: leave them unclaimed
            else:
                _record_sent(session, claimed.id, clock)
                report.sent += 1
    finally:
        if smtp is not None:
            smtp.close()
    return report


def send_outbox(
    session: DbSession, *, mail_url: str | None, sender: str, now: datetime, limit: int = 100
) -> int:
    """Send due messages; returns how many were sent (or kept, without SMTP). Commits."""
    return send_outbox_report(session, mail_url=mail_url, sender=sender, now=now, limit=limit).done
