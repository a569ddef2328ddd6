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
  answer about the recipient (a 4xx to RCPT), back to pending with an exponential backoff;
  or `failed` (shown on the admin Mail page, which can re-queue it) after a permanent 5xx,
  a rejected recipient, an unusable address or `MAX_ATTEMPTS` attempts.
* **Transport down**: a server that cannot be reached (connection refused or lost, our
  sender refused) or cannot take mail now (a 4xx such as 421, 451 or 452 once the
  recipient was accepted) is the transport's failure, not the message's. The claimed
  message gets its attempt back and the whole queue waits (`service_state` row `smtp`:
  1, 2, 4 ... minutes, at most `TRANSPORT_MAX_DELAY`), however long the outage; when the
  server answers again everything due is sent, once.
* **Expired**: a message with `expires_at` (a reminder about an event that has begun) that
  could not be sent in time is `dropped` with a note, on the message and its ledger row,
  instead of sent late.
* **Crash**: a sender killed mid-send leaves its one message leased; when the lease
  expires the next pass sends it again. So a SIGKILL duplicates at most the message in
  flight and loses nothing; the others were either sent and marked, or never claimed.

Every transaction here starts with its write, which SQLite's busy timeout can wait for
(a read-then-write transaction could fail with SQLITE_BUSY_SNAPSHOT under WAL instead).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import LazyString, force_locale, get_translations
from jinja2 import meta, pass_context
from markupsafe import Markup
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import aliased

