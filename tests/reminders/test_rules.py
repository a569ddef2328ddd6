"""Reminder rules: who is told what and when, once, and nothing that is no longer useful."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from supporters.dispatch import jobs as dispatch_jobs
from supporters.dispatch import services as dispatch
from supporters.mail.models import OutboxMessage
from supporters.registry import jobs as registry_jobs
from supporters.reminders.models import Notification, ReminderLedger
from supporters.training import jobs as training_jobs
from tests import factories


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour - 9, tzinfo=UTC)  # 09:00 in Japan


def _ledger(db_session: Any, rule: str | None = None) -> list[ReminderLedger]:
    query = select(ReminderLedger).order_by(ReminderLedger.id)
    if rule:
        query = query.where(ReminderLedger.rule == rule)
    return list(db_session.scalars(query))


def _with_account(db_session: Any, registration: Any, email: str) -> Any:
    user = factories.supporter(db_session, program_code=registration.program.code, email=email)
    user.person_id = registration.person_id
    db_session.flush()
    return user


def test_follow_up_reminders_at_each_lead_time_once(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2020, 7, 20))  # ends 2023-07-20
    user = _with_account(db_session, registration, "fu@example.jp")
    coordinator = factories.coordinator(db_session, program_code="tochigi", email="c@example.jp")
    seen = []
    for day in [
        date(2022, 12, 1),
        date(2023, 1, 21),
        date(2023, 1, 22),
        date(2023, 4, 21),
        date(2023, 6, 20),
        date(2023, 7, 13),
        date(2023, 7, 21),
        date(2023, 8, 30),
    ]:
        registry_jobs.follow_up_due(db_session, _at(day))
        seen.append(
            [
                row.occurrence.split(":")[1]
                for row in _ledger(db_session, None)
                if row.recipient == f"user:{user.id}"
            ]
        )
    assert seen[0] == []  # before the window opens
    assert seen[1] == ["window"] and seen[2] == ["window"]  # once, however many passes
    assert seen[3] == ["window", "d90"]
    assert seen[4] == ["window", "d90", "d30"]
    assert seen[5] == ["window", "d90", "d30", "d7"]
    assert seen[6][-1] == "lapse"
    assert seen[7] == seen[6]  # no lapse notice weeks later
    digests = [
        r
        for r in _ledger(db_session, "follow_up_digest")
        if r.recipient == f"user:{coordinator.id}"
    ]
    assert len(digests) == 5  # one a day on which something was decided
    mail = db_session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == "fu@example.jp")
        .order_by(OutboxMessage.id)
    )
    assert "フォローアップ" in mail.subject and "令和5年7月20日" in mail.subject


def test_catch_up_after_downtime_sends_only_what_is_still_useful(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2020, 7, 20))
    _with_account(db_session, registration, "late@example.jp")
    registry_jobs.follow_up_due(db_session, _at(date(2023, 7, 15)))  # first pass in months
    assert [r.occurrence for r in _ledger(db_session, "follow_up_due")] == ["2023-07-20:d7"]


def test_opt_out_is_respected_but_lapse_notices_are_essential(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2020, 7, 20))
    user = _with_account(db_session, registration, "quiet@example.jp")
    user.reminder_opt_outs = ["follow_up_due"]
    db_session.flush()
    registry_jobs.follow_up_due(db_session, _at(date(2023, 7, 13)))
    registry_jobs.follow_up_due(db_session, _at(date(2023, 7, 22)))
    mails = db_session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.recipient == "quiet@example.jp")
    ).all()
    assert mails == ["lapse"]
    assert [r.note for r in _ledger(db_session, "follow_up_due")] == ["opted out"]


def test_someone_without_an_account_or_email_is_noted(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2020, 7, 20))
    registration.person.email = None
    db_session.flush()
    registry_jobs.follow_up_due(db_session, _at(date(2023, 7, 13)))
    (row,) = [r for r in _ledger(db_session, "follow_up_due")]
    assert row.outbox_message_id is None and "in person" in row.note


def test_dispatch_reminders_two_days_before_and_on_the_morning_never_after(
    db_session: Any,
) -> None:
    start = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)  # 13:00 in Japan
    event = factories.dispatch_event(db_session, starts_at=start)
    registration = factories.valid_registration(db_session)
    user = _with_account(db_session, registration, "d@example.jp")
    dispatch.sign_up(
        db_session,
        actor=user,
        event=event,
        registration=registration,
        now=start - timedelta(days=5),
    )
    for moment in [
        start - timedelta(days=3),
        start - timedelta(hours=47),
        start - timedelta(hours=40),
        start - timedelta(hours=5),
        start - timedelta(hours=1),
        start + timedelta(hours=1),
    ]:
        dispatch_jobs.upcoming_dispatch(db_session, moment)
    assert [r.occurrence for r in _ledger(db_session, "upcoming_dispatch")] == ["d2", "morning"]
    notes = db_session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == user.id)
    )
    assert notes == 2


def test_unconfirmed_understaffed_and_report_reminders(db_session: Any) -> None:
    start = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)
    event = factories.dispatch_event(db_session, starts_at=start, needed=3)
    staff = factories.municipal_staff(
        db_session, program_code="tochigi", municipality_name="佐野市", email="staff@example.jp"
    )
    registration = factories.valid_registration(db_session)
    user = _with_account(db_session, registration, "u@example.jp")
    admin = factories.admin_user(db_session)
    asked_at = start - timedelta(days=6)
    assignment = dispatch.assign(
        db_session, actor=admin, event=event, registration=registration, now=asked_at
    )
    assignment.created_at = asked_at
    db_session.flush()
    dispatch_jobs.unconfirmed_assignment(db_session, asked_at + timedelta(hours=23))
    assert _ledger(db_session, "unconfirmed_assignment") == []
    dispatch_jobs.unconfirmed_assignment(db_session, asked_at + timedelta(hours=25))
    dispatch_jobs.unconfirmed_assignment(db_session, asked_at + timedelta(hours=30))
    assert len(_ledger(db_session, "unconfirmed_assignment")) == 1
    dispatch_jobs.understaffed(db_session, start - timedelta(days=6))
    dispatch_jobs.understaffed(db_session, start - timedelta(days=5))
    recipients = {r.recipient for r in _ledger(db_session, "understaffed")}
    assert f"user:{staff.id}" in recipients and len(_ledger(db_session, "understaffed")) == len(
        recipients
    )
    dispatch.answer_assignment(
        db_session, actor=user, assignment=assignment, accept=True, now=asked_at + timedelta(days=1)
    )
    dispatch.record_attendance(
        db_session,
        actor=admin,
        event=event,
        attended_ids={assignment.id},
        now=start + timedelta(hours=4),
    )
    dispatch_jobs.report_after_dispatch(db_session, start + timedelta(days=3))
    assert _ledger(db_session, "report_missing") == []
    dispatch_jobs.report_after_dispatch(db_session, start + timedelta(days=8))
    (row,) = _ledger(db_session, "report_missing")
    mail = db_session.get(OutboxMessage, row.outbox_message_id)
    assert f"assignment={assignment.id}" in mail.body_text


def test_training_session_reminders(db_session: Any) -> None:
    course = factories.course(db_session, topics=("基礎",), on=date(2030, 6, 10))
    person = factories.person(db_session, email="trainee@example.jp", residence="高松市")
    from supporters.training.services.enrolments import enrol_person

    enrol_person(
        db_session, actor=None, course=course, person=person, now=datetime(2030, 5, 1, tzinfo=UTC)
    )
    for day in [
        date(2030, 6, 1),
        date(2030, 6, 3),
        date(2030, 6, 4),
        date(2030, 6, 9),
        date(2030, 6, 10),
    ]:
        training_jobs.training_session(db_session, _at(day))
    assert [r.occurrence for r in _ledger(db_session, "training_session")] == ["d7", "d1"]
    mails = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "trainee@example.jp")
    ).all()
    assert len(mails) == 2 and all("2030年6月10日（月）" in m.subject for m in mails)


def test_run_due_over_the_demo_decides_each_reminder_once(app: Any, db_session: Any) -> None:
    from supporters.reminders.jobs import run_due

    registration = factories.registration(db_session, on=date(2020, 7, 20))
    _with_account(db_session, registration, "once@example.jp")
    db_session.commit()
    now = _at(date(2023, 7, 13))
    first = run_due(db_session, now=now, app_config=app.config)
    second = run_due(db_session, now=now, app_config=app.config)
    assert first.ok and second.ok
    assert sum(first.decided.values()) >= 1 and sum(second.decided.values()) == 0


def test_each_feature_registers_its_rules_and_a_pass_runs_them_in_order(app: Any) -> None:
    """Reminders never import the features: each feature's jobs.py registers its rules when
    `create_app` imports it, and a pass runs them in a stable order, each once."""
    from supporters.reminders.jobs import register_rule, registered_rules

    names = [f"{rule.__module__}.{rule.__name__}" for rule in registered_rules()]
    assert names == [
        "supporters.registry.jobs.follow_up_due",
        "supporters.registry.jobs.report_missing",
        "supporters.registry.jobs.erase_after_retention",
        "supporters.dispatch.jobs.upcoming_dispatch",
        "supporters.dispatch.jobs.unconfirmed_assignment",
        "supporters.dispatch.jobs.report_after_dispatch",
        "supporters.dispatch.jobs.understaffed",
        "supporters.training.jobs.training_session",
        "supporters.registry.jobs.follow_up_course",
    ]
    # Registering a rule again (a module imported twice) replaces it: no rule runs twice.
    register_rule(order=80)(training_jobs.training_session)
    assert [f"{r.__module__}.{r.__name__}" for r in registered_rules()] == names
    assert dispatch_jobs.upcoming_dispatch in registered_rules()
    assert registry_jobs.follow_up_course in registered_rules()
