"""The register's reminder rules and the report-after-dispatch rule: complete at scale, and
in Japan's dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from supporters.dispatch import jobs as dispatch_jobs
from supporters.dispatch import services as dispatch
from supporters.people.models import Person
from supporters.registry import jobs as registry_jobs
from supporters.registry.models import ActivityReport, Registration
from supporters.reminders.models import ReminderLedger
from tests import factories

JST = timedelta(hours=9)


def _ledger(db_session: Any, rule: str) -> list[ReminderLedger]:
    return list(
        db_session.scalars(
            select(ReminderLedger).where(ReminderLedger.rule == rule).order_by(ReminderLedger.id)
        )
    )


def test_report_missing_reaches_everyone_beyond_one_batch(db_session: Any) -> None:
    """6,000 supporters without a report: a first pass that was cut short after 5,000
    (as the old one was) leaves 1,000 who must be told on the next pass."""
    first = factories.registration(db_session, program_code="tochigi", on=date(2023, 7, 20))
    total = 6000
    person_ids = [
        row[0]
        for row in db_session.execute(
            insert(Person).returning(Person.id),
            [{"name": f"多数 {i}", "name_reading": "タスウ", "name_key": ""} for i in range(total)],
        )
    ]
    db_session.execute(
        insert(Registration),
        [
            {
                "program_id": first.program_id,
                "person_id": person_id,
                "number": f"BULK-{i:05d}",
                "registered_on": date(2023, 7, 20),
                "issuing_organisation_id": first.issuing_organisation_id,
                "valid_until": date(2035, 3, 31),
                "initial_valid_until": date(2035, 3, 31),
            }
            for i, person_id in enumerate(person_ids)
        ],
    )
    bulk_ids = list(
        db_session.scalars(
            select(Registration.id)
            .where(Registration.number.like("BULK-%"))
            .order_by(Registration.id)
        )
    )
    now = datetime(2025, 2, 3, 0, 0, tzinfo=UTC)
    # An earlier pass decided the first 5,000.
    db_session.execute(
        insert(ReminderLedger),
        [
            {
                "rule": "report_missing",
                "subject_type": "registration",
                "subject_id": registration_id,
                "recipient": f"person:{person_id}",
                "occurrence": "fy2024",
                "decided_at": now - timedelta(days=1),
            }
            for registration_id, person_id in zip(bulk_ids[:5000], person_ids, strict=False)
        ],
    )
    db_session.flush()
    decided = registry_jobs.report_missing(db_session, now)
    assert decided == total - 5000 + 1  # the rest of the bulk, and the first one
    told = db_session.scalar(
        select(func.count(func.distinct(ReminderLedger.subject_id))).where(
            ReminderLedger.rule == "report_missing"
        )
    )
    assert told == total + 1
    assert registry_jobs.report_missing(db_session, now + timedelta(days=1)) == 0


def _attended_dispatch(db_session: Any, starts_at: datetime) -> Any:
    registration = factories.valid_registration(db_session, program_code="tochigi")
    event = factories.dispatch_event(db_session, program_code="tochigi", starts_at=starts_at)
    admin = factories.admin_user(db_session)
    assignment = dispatch.assign(
        db_session,
        actor=admin,
        event=event,
        registration=registration,
        now=starts_at - timedelta(days=10),
    )
    dispatch.answer_assignment(
        db_session,
        actor=admin,
        assignment=assignment,
        accept=True,
        now=starts_at - timedelta(days=9),
    )
    dispatch.record_attendance(
        db_session,
        actor=admin,
        event=event,
        attended_ids={assignment.id},
        now=starts_at + timedelta(hours=4),
    )
    return assignment


def _report(db_session: Any, registration_id: int, on: date) -> None:
    db_session.add(
        ActivityReport(
            registration_id=registration_id,
            activity_on=on,
            hours=Decimal("1.0"),
            kind="phone",
            topics=[],
        )
    )
    db_session.flush()


def test_report_after_dispatch_uses_the_japan_date_at_00_30(db_session: Any) -> None:
    """A dispatch at 00:30 JST on 2030-05-11 is 15:30 UTC on the 10th. A report for the
    10th (another activity) does not cover it; one for the 11th does."""
    starts_at = datetime(2030, 5, 11, 0, 30, tzinfo=UTC) - JST
    assignment = _attended_dispatch(db_session, starts_at)
    _report(db_session, assignment.registration_id, date(2030, 5, 10))
    dispatch_jobs.report_after_dispatch(db_session, starts_at + timedelta(days=8))
    assert [r.subject_id for r in _ledger(db_session, "report_missing")] == [assignment.id]


def test_report_after_dispatch_filed_on_the_japan_date_at_00_30(db_session: Any) -> None:
    starts_at = datetime(2030, 5, 11, 0, 30, tzinfo=UTC) - JST
    assignment = _attended_dispatch(db_session, starts_at)
    _report(db_session, assignment.registration_id, date(2030, 5, 11))
    dispatch_jobs.report_after_dispatch(db_session, starts_at + timedelta(days=8))
    assert _ledger(db_session, "report_missing") == []


def test_report_after_dispatch_at_23_30(db_session: Any) -> None:
    """23:30 JST is the same date in UTC: a report on that day covers it, one the day after
    does not."""
    starts_at = datetime(2030, 5, 10, 23, 30, tzinfo=UTC) - JST
    assignment = _attended_dispatch(db_session, starts_at)
    _report(db_session, assignment.registration_id, date(2030, 5, 11))
    dispatch_jobs.report_after_dispatch(db_session, starts_at + timedelta(days=8))
    assert [r.subject_id for r in _ledger(db_session, "report_missing")] == [assignment.id]