from supporters.db import DbSession, now_utc
from supporters.mail.models import OutboxMessage, OutboxStatus, ServiceState
from supporters.mail.smtp import (
    PermanentFailure,
    ServerUnavailable,
    SmtpConnection,
    TransientFailure,
    describe,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
SENDER_NAME = "ひきこもりサポーター"
TRANSPORT = "smtp"  # the service_state row of the mail transport
TRANSPORT_MAX_DELAY = timedelta(minutes=30)
DROPPED_NOTE = "dropped: no longer useful when the mail could be sent"

# Called with (session, message ids) in the transaction that drops expired pending messages,
# so a higher feature can note it on its own records (reminders: the ledger rows).
ON_DROPPED: list[Callable[[DbSession, list[int]], None]] = []


class Recipient(Protocol):
    """Whom `queue_user_mail` writes to: an account (`accounts.models.User`)."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...

    @property
    def locale(self) -> str | None: ...

    @property
    def display_name(self) -> str: ...  # the templates greet them by it


def new_mail(
    *,
    kind: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    recipient_user_id: int | None = None,
    domain: str = "supporters.invalid",
    expires_at: datetime | None = None,
) -> OutboxMessage:
    """An outbox message, not yet added to a session (`enqueue_mail` adds it; the reminder
    pass inserts many at once)."""
    return OutboxMessage(
        expires_at=expires_at,
        kind=kind,
        recipient=recipient,
        recipient_user_id=recipient_user_id,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        message_id=f"<{uuid.uuid4().hex}@{domain}>",
    )


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
    expires_at: datetime | None = None,
) -> OutboxMessage:
    """Queue one message in the caller's transaction (sent after commit, by whoever claims it).
    With `expires_at`, a message still unsent at that moment is dropped instead of sent late."""
    message = new_mail(
        kind=kind,
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        recipient_user_id=recipient_user_id,
        domain=domain,
        expires_at=expires_at,
    )
    session.add(message)
    return message


# template name -> the names it reads that are not Jinja globals (found once per template).
_TEMPLATE_NAMES: dict[str, frozenset[str]] = {}


def _render(name: str, context: dict[str, Any]) -> str:
    """`flask.render_template`, without the app's context processors when the template reads
    nothing they add (a mail template reads what it is given): the same text, for a fraction
    of the cost (the reminder pass renders three templates a reminder). A template that
    reads anything else is rendered by Flask as before."""
    env = current_app.jinja_env
    names = _TEMPLATE_NAMES.get(name)
    if names is None:
        source = env.loader.get_source(env, name)[0] if env.loader else ""
        names = frozenset(meta.find_undeclared_variables(env.parse(source))) - set(env.globals)
        _TEMPLATE_NAMES[name] = names
    if not names <= context.keys():
        return render_template(name, **context)
    return env.get_template(name).render(context)


def _gettext_for(translations: Any) -> Any:
    """The templates' ``_``/``gettext`` bound to one catalogue, as Flask-Babel installs it in
    Jinja (newstyle: escaped in HTML, always %-formatted) without looking the locale up again
    at every call."""

    @pass_context
    def gettext(context: Any, string: str, **variables: Any) -> Any:
        text = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 (as Jinja's newstyle gettext: the catalogue's text)
        return text % variables  # Markup escapes the values

    return gettext


def _plain(value: Any) -> Any:
    """A lazy text as the plain text it says now (in a list too): the HTML template then
    escapes it. Left lazy, its ``__html__`` would put what it was formatted with (a course
    title, a venue, a name, as typed) into the HTML unescaped."""
    if isinstance(value, LazyString):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def render_mail(template: str, *, locale: str, **context: Any) -> tuple[str, str, str]:
    """templates/mail/<template>.{subject.txt,txt,html} in `locale`: subject, text, HTML."""
    with force_locale(locale):
        context = {
            "gettext": _gettext_for(get_translations()),
            **{name: _plain(value) for name, value in context.items()},
        }
        subject = _render(f"mail/{template}.subject.txt", context).strip()
        body_text = _render(f"mail/{template}.txt", context)
        body_html = _render(f"mail/{template}.html", context)
    return subject, body_text, body_html


def user_mail(
    *, user: Recipient, kind: str, template: str, expires_at: datetime | None = None, **context: Any
) -> OutboxMessage:
    """`queue_user_mail`'s message, not yet added to a session."""
    base_url = current_app.config["BASE_URL"]
    subject, body_text, body_html = render_mail(
        template, locale=user.locale or "ja", **{"user": user, "base_url": base_url, **context}
    )
    return new_mail(
        kind=kind,
        recipient=user.email,
        recipient_user_id=user.id,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        domain=urlsplit(str(base_url)).hostname or "supporters.invalid",
        expires_at=expires_at,
    )


def queue_user_mail(
    session: DbSession,
    *,
    user: Recipient,
    kind: str,
    template: str,
    expires_at: datetime | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render templates/mail/<template>.{subject,txt,html} in the user's language and queue it."""
    message = user_mail(user=user, kind=kind, template=template, expires_at=expires_at, **context)
    session.add(message)
    return message


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def transport_delay(failures: int) -> timedelta:
    """How long the whole queue waits after `failures` passes in a row could not reach the
    server: 1, 2, 4 ... minutes, at most `TRANSPORT_MAX_DELAY`."""
    return min(timedelta(minutes=2 ** min(max(failures - 1, 0), 10)), TRANSPORT_MAX_DELAY)


@dataclass
class OutboxReport:
    """What one pass did: `sent` over SMTP, `kept` (no SMTP configured), `retrying`
    (transient failure, back to pending with a backoff), `failed` (permanent), `dropped`
    (expired before it could be sent); `transport_down`: the server could not be reached
    (now or in an earlier pass whose wait is not over), nothing was spent."""

    sent: int = 0
    kept: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0
    transport_down: bool = False

    @property
    def done(self) -> int:
        return self.sent + self.kept


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


def _claimable(table: Any, clock: datetime) -> tuple[ColumnElement[bool], ...]:
    """A message that may be claimed at `clock`: pending, due, not leased, attempts left and
    still useful."""
    return (
        table.status == OutboxStatus.PENDING,
        table.next_attempt_at <= clock,
        or_(table.lease_until.is_(None), table.lease_until < clock),
        table.attempts < MAX_ATTEMPTS,
        or_(table.expires_at.is_(None), table.expires_at > clock),
    )


def _oldest_claimable(clock: datetime, limit: int) -> Any:
    """The ids of the `limit` oldest claimable messages, locked (rows another sender is
    claiming are skipped on PostgreSQL; SQLite has one writer at a time)."""
    candidate = aliased(OutboxMessage)
    return (
        select(candidate.id)
        .where(*_claimable(candidate, clock))
        .order_by(candidate.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _claim_next(session: DbSession, clock: datetime) -> _Claimed | None:
    """Lease the oldest due message and count the attempt; None when nothing is due. Commits."""
    # The conditions are repeated on the outer UPDATE: PostgreSQL re-checks them on the
    # row's newest version if it had to wait for another transaction.
    row = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == _oldest_claimable(clock, 1).scalar_subquery(),
            *_claimable(OutboxMessage, clock),
        )
        .values(lease_until=clock + LEASE, attempts=OutboxMessage.attempts + 1)
        .returning(*_CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    ).first()
    session.commit()
    return None if row is None else _Claimed(*row)


def _keep_due(session: DbSession, clock: datetime, limit: int) -> int:
    """Without SMTP: the `limit` oldest due messages are kept (for the admin's mail view),
    as claiming and keeping them one by one would, with one statement. Commits."""
    # Chosen once, in a CTE: as an IN (subquery), PostgreSQL may run the subquery again for
    # each row, finding the next unlocked rows each time, and keep more than `limit`.
    batch = _oldest_claimable(clock, limit).cte("batch").prefix_with("MATERIALIZED")
    rows = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(select(batch.c.id)), *_claimable(OutboxMessage, clock))
        .values(status=OutboxStatus.KEPT, lease_until=None, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.recipient, OutboxMessage.subject)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    for recipient, subject in rows:
        log.info("mail kept (no SMTP): to=%s subject=%s", recipient, subject)
    return len(rows)


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


def _drop_expired(session: DbSession, clock: datetime) -> int:
    """Pending messages past their `expires_at` are dropped, and `ON_DROPPED` told (the reminder
    ledger rows say so)."""
    dropped = list(
        session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.expires_at <= clock,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < clock),
            )
            .values(status=OutboxStatus.DROPPED, lease_until=None, last_error=DROPPED_NOTE)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
    )
    if dropped:
        for note_dropped in ON_DROPPED:
            note_dropped(session, dropped)
        log.warning("mail dropped: %d message(s) no longer useful", len(dropped))
    session.commit()
    return len(dropped)


