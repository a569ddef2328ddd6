"""Issue 13 item 6: one activity report per dispatch; a declaration of no activity counts
as the year's report where the program requires one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from supporters.core.dates import fiscal_year
from supporters.db import ServiceError
from supporters.dispatch import services as dispatch
from supporters.main.services import coordinator_actions
from supporters.registry import activity_reports
from supporters.registry import jobs as registry_jobs
from supporters.registry.models import ActivityReport, Registration
from supporters.reminders.models import ReminderLedger
from tests import factories
from tests.conftest import post_form

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2025, 5, 10, 4, 0, tzinfo=UTC)  # 13:00 JST


def _attended(db_session: Any) -> Any:
    registration = factories.valid_registration(db_session, program_code="tochigi")
    event = factories.dispatch_event(db_session, program_code="tochigi", starts_at=START)
    admin = factories.admin_user(db_session)
    assignment = dispatch.assign(
        db_session,
        actor=admin,
        event=event,
        registration=registration,
        now=START - timedelta(days=10),
    )
    dispatch.answer_assignment(
        db_session, actor=admin, assignment=assignment, accept=True, now=START - timedelta(days=9)
    )
    dispatch.record_attendance(
        db_session, actor=admin, event=event, attended_ids={assignment.id}, now=event.ends_at
    )
    return assignment


def _input(**kwargs: Any) -> activity_reports.ReportInput:
    return activity_reports.ReportInput(
        **{
            "activity_on": date(2025, 5, 10),
            "hours": "3",
            "kind": "sitting_in",
            "municipality_id": None,
            "topics": [],
            **kwargs,
        }
    )


def test_a_second_report_for_the_same_dispatch_is_refused(db_session: Any) -> None:
    assignment = _attended(db_session)
    registration = assignment.registration
    actor = factories.admin_user(db_session)
    first = activity_reports.file_report(
        db_session,
        actor=actor,
        registration=registration,
        data=_input(assignment_id=assignment.id),
        today=date(2025, 5, 11),
        on_behalf=True,
    )
    assert first.assignment_id == assignment.id
    with pytest.raises(
        activity_reports.ReportAlreadyFiled,
        match=r"^この派遣の活動報告は \d{4}-\d{2}-\d{2} に提出済みです",
    ) as refused:
        activity_reports.file_report(
            db_session,
            actor=actor,
            registration=registration,
            data=_input(assignment_id=assignment.id, hours="2"),
            today=date(2025, 5, 12),
            on_behalf=True,
        )
    assert (refused.value.report.id, refused.value.code) == (first.id, "report_already_filed")
    assert activity_reports.filed_reports_for_assignments(db_session, {assignment.id}) == {
        assignment.id: first.id
    }


def test_the_refusal_dates_the_first_report_in_japan(db_session: Any) -> None:
    """Filed at 01:00 in Japan, still the day before in UTC: the message gives Japan's day."""
    report = ActivityReport(created_at=datetime(2025, 5, 11, 16, 0, tzinfo=UTC))
    assert "2025-05-12" in activity_reports.ReportAlreadyFiled(report).message


def test_a_report_for_someone_elses_dispatch_is_refused(db_session: Any) -> None:
    assignment = _attended(db_session)
    other = factories.valid_registration(db_session, program_code="tochigi", n=7)
    with pytest.raises(ServiceError, match="このサポーターの派遣ではありません") as refused:
        activity_reports.file_report(
            db_session,
            actor=factories.admin_user(db_session),
            registration=other,
            data=_input(assignment_id=assignment.id),
            today=date(2025, 5, 11),
            on_behalf=True,
        )
    assert refused.value.code == "not_own_dispatch"


