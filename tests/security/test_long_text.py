"""Issue 12, item 8: long text never breaks anything downstream. An event or course title
of the longest length its form accepts makes mail subjects and notification titles that
fit their columns (shortened with …), assigning a supporter works, and the reminder pass
decides every rule for every program."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from supporters.db import fit_text, now_utc
from supporters.dispatch import services as dispatch
from supporters.mail.models import OutboxMessage
from supporters.reminders import jobs as reminder_jobs
from supporters.reminders.models import Notification
from tests import factories
from tests.conftest import post_form

LONGEST = 200  # what the event and course forms accept
TITLE = "出張相談会・家族のつどい" * 20  # 240 characters; cut to LONGEST below


def test_fit_text_at_the_column_length() -> None:
    assert fit_text("あ" * 9, 10) == "あ" * 9
    assert fit_text("あ" * 10, 10) == "あ" * 10
    assert fit_text("あ" * 11, 10) == "あ" * 9 + "…"
    assert len(fit_text("a" * 500, 200)) == 200
    assert fit_text("", 10) == ""
    with pytest.raises(ValueError, match="at least 1"):
        fit_text("abc", 0)


def _supporter_with_account(db_session: Any, n: int, program_code: str = "tochigi") -> Any:
    registration = factories.valid_registration(db_session, program_code=program_code, n=n)
    user = factories.supporter(db_session, program_code=program_code, email=f"long{n}@example.jp")
    user.person_id = registration.person_id
    db_session.flush()
    return registration


def test_assigning_to_an_event_with_the_longest_title(
    client: Any, login_as: Any, db_session: Any
) -> None:
    event = factories.dispatch_event(db_session)
    event.title = TITLE[:LONGEST]
    registration = _supporter_with_account(db_session, 1)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    response = post_form(
        client,
        f"/dispatch/{event.id}/assign",
        {"registration_id": registration.id},
        form_url=f"/dispatch/{event.id}",
    )
    assert response.status_code == 302
    subjects = list(db_session.scalars(select(OutboxMessage.subject)))
    assert subjects, "the supporter was told by mail"
    assert all(len(s) <= 200 for s in subjects), [len(s) for s in subjects]
    assert any(s.endswith("…") for s in subjects)


def test_the_reminder_pass_decides_every_rule_with_the_longest_titles(
    app: Any, db_session: Any
) -> None:
    now = now_utc()
    soon = (now + timedelta(days=1)).replace(microsecond=0)
    long_event = factories.dispatch_event(db_session, starts_at=soon)
    long_event.title = TITLE[:LONGEST]
    other = factories.dispatch_event(
        db_session, program_code="kagawa", starts_at=soon + timedelta(hours=4)
    )
    actor = factories.admin_user(db_session)
    for n, event in ((1, long_event), (2, other)):
        registration = _supporter_with_account(db_session, n, event.program.code)
        dispatch.assign(db_session, actor=actor, event=event, registration=registration, now=now)
    db_session.flush()
    report = reminder_jobs.run_due(db_session, now=now, app_config=app.config)
    assert report.ok, report.errors
    assert report.decided["supporters.dispatch.jobs.upcoming_dispatch"] == 2
    titles = list(db_session.scalars(select(Notification.title)))
    assert all(len(t) <= 200 for t in titles)
    assert any(t.endswith("…") for t in titles)
    subjects = list(db_session.scalars(select(OutboxMessage.subject)))
    assert all(len(s) <= 200 for s in subjects)


def test_pdfs_with_the_longest_titles(client: Any, login_as: Any, db_session: Any) -> None:
    enrolment = factories.completed_enrolment(db_session, program_code="tochigi")
    course = enrolment.course
    course.title = TITLE[:LONGEST]
    event = factories.dispatch_event(db_session)
    event.title = TITLE[:LONGEST]
    registration = _supporter_with_account(db_session, 3)
    assignment = dispatch.assign(
        db_session,
        actor=factories.admin_user(db_session),
        event=event,
        registration=registration,
        now=now_utc(),
    )
    db_session.flush()
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    for path in (
        f"/enrolments/{enrolment.id}/certificate.pdf",
        f"/assignments/{assignment.id}/notice.pdf",
        f"/courses/{course.id}/sessions/{course.sessions[0].id}/sign-in.pdf",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.data.startswith(b"%PDF"), path


def test_a_certificate_shortens_the_longest_title_to_its_lines(db_session: Any) -> None:
    """The title takes at most three lines, ending with …, and never runs into the items
    below it (a period over two lines included)."""
    import dataclasses
    import subprocess
    from datetime import date

    from supporters.certificates import services as certificates
    from supporters.training.pdf import render_completion_certificate

    enrolment = factories.completed_enrolment(db_session, program_code="tochigi")
    enrolment.course.title = TITLE[:LONGEST]
    db_session.flush()
    certificate = certificates.issue_certificate(
        db_session, actor=None, enrolment=enrolment, now=now_utc()
    )
    data = certificates.completion_data(certificate, today=now_utc().date())
    data = dataclasses.replace(data, first_date=date(2024, 5, 1), last_date=date(2024, 7, 31))
    pdf = render_completion_certificate(data)
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    title_lines = [line for line in text.splitlines() if "出張相談会" in line]
    assert len(title_lines) == 3
    assert title_lines[-1].rstrip().endswith("…")