def transport_state(session: DbSession) -> ServiceState | None:
    """The mail transport's row (None until the server was first found unreachable)."""
    return session.get(ServiceState, TRANSPORT)


def _transport_waiting(session: DbSession, clock: datetime, *, probe: bool) -> bool:
    """True while the whole queue waits for an unreachable server; without `probe` (a web
    request sending its mail after commit), as long as the server is known to be down, so
    no user waits for a connection timeout: the scheduler's passes find it back."""
    row = session.execute(
        select(ServiceState.next_try_at, ServiceState.failures).where(
            ServiceState.name == TRANSPORT
        )
    ).first()
    session.commit()
    if row is None:
        return False
    next_try_at, failures = row
    if not probe and failures:
        return True
    return next_try_at is not None and next_try_at > clock


def _ensure_service_row(session: DbSession, name: str, clock: datetime) -> None:
    """Insert the service's row if it is missing; harmless when another process races us."""
    dialect = session.get_bind().dialect.name
    insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(ServiceState)
        .values(name=name, updated_at=clock, failures=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )


def record_heartbeat(session: DbSession, name: str, *, now: datetime, detail: str) -> None:
    """A background service says it is alive (`/healthz` shows the age). Commits."""
    _ensure_service_row(session, name, now)
    session.execute(
        update(ServiceState)
        .where(ServiceState.name == name)
        .values(updated_at=now, detail=detail[:500])
        .execution_options(synchronize_session=False)
    )
    session.commit()


