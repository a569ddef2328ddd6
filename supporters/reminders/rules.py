"""Deciding one reminder: the ledger row, the in-app notification and the mail, together.

Rules in each feature's jobs.py call `decide` for every (subject, recipient, occurrence)
they find due; `decide` makes sure each is decided once, however many passes run."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from supporters.accounts.models import Role, RoleGrant, User
from supporters.db import DbSession
from supporters.mail.models import ServiceState
from supporters.mail.services import enqueue_mail, queue_user_mail
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


@dataclass
class Message:
    """What to say; lazy strings are rendered in the recipient's language."""

    title: Any
    lines: list[Any]
    path: str  # a path on this site, e.g. /schedule
    # When the mail says nothing useful any more (the event has begun): if it could not be
    # sent by then (a mail outage), it is dropped with a note instead of sent late.
    useful_until: datetime | None = None


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
    ledger = ReminderLedger(
        rule=rule,
        subject_type=subject[0],
        subject_id=subject[1],
        recipient=recipient,
        occurrence=occurrence,
        decided_at=now,
    )
    session.add(ledger)
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    link = base + message.path
    if user is not None:
        if rule in OPTIONAL_RULES and rule in (user.reminder_opt_outs or []):
            ledger.note = "opted out"
            session.flush()
            return
        with force_locale(user.locale or "ja"):
            session.add(
                Notification(
                    user_id=user.id,
                    created_at=now,
                    title=str(message.title),
                    body="\n".join(str(line) for line in message.lines),
                    link=message.path,
                )
            )
        if user.email:
            mail = queue_user_mail(
                session,
                user=user,
                kind=rule,
                template="reminder",
                title=message.title,
                lines=message.lines,
                link=link,
                expires_at=message.useful_until,
            )
            session.flush()
            ledger.outbox_message_id = mail.id
        else:
            ledger.note = "no e-mail: in-app only"
    elif person is not None and person.email:
        from flask import render_template

        with force_locale("ja"):
            context = {
                "user": person_as_recipient(person),
                "title": message.title,
                "lines": message.lines,
                "link": link,
                "base_url": base,
            }
            mail = enqueue_mail(
                session,
                kind=rule,
                recipient=person.email,
                subject=render_template("mail/reminder.subject.txt", **context).strip(),
                body_text=render_template("mail/reminder.txt", **context),
                body_html=render_template("mail/reminder.html", **context),
                expires_at=message.useful_until,
            )
        session.flush()
        ledger.outbox_message_id = mail.id
    else:
        ledger.note = "no e-mail and no account: tell them in person"
    session.flush()


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
