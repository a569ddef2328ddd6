"""The reminder pass, as a job (run by `supporters.scheduler` and `reminders run-due`).

A pass (`run_due`) calls every registered rule, then sends the outbox. Jobs are idempotent:
running a pass twice, or two passes at once (`reminders run-due` by hand beside the
scheduler), decides each reminder once and sends each message once.

How a rule plugs in
-------------------
A rule is a plain function ``rule(session, now) -> int`` in a feature's ``jobs.py``,
registered when that module is imported (``create_app`` imports every feature's jobs) with
``@register_rule(order=...)``; a pass runs the rules by `order` (for example
``follow_up_due`` in ``supporters/registry/jobs.py``). Reminders never import the features.
It:

1. selects what is due at `now` with a bounded query (a window of dates around `now`,
   anti-joined with the reminder ledger), so a pass costs what is due, not the table size,
   and drops what is no longer useful (no dispatch reminder after the event);
2. for each (rule, subject, recipient, occurrence) not in the ledger yet, adds a ledger row
   with that unique key and its outbox message(s) (`rules.decide_many`, in the
   recipient's language: the ledger read and the rows inserted by batches, so a rule sends
   a few statements however many reminders it decides) in the same transaction; a
   recipient without an e-mail address gets the in-app notification only, and the ledger
   row notes it for the coordinator;
3. never commits, and returns how many reminders it decided.

`run_due` commits each rule's work on its own: a rule that raises is rolled back and
reported (and kept as a `ReminderFailure` for the admin's mail page until it succeeds), and
the other rules still run. Within a rule, each reminder is decided in a savepoint of its
own when its batch fails (`rules.decide_many` falls back to `rules.decide`): one that
fails is recorded and left for the next pass, and the rule goes on. If another pass
decided the same reminder first, the ledger's unique key makes the commit fail; that rule's
work is rolled back, and the next pass (which sees the ledger row) has nothing left to do
for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import scoped_session

from supporters.db import DbSession, now_utc
from supporters.mail.jobs import OUTBOX_BATCH, mail_settings
from supporters.mail.models import OutboxMessage, OutboxStatus
from supporters.mail.services import OutboxReport, record_progress, send_outbox_report
from supporters.reminders.models import ReminderLedger
from supporters.reminders.rules import FailureKey, clear_failure, record_failure, rule_state_name

log = logging.getLogger(__name__)

Rule = Callable[[DbSession, datetime], int]

# Every registered rule by its name, with its place in a pass (`register_rule`).
_REGISTERED: dict[str, tuple[int, Rule]] = {}

# The rules a pass runs; None means `registered_rules()` (tests put their own list here).
RULES: list[Rule] | None = None


def register_rule(*, order: int) -> Callable[[Rule], Rule]:
    """Register a reminder rule (a decorator, used in each feature's jobs.py): every pass
    runs it, the registered rules by `order`, then by name. Registering the same function
    again replaces it."""

    def add(rule: Rule) -> Rule:
        _REGISTERED[_rule_name(rule)] = (order, rule)
        return rule

    return add


def registered_rules() -> list[Rule]:
    """Every registered reminder rule, in the order a pass runs them."""
    ranked = sorted(_REGISTERED.items(), key=lambda item: (item[1][0], item[0]))
    return [rule for _name, (_order, rule) in ranked]


def _rules() -> list[Rule]:
    return list(RULES if RULES is not None else registered_rules())


@dataclass
class RunReport:
    now: datetime
    decided: dict[str, int] = field(default_factory=dict)  # rule name -> reminders decided
    errors: dict[str, str] = field(default_factory=dict)  # rule name -> what went wrong
    outbox: OutboxReport = field(default_factory=OutboxReport)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        decided = sum(self.decided.values())
        text = (
            f"{decided} reminder(s) decided by {len(self.decided)} rule(s); mail: "
            f"{self.outbox.sent} sent, {self.outbox.kept} kept, "
            f"{self.outbox.retrying} to retry, {self.outbox.failed} failed"
        )
        if self.outbox.dropped:
            text += f", {self.outbox.dropped} dropped (no longer useful)"
        if self.outbox.transport_down:
            text += "; the mail server is unreachable: the queue waits"
        if self.errors:
            text += f"; {len(self.errors)} rule(s) failed: " + ", ".join(sorted(self.errors))
        return text


def _rule_name(rule: Rule) -> str:
    return f"{getattr(rule, '__module__', '?')}.{getattr(rule, '__qualname__', repr(rule))}"


def run_due(
    session: DbSession,
    *,
    now: datetime,
    app_config: Mapping[str, Any],
    guard: Callable[[], None] | None = None,
) -> RunReport:
    """One pass: every rule at `now` (each committed on its own), then the outbox. Commits.

    `guard` (the scheduler's lock check) runs before each rule, before each rule's commit
    and before each message is sent; when it raises, the pass stops at once and what the
    current rule did is rolled back."""
    if now.tzinfo is None:
        raise ValueError("run_due needs an aware datetime")
    report = RunReport(now=now)
    for rule in _rules():
        name = _rule_name(rule)
        whole_rule = FailureKey(name, "rule", 0)
        if guard is not None:
            guard()
        try:
            decided = rule(session, now)
            session.flush()
            if guard is not None:
                _guard_or_roll_back(session, guard)
            clear_failure(session, whole_rule)
            session.commit()
        except IntegrityError:
            session.rollback()
            log.info("rule %s: another pass decided the same reminders first", name)
            report.decided[name] = 0
        except _GuardFailed as stop:
            raise stop.__cause__ or stop from None
        except Exception as error:
            session.rollback()
            log.exception("rule %s failed", name)
            report.errors[name] = f"{type(error).__name__}: {error}"
            _keep_failure(session, whole_rule, error, now)
        else:
            report.decided[name] = decided
            _record_rule_done(session, rule, now)
    mail_url, sender = mail_settings(app_config)
    report.outbox = send_outbox_report(
        session, mail_url=mail_url, sender=sender, now=now, limit=OUTBOX_BATCH, guard=guard
    )
    return report


def _keep_failure(session: DbSession, key: FailureKey, error: Exception, now: datetime) -> None:
    """A rule that failed as a whole is shown on the admin's mail page (best effort)."""
    try:
        record_failure(session, key, error, now=now)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not record the failure of %s", key.rule)


def _record_rule_done(session: DbSession, rule: Rule, now: datetime) -> None:
    """The rule's last successful pass (`rules.last_pass_of`), for catching up."""
    try:
        record_progress(session, rule_state_name(getattr(rule, "__name__", "?")), now=now)
    except Exception:  # bookkeeping only: the reminders themselves are committed
        session.rollback()
        log.warning("could not record the pass of %s", _rule_name(rule), exc_info=True)


class _GuardFailed(Exception):
    """Carries the guard's own exception past the rule loop's error handling."""


def _guard_or_roll_back(session: DbSession, guard: Callable[[], None]) -> None:
    try:
        guard()
    except BaseException as error:
        session.rollback()
        raise _GuardFailed(str(error)) from error


@dataclass(frozen=True)
class PlannedReminder:
    rule: str
    key: str  # subject, recipient and occurrence, as the ledger would record them
    mail_to: str | None
    subject: str | None
    note: str | None


@dataclass
class DryRunReport:
    """What a pass at `now` would decide and send; nothing was written."""

    now: datetime
    planned: list[PlannedReminder] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    due_mail: list[tuple[int, str, str]] = field(default_factory=list)  # id, to, subject

    @property
    def ok(self) -> bool:
        return not self.errors


def preview_due(session: DbSession, *, now: datetime) -> DryRunReport:
    """A dry run of `run_due`: every rule runs at `now` inside a transaction that is rolled
    back, so the report lists what it would decide (and mail); then the queued mail that
    would be due. Writes nothing (on PostgreSQL, id sequences may advance)."""
    if now.tzinfo is None:
        raise ValueError("preview_due needs an aware datetime")
    report = DryRunReport(now=now)
    real_session = session() if isinstance(session, scoped_session) else session

    def refuse_commit(_session: Any) -> None:
        if _session.in_nested_transaction():
            return  # a savepoint (each reminder is decided in one) stays inside the rollback
        raise RuntimeError("a dry run never commits (a rule tried to)")

    event.listen(real_session, "before_commit", refuse_commit)
    try:
        _preview_rules(session, now, report)
    finally:
        event.remove(real_session, "before_commit", refuse_commit)
        session.rollback()
    clock = max(now, now_utc())
    report.due_mail = [
        (row.id, row.recipient, row.subject)
        for row in session.execute(
            select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.subject)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= clock,
                or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > clock),
            )
            .order_by(OutboxMessage.id)
            .limit(OUTBOX_BATCH)
        )
    ]
    session.rollback()
    return report


def _preview_rules(session: DbSession, now: datetime, report: DryRunReport) -> None:
    for rule in _rules():
        name = _rule_name(rule)
        try:
            before = session.scalar(select(func.coalesce(func.max(ReminderLedger.id), 0))) or 0
            rule(session, now)
            session.flush()
            rows = session.execute(
                select(ReminderLedger, OutboxMessage.recipient, OutboxMessage.subject)
                .outerjoin(OutboxMessage, OutboxMessage.id == ReminderLedger.outbox_message_id)
                .where(ReminderLedger.id > before)
                .order_by(ReminderLedger.id)
            ).all()
            report.planned.extend(
                PlannedReminder(
                    rule=ledger.rule,
                    key=f"{ledger.subject_type}:{ledger.subject_id} {ledger.recipient} "
                    f"{ledger.occurrence}",
                    mail_to=mail_to,
                    subject=subject,
                    note=ledger.note,
                )
                for ledger, mail_to, subject in rows
            )
        except Exception as error:
            report.errors[name] = f"{type(error).__name__}: {error}"
        finally:
            session.rollback()