def test_the_report_page_of_a_filed_dispatch_links_to_the_first(
    client: Any, db_session: Any, login_as: Any
) -> None:
    assignment = _attended(db_session)
    user = factories.supporter(db_session, program_code="tochigi")
    user.person_id = assignment.registration.person_id
    db_session.commit()
    login_as(user)
    url = f"/register/{assignment.registration_id}/reports/new?assignment={assignment.id}"
    # The form is prefilled from the dispatch, which dispatch's hook reads for the register.
    event = assignment.event
    hours = (event.ends_at - event.starts_at).total_seconds() / 3600
    form = client.get(url).get_data(as_text=True)
    assert 'value="2025-05-10"' in form
    assert f'value="{hours:.1f}"' in form
    assert f'value="{event.municipality.name}"' in form
    response = post_form(
        client,
        url,
        {
            "activity_on": "2025-05-10",
            "hours": "3",
            "kind": "sitting_in",
            "municipality": "",
            "note": "",
            "meeting_course_id": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    (report,) = db_session.scalars(
        select(ActivityReport).where(ActivityReport.registration_id == assignment.registration_id)
    ).all()
    assert report.assignment_id == assignment.id
    again = client.get(url, follow_redirects=True).get_data(as_text=True)
    assert f"report-{report.id}" in again
    assert client.get(url).status_code == 302  # the form is not offered again
    schedule = client.get("/schedule").get_data(as_text=True)
    assert f"assignment={assignment.id}" not in schedule


# --- no activity this year --------------------------------------------------------------


def _registration(db_session: Any) -> Registration:
    return factories.registration(db_session, program_code="tochigi", on=date(2023, 7, 20))


def test_no_activity_counts_as_the_years_report(db_session: Any) -> None:
    registration = _registration(db_session)
    today = date(2025, 2, 10)  # fiscal year 2024
    program = registration.program
    assert activity_reports.reports_due(db_session, registration, program, today) == [2023, 2024]
    activity_reports.declare_no_activity(
        db_session,
        actor=factories.admin_user(db_session),
        registration=registration,
        year=2024,
        today=today,
        on_behalf=True,
    )
    assert activity_reports.reports_due(db_session, registration, program, today) == [2023]
    now = datetime(2025, 2, 10, 0, 0, tzinfo=UTC)
    registry_jobs.report_missing(db_session, now)
    assert list(db_session.scalars(select(ReminderLedger))) == []


def test_no_activity_counts_for_the_start_page_counter(db_session: Any) -> None:
    registration = _registration(db_session)
    today = date(2025, 5, 10)  # the counter looks at fiscal year 2024
    now = datetime(2025, 5, 10, 0, 0, tzinfo=UTC)
    before = coordinator_actions(db_session, [registration.program], now=now, today=today)
    missing = before[0].missing_reports
    assert missing >= 1
    activity_reports.declare_no_activity(
        db_session,
        actor=factories.admin_user(db_session),
        registration=registration,
        year=2024,
        today=today,
        on_behalf=True,
    )
    after = coordinator_actions(db_session, [registration.program], now=now, today=today)
    assert after[0].missing_reports == missing - 1


def test_no_activity_is_refused_when_not_applicable(db_session: Any) -> None:
    registration = _registration(db_session)
    actor = factories.admin_user(db_session)
    today = date(2025, 2, 10)

    def declare(year: int, reg: Any = registration) -> None:
        activity_reports.declare_no_activity(
            db_session, actor=actor, registration=reg, year=year, today=today, on_behalf=True
        )

    with pytest.raises(ServiceError, match="この年度はまだ始まっていません") as refused:
        declare(2025)  # a year that has not started
    assert refused.value.code == "year_not_started"
    with pytest.raises(ServiceError, match="この年度より後に登録されています") as refused:
        declare(2022)  # before the registration
    assert refused.value.code == "year_before_registration"
    db_session.add(
        ActivityReport(
            registration_id=registration.id,
            activity_on=date(2024, 6, 1),
            hours=1,
            kind="phone",
            topics=[],
        )
    )
    db_session.flush()
    with pytest.raises(ServiceError, match="この年度には活動報告が提出されています") as refused:
        declare(2024)  # a report was filed: there was activity
    assert refused.value.code == "activity_reported"
    declare(2023)
    with pytest.raises(
        ServiceError, match="この年度の「活動なし」はすでに届け出られています"
    ) as refused:
        declare(2023)  # once
    assert refused.value.code == "no_activity_already_declared"
    kagawa = factories.registration(db_session, program_code="kagawa", on=date(2023, 7, 20))
    with pytest.raises(
        ServiceError, match="この事業では年度ごとの活動報告を求めていません"
    ) as refused:
        declare(2024, kagawa)  # the program asks for no yearly report
    assert refused.value.code == "reports_not_required"


def test_supporter_declares_no_activity_from_my_page(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = _registration(db_session)
    user = factories.supporter(db_session, program_code="tochigi")
    user.person_id = registration.person_id
    db_session.commit()
    login_as(user)
    page = client.get("/me").get_data(as_text=True)
    url = f"/register/{registration.id}/no-activity"
    assert url in page
    today = datetime.now(TOKYO).date()
    year = fiscal_year(today)
    response = post_form(client, url, {"year": str(year)}, form_url="/me")
    assert response.status_code == 302
    assert year in activity_reports.declared_years(db_session, registration)
    assert year not in activity_reports.reports_due(
        db_session, registration, registration.program, today
    )
