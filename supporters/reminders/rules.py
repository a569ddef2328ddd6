"""Deciding reminders: the ledger row, the in-app notification and the mail, together.

Rules in each feature's jobs.py pass every (subject, recipient, occurrence) they find due
to `decide_many` (or one to `decide`), which makes sure each is decided once, however many
passes run."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import LazyString, force_locale
from sqlalchemy import delete, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from supporters.accounts.models import Role, RoleGrant, User
from supporters.db import Base, DbSession
from supporters.mail.links import AnswerLink, NotOwnSubject, new_link
from supporters.mail.models import OutboxMessage, ServiceState
from supporters.mail.services import new_mail, render_mail, user_mail
from supporters.people.models import Person
from supporters.reminders.models import Notification, ReminderFailure, ReminderLedger

log = logging.getLogger(__name__)

# Rules a user may switch off. Lapse notices and dispatch changes are essential.
OPTIONAL_RULES = {
    "follow_up_due": "Follow-up training reminders",
    "upcoming_dispatch": "Reminders before a dispatch",
    "training_session": "Reminders before a training session",
    "report_missing": "Activity report reminders",
    "follow_up_course": "New follow-up courses",
}


@dataclass(frozen=True)
class OneTap:
    """A one-tap answer link for the mail (supporters.mail.links): what it answers, until when
    (the event's start), and the words before it in the mail."""

    purpose: str
    subject_id: int
    expires_at: datetime
    label: Any


@dataclass
class Message:
    """What to say; lazy strings are rendered in the recipient's language."""

    title: Any
    lines: list[Any]
    path: str  # a path on this site, e.g. /schedule
    # When the mail says nothing useful any more (the event has begun): if it could not be
    # sent by then (a mail outage), it is dropped with a note instead of sent late.
    useful_until: datetime | None = None
    # A link that answers without logging in; only in the mail to a user's own address.
    answer: OneTap | None = None


def _already(
    session: DbSession, rule: str, subject: tuple[str, int], recipient: str, occurrence: str
) -> bool:
    return (
        session.scalar(
            select(ReminderLedger.id).where(
                ReminderLedger.rule == rule,
                ReminderLedger.subject_type == subject[0],
                ReminderLedger.subject_id == subject[1],
                ReminderLedger.recipient == recipient,
                ReminderLedger.occurrence == occurrence,
            )
        )
        is not None
    )


def decide(
    session: DbSession,
    *,
    rule: str,
    subject: tuple[str, int],
    occurrence: str,
    message: Message,
    now: datetime,
    user: User | None = None,
    person: Person | None = None,
) -> bool:
    """Record and send one reminder to a user (in-app and mail) or, for someone without an
    account, to the person's e-mail. Returns False if it was decided before.

    Each reminder is decided in a savepoint of its own: one that fails (whatever the cause)
    is rolled back alone and recorded as a `ReminderFailure` for the admin's mail page, and
    the rule goes on with the next one; the next pass tries it again (it is not in the
    ledger) and removes the failure once it succeeds."""
    recipient = f"user:{user.id}" if user is not None else f"person:{person.id if person else 0}"
    if _already(session, rule, subject, recipient, occurrence):
        return False
    key = FailureKey(rule, subject[0], subject[1], recipient, occurrence)
    try:
        with session.begin_nested():
            _decide(
                session,
                rule=rule,
                subject=subject,
                recipient=recipient,
                occurrence=occurrence,
                message=message,
                now=now,
                user=user,
                person=person,
            )
    except IntegrityError:
        return False  # another pass decided the same reminder at the same moment
    except Exception as error:
        log.warning("reminder %s failed: %s", key, error, exc_info=True)
        record_failure(session, key, error, now=now)
        return False
    clear_failure(session, key)
    return True


@dataclass(frozen=True)
class FailureKey:
    rule: str
    subject_type: str
    subject_id: int
    recipient: str = ""
    occurrence: str = ""


def _failure(session: DbSession, key: FailureKey) -> ReminderFailure | None:
    return session.scalar(
        select(ReminderFailure).where(
            ReminderFailure.rule == key.rule,
            ReminderFailure.subject_type == key.subject_type,
            ReminderFailure.subject_id == key.subject_id,
            ReminderFailure.recipient == key.recipient,
            ReminderFailure.occurrence == key.occurrence,
        )
    )


def record_failure(
    session: DbSession, key: FailureKey, error: BaseException, *, now: datetime
) -> ReminderFailure:
    """Note (or count again) a failed reminder or rule, in the caller's transaction."""
    text = f"{type(error).__name__}: {error}"
    row = _failure(session, key)
    if row is None:
        row = ReminderFailure(
            rule=key.rule,
            subject_type=key.subject_type,
            subject_id=key.subject_id,
            recipient=key.recipient,
            occurrence=key.occurrence,
            error=text,
            attempts=1,
            first_failed_at=now,
            last_failed_at=now,
        )
        session.add(row)
    else:
        row.error, row.attempts, row.last_failed_at = text, row.attempts + 1, now
    session.flush()
    return row


def clear_failure(session: DbSession, key: FailureKey) -> None:
    session.execute(
        delete(ReminderFailure).where(
            ReminderFailure.rule == key.rule,
            ReminderFailure.subject_type == key.subject_type,
            ReminderFailure.subject_id == key.subject_id,
            ReminderFailure.recipient == key.recipient,
            ReminderFailure.occurrence == key.occurrence,
        )
    )


def _decide(
    session: DbSession,
    *,
    rule: str,
    subject: tuple[str, int],
    recipient: str,
    occurrence: str,
    message: Message,
    now: datetime,
    user: User | None,
    person: Person | None,
) -> None:
    built = _build(
        session,
        Reminder(rule, subject, occurrence, message, user=user, person=person),
        recipient=recipient,
        now=now,
        base=str(current_app.config["BASE_URL"]).rstrip("/"),
    )
    session.add_all([row for row in (built.link, built.note, built.mail) if row is not None])
    session.add(built.ledger)
    if built.mail is not None:
        session.flush()
        built.ledger.outbox_message_id = built.mail.id
    session.flush()


@dataclass
class _Built:
    """The rows of one reminder, none of them added to the session yet: the ledger row, and
    the notification, outbox message and one-tap link where there are any. The caller adds
    them (`_decide`) or inserts a batch's rows at once (`_write_many`), and links the ledger
    row to the message."""

    ledger: ReminderLedger
    note: Notification | None = None
    mail: OutboxMessage | None = None
    link: AnswerLink | None = None


def _shown(text: Any) -> Any:
    """A lazy text drawn once, in the language in force, as plain text: the HTML template
    escapes it like any other value (a lazy string would pass its ``__html__`` through
    unescaped, and with it a course title or a venue as typed)."""
    if isinstance(text, LazyString):
        return str(text)
    return text


def _build(
    session: DbSession, item: Reminder, *, recipient: str, now: datetime, base: str
) -> _Built:
    """The rows of one reminder (`_Built`), in the recipient's language."""
    rule, subject, message, user, person = (
        item.rule,
        item.subject,
        item.message,
        item.user,
        item.person,
    )
    built = _Built(
        ReminderLedger(
            rule=rule,
            subject_type=subject[0],
            subject_id=subject[1],
            recipient=recipient,
            occurrence=item.occurrence,
            decided_at=now,
        )
    )
    link = base + message.path
    if user is not None:
        if rule in OPTIONAL_RULES and rule in (user.reminder_opt_outs or []):
            built.ledger.note = "opted out"
            return built
        with force_locale(user.locale or "ja"):
            title = _shown(message.title)
            lines = [_shown(line) for line in message.lines]
            built.note = Notification(
                user_id=user.id,
                created_at=now,
                title=str(title),
                body="\n".join(str(line) for line in lines),
                link=message.path,
            )
            if user.email:
                answer_link = None
                if message.answer is not None:
                    answer_link, built.link = _answer_link(session, message.answer, user, base, now)
                built.mail = user_mail(
                    user=user,
                    kind=rule,
                    template="reminder",
                    title=title,
                    lines=lines,
                    link=link,
                    answer_link=answer_link,
                    answer_label=_shown(message.answer.label) if message.answer else None,
                    expires_at=message.useful_until,
                )
            else:
                built.ledger.note = "no e-mail: in-app only"
    elif person is not None and person.email:
        with force_locale("ja"):
            subject_text, body_text, body_html = render_mail(
                "reminder",
                locale="ja",
                user=person_as_recipient(person),
                title=_shown(message.title),
                lines=[_shown(line) for line in message.lines],
                link=link,
                base_url=base,
                answer_link=None,  # a one-tap link is for a user's own mail only
                answer_label=None,
            )
        built.mail = new_mail(
            kind=rule,
            recipient=person.email,
            subject=subject_text,
            body_text=body_text,
            body_html=body_html,
            expires_at=message.useful_until,
        )
    else:
        built.ledger.note = "no e-mail and no account: tell them in person"
    return built


@dataclass
class Reminder:
    """One reminder a rule finds due, for `decide_many` (the arguments of `decide`)."""

    rule: str
    subject: tuple[str, int]
    occurrence: str
    message: Message
    user: User | None = None
    person: Person | None = None

    @property
    def recipient(self) -> str:
        if self.user is not None:
            return f"user:{self.user.id}"
        return f"person:{self.person.id if self.person else 0}"

    @property
    def key(self) -> FailureKey:
        return FailureKey(
            self.rule, self.subject[0], self.subject[1], self.recipient, self.occurrence
        )


# Subjects looked up in the ledger per statement, and rows written per batch: the statements
# of a pass grow with the number of rules (and thousands of reminders), not with each one.
BATCH = 2000


def _chunks(items: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _decided_keys(session: DbSession, items: list[Reminder]) -> set[FailureKey]:
    """The keys of `items` the ledger already has: one statement per `BATCH` subjects."""
    found: set[FailureKey] = set()
    by_type: dict[str, set[int]] = {}
    for item in items:
        by_type.setdefault(item.subject[0], set()).add(item.subject[1])
    rules = sorted({item.rule for item in items})
    for subject_type, ids in by_type.items():
        for chunk in _chunks(sorted(ids)):
            rows = session.execute(
                select(
                    ReminderLedger.rule,
                    ReminderLedger.subject_type,
                    ReminderLedger.subject_id,
                    ReminderLedger.recipient,
                    ReminderLedger.occurrence,
                ).where(
                    ReminderLedger.rule.in_(rules),
                    ReminderLedger.subject_type == subject_type,
                    ReminderLedger.subject_id.in_(chunk),
                )
            )
            found.update(FailureKey(*row) for row in rows)
    return found


def decide_many(session: DbSession, items: Iterable[Reminder], *, now: datetime) -> list[Reminder]:
    """`decide` for many reminders at once; returns those decided now, in their order.

    The ledger is read in batches, and the ledger rows, notifications and outbox messages
    are inserted in batches (`BATCH` at a time), so a rule sends a few statements however
    many reminders it decides. Each batch is written in a savepoint; if it fails (a
    reminder that cannot be built, or another pass that decided one of them at the same
    moment), it is rolled back and its reminders are decided one by one by `decide`, which
    records each failure on its own."""
    pending: list[Reminder] = []
    keys: set[FailureKey] = set()
    candidates = list(items)
    if not candidates:
        return []
    known = _decided_keys(session, candidates)
    for item in candidates:
        key = item.key
        if key not in known and key not in keys:
            keys.add(key)
            pending.append(item)
    decided: list[Reminder] = []
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    for chunk in _chunks(pending):
        try:
            with session.begin_nested():
                _write_many(session, chunk, now=now, base=base)
        except Exception:
            log.info("a batch of %d reminders failed: deciding them one by one", len(chunk))
            decided.extend(
                item
                for item in chunk
                if decide(
                    session,
                    rule=item.rule,
                    subject=item.subject,
                    occurrence=item.occurrence,
                    message=item.message,
                    now=now,
                    user=item.user,
                    person=item.person,
                )
            )
        else:
            decided.extend(chunk)
            _clear_failures(session, {item.key for item in chunk})
    return decided


# One INSERT per table and batch: the ORM would otherwise leave out None values and split the
# batch wherever the columns given differ (a message with an expiry, one without).
ALL_COLUMNS: dict[str, Any] = {"execution_options": {"render_nulls": True}}


def _write_many(session: DbSession, items: list[Reminder], *, now: datetime, base: str) -> None:
    """Insert the reminders' rows with one statement per table (executemany; the ORM would
    insert row by row on SQLite, which cannot return the ids of a batch in order). Nothing
    is added to the session on the way, so nothing is flushed twice."""
    built = [_build(session, item, recipient=item.recipient, now=now, base=base) for item in items]
    mails = [row.mail for row in built if row.mail is not None]
    if mails:
        session.execute(insert(OutboxMessage), [_values(mail) for mail in mails], **ALL_COLUMNS)
        ids: dict[str, int] = {}
        for chunk in _chunks([mail.message_id for mail in mails]):
            ids.update(
                (message_id, id_)
                for id_, message_id in session.execute(
                    select(OutboxMessage.id, OutboxMessage.message_id).where(
                        OutboxMessage.message_id.in_(chunk)
                    )
                )
            )
        for row in built:
            if row.mail is not None:
                row.ledger.outbox_message_id = ids[row.mail.message_id]
    for table, rows in (
        (AnswerLink, [row.link for row in built if row.link is not None]),
        (Notification, [row.note for row in built if row.note is not None]),
    ):
        if rows:
            session.execute(insert(table), [_values(r) for r in rows], **ALL_COLUMNS)
    session.execute(insert(ReminderLedger), [_values(row.ledger) for row in built], **ALL_COLUMNS)


def _values(row: Base) -> dict[str, Any]:
    """A new ORM object's column values, with the columns' Python defaults filled in."""
    mapper = sa_inspect(row).mapper
    values: dict[str, Any] = {}
    for attribute in mapper.column_attrs:
        column = attribute.columns[0]
        if column.primary_key:
            continue
        value = getattr(row, attribute.key)
        default = column.default
        if value is None and default is not None:
            if default.is_callable:
                value = default.arg(None)
            elif default.is_scalar:
                value = default.arg
        values[column.key] = value
    return values


def _clear_failures(session: DbSession, keys: set[FailureKey]) -> None:
    """`clear_failure` for many keys: the failures of their rules are few, read at once."""
    rules = sorted({key.rule for key in keys})
    rows = session.execute(
        select(
            ReminderFailure.id,
            ReminderFailure.rule,
            ReminderFailure.subject_type,
            ReminderFailure.subject_id,
            ReminderFailure.recipient,
            ReminderFailure.occurrence,
        ).where(ReminderFailure.rule.in_(rules))
    ).all()
    done = [row.id for row in rows if FailureKey(*row[1:]) in keys]
    if done:
        session.execute(delete(ReminderFailure).where(ReminderFailure.id.in_(done)))


def _answer_link(
    session: DbSession, answer: OneTap, user: User, base: str, now: datetime
) -> tuple[str | None, AnswerLink | None]:
    """A one-tap link for the mail and its row (not added); none where the subject is not (or
    no longer) the user's to answer (a registration withdrawn meanwhile): the mail still
    goes, with its usual link."""
    try:
        token, row = new_link(
            session,
            purpose=answer.purpose,
            subject_id=answer.subject_id,
            user_id=user.id,
            expires_at=answer.expires_at,
            now=now,
        )
    except NotOwnSubject:
        return None, None
    return f"{base}/a/{token}", row


def rule_state_name(rule_name: str) -> str:
    """The service_state row that remembers a rule's last successful pass."""
    return f"rule:{rule_name}"[:40]


def last_pass_of(session: DbSession, rule_name: str) -> datetime | None:
    """When `rule_name` (a rule function's name) last ran to the end in a pass, or None.
    An essential rule widens its catch-up window to reach back to it, so a scheduler that
    was away for weeks still sends what fell due meanwhile (late, with its date)."""
    return session.scalar(
        select(ServiceState.updated_at).where(ServiceState.name == rule_state_name(rule_name))
    )


@dataclass
class _Recipient:
    display_name: str


def person_as_recipient(person: Person) -> _Recipient:
    return _Recipient(display_name=person.name)


def _granted(session: DbSession, *conditions: Any) -> list[User]:
    holders = select(RoleGrant.user_id).where(RoleGrant.revoked_at.is_(None), *conditions)
    return list(
        session.scalars(
            select(User).where(User.id.in_(holders), User.active.is_(True)).order_by(User.id)
        )
    )


def coordinators_of(session: DbSession, program_id: int) -> list[User]:
    """The program's coordinators (not those of one of its organisations)."""
    return _granted(
        session,
        RoleGrant.role == Role.COORDINATOR,
        RoleGrant.program_id == program_id,
        RoleGrant.organisation_id.is_(None),
    )


def staff_by_municipality(session: DbSession, municipality_ids: set[int]) -> dict[int, list[User]]:
    """`staff_of` for many municipalities in one statement."""
    found: dict[int, list[User]] = {m: [] for m in municipality_ids}
    if not municipality_ids:
        return found
    rows = session.execute(
        select(RoleGrant.municipality_id, User)
        .join(User, User.id == RoleGrant.user_id)
        .where(
            RoleGrant.revoked_at.is_(None),
            RoleGrant.role == Role.MUNICIPAL_STAFF,
            RoleGrant.municipality_id.in_(municipality_ids),
            User.active.is_(True),
        )
        .order_by(User.id)
    )
    for municipality_id, user in rows:
        if municipality_id is not None and user not in found[municipality_id]:
            found[municipality_id].append(user)
    return found


def staff_of(session: DbSession, municipality_id: int) -> list[User]:
    return _granted(
        session,
        RoleGrant.role == Role.MUNICIPAL_STAFF,
        RoleGrant.municipality_id == municipality_id,
    )


def users_by_person(session: DbSession, person_ids: set[int]) -> dict[int, User]:
    if not person_ids:
        return {}
    return {
        u.person_id: u
        for u in session.scalars(
            select(User).where(User.person_id.in_(person_ids), User.active.is_(True))
        )
        if u.person_id is not None
    }