def record_progress(session: DbSession, name: str, *, now: datetime) -> None:
    """Remember that `name` ran to the end at `now` (never moves back). Commits."""
    _ensure_service_row(session, name, now)
    session.execute(
        update(ServiceState)
        .where(ServiceState.name == name, ServiceState.updated_at < now)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _still_claimed(claimed: _Claimed) -> list[ColumnElement[bool]]:
    """The message is still pending under this worker's lease (no other worker took it)."""
    return [
        OutboxMessage.id == claimed.id,
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.lease_until == claimed.lease_until,
    ]


def _record_unavailable(
    session: DbSession, claimed: _Claimed, error: str, clock: datetime
) -> timedelta:
    """The server, not the message, failed: give the message its attempt back (it stays due)
    and make the whole queue wait. Returns the wait."""
    session.execute(
        update(OutboxMessage)
        .where(*_still_claimed(claimed))
        .values(
            lease_until=None,
            attempts=OutboxMessage.attempts - 1,
            last_error=f"server unreachable: {error}"[:500],
        )
        .execution_options(synchronize_session=False)
    )
    _ensure_service_row(session, TRANSPORT, clock)
    state = session.get(ServiceState, TRANSPORT, populate_existing=True)
    assert state is not None
    failures = state.failures + 1
    wait = transport_delay(failures)
    state.failures = failures
    state.since = state.since or clock
    state.next_try_at = clock + wait
    state.updated_at = clock
    state.detail = error[:500]
    session.commit()
    log.warning(
        "mail server unreachable (%d pass(es) in a row), the queue waits %s: %s",
        failures,
        wait,
        error,
    )
    return wait


def _record_transport_up(session: DbSession, clock: datetime) -> None:
    result = session.execute(
        update(ServiceState)
        .where(ServiceState.name == TRANSPORT, ServiceState.failures > 0)
        .values(failures=0, since=None, next_try_at=None, detail=None, updated_at=clock)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if int(result.rowcount):  # type: ignore[attr-defined]
        log.warning("mail server reachable again")


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
        .where(*_still_claimed(claimed))
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
    session: DbSession,
    *,
    mail_url: str | None,
    sender: str,
    now: datetime,
    limit: int = 100,
    guard: Callable[[], None] | None = None,
    probe_transport: bool = True,
) -> OutboxReport:
    """Send (or, without SMTP, keep) up to `limit` due messages. Commits.

    `now` may be moved forward (tests, `reminders run-due --now`) but never behind the real
    clock: each claim uses the later of `now` and the real time, so a lease always ends
    LEASE after the claim in real time, however long the pass, and a pass run with an old
    `now` cannot take a message from a live sender.

    `guard` (the scheduler's lock check) runs before each message is claimed: when it
    raises, the pass stops at once, with nothing claimed. With `probe_transport=False` (web
    requests) nothing is tried while the mail server is known to be down.
    """
    clock = max(now, now_utc())
    report = OutboxReport()
    if not _anything_due(session, clock):
        return report
    _fail_abandoned(session, clock)
    report.dropped = _drop_expired(session, clock)
    if mail_url and _transport_waiting(session, clock, probe=probe_transport):
        report.transport_down = True
        return report
    if not mail_url:
        if guard is not None:
            guard()
        report.kept = _keep_due(session, max(now, now_utc()), limit)
        return report
    smtp = SmtpConnection(mail_url)
    reached = False
    try:
        for _ in range(limit):
            if guard is not None:
                guard()
            clock = max(now, now_utc())
            claimed = _claim_next(session, clock)
            if claimed is None:
                break
            try:
                if not claimed.recipient.strip():
                    raise PermanentFailure("no e-mail address")
                try:
                    email = _build_email(claimed, sender)
                except (ValueError, TypeError, IndexError, UnicodeError) as error:
                    raise PermanentFailure(f"unusable message: {describe(error)}") from error
                smtp.send(email, sender=sender, recipient=claimed.recipient)
            except PermanentFailure as error:
                _record_failure(session, claimed, str(error), clock, permanent=True)
                report.failed += 1
            except TransientFailure as error:
                failed = _record_failure(session, claimed, str(error), clock, permanent=False)
                report.failed += failed
                report.retrying += not failed
            except ServerUnavailable as error:
                _record_unavailable(session, claimed, str(error), clock)
                report.transport_down = True
                break  # the other messages would fail the same way: leave them unclaimed
            else:
                _record_sent(session, claimed.id, clock)
                report.sent += 1
                if not reached:
                    reached = True
                    _record_transport_up(session, clock)
    finally:
        smtp.close()
    return report


def send_outbox(
    session: DbSession,
    *,
    mail_url: str | None,
    sender: str,
    now: datetime,
    limit: int = 100,
    probe_transport: bool = True,
) -> int:
    """Send due messages; returns how many were sent (or kept, without SMTP). Commits."""
    return send_outbox_report(
        session,
        mail_url=mail_url,
        sender=sender,
        now=now,
        limit=limit,
        probe_transport=probe_transport,
    ).done
