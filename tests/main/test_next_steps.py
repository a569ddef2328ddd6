"""次にすること on a supporter's start page: follow-up to take, reports due (linked, in 年度
terms) and requests waiting for an answer, each gone once stale; notifications read when
opened."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from supporters.dispatch import services as dispatch
from supporters.main.services import supporter_overview
from supporters.registry.models import ActivityReport
from supporters.reminders.models import Notification
from supporters.training.services.enrolments import apply_for_course
from tests import factories


def _overview(session: Any, registration: Any, *, today: date, now: datetime | None = None) -> Any:
    return supporter_overview(
        session,
        registration.person_id,
        [registration.program],
        now=now or datetime.combine(today, datetime.min.time(), tzinfo=UTC),
        today=today,
    )


def test_report_due_from_the_first_day_of_the_fiscal_year_until_filed(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2025, 6, 1), name="報告 一郎")
    db_session.add(
        ActivityReport(
            registration_id=registration.id,
            activity_on=date(2025, 10, 1),
            hours=Decimal(2),
            kind="sitting_in",
        )
    )
    db_session.flush()
    assert _overview(db_session, registration, today=date(2026, 3, 31)).reports_due == []
    for day in (date(2026, 4, 1), date(2026, 4, 2)):
        due = _overview(db_session, registration, today=day).reports_due
        assert [(r.id, year) for r, year in due] == [(registration.id, 2026)]
    db_session.add(
        ActivityReport(
            registration_id=registration.id,
            activity_on=date(2026, 4, 2),
            hours=Decimal(1),
            kind="phone",
        )
    )
    db_session.flush()
    assert _overview(db_session, registration, today=date(2026, 4, 2)).reports_due == []


def test_no_report_is_due_where_the_program_does_not_require_one(db_session: Any) -> None:
    registration = factories.registration(db_session, program_code="kagawa", on=date(2025, 6, 1))
    assert _overview(db_session, registration, today=date(2026, 4, 1)).reports_due == []


def test_request_waits_for_an_answer_until_it_starts_and_the_dispatch_until_it_ends(
    db_session: Any,
) -> None:
    registration = factories.valid_registration(db_session, n=701)
    start = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)
    event = factories.dispatch_event(db_session, starts_at=start, hours=3)
    dispatch.assign(
        db_session,
        actor=factories.admin_user(db_session),
        event=event,
        registration=registration,
        now=start - timedelta(days=10),
    )
    today = date(2030, 5, 10)
    before = _overview(db_session, registration, today=today, now=start - timedelta(minutes=1))
    assert before.awaiting_answer == 1 and before.next_event is not None
    on = _overview(db_session, registration, today=today, now=start)
    assert on.awaiting_answer == 0 and on.next_event is not None
    after = start + timedelta(hours=3, seconds=1)
    ended = _overview(db_session, registration, today=today, now=after)
    assert ended.awaiting_answer == 0 and ended.next_event is None


def test_follow_up_course_offered_until_it_starts_or_the_supporter_applies(
    db_session: Any,
) -> None:
    registration = factories.registration(db_session, program_code="kagawa", on=date(2025, 6, 1))
    first = date(2026, 6, 1)
    course = factories.course(db_session, kind="follow_up", title="フォローアップ研修6月", on=first)

    def offered(day: date) -> list[int]:
        return [c.id for _p, c in _overview(db_session, registration, today=day).follow_ups]

    assert offered(first - timedelta(days=1)) == [course.id]
    assert offered(first) == []
    assert offered(first + timedelta(days=1)) == []
    user = factories.supporter(db_session, program_code="kagawa")
    user.person_id = registration.person_id
    apply_for_course(
        db_session,
        actor=user,
        course=course,
        person=registration.person,
        today=first - timedelta(days=1),
        now=datetime.now(UTC),
    )
    db_session.flush()
    assert offered(first - timedelta(days=1)) == []


def test_start_page_links_the_report_due_in_fiscal_year_terms(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = factories.registration(
        db_session, on=date.today() - timedelta(days=400), name="年度 花子"
    )
    user = factories.supporter(db_session, program_code="tochigi")
    user.person_id = registration.person_id
    db_session.commit()
    login_as(user)
    page = client.get("/").get_data(as_text=True)
    assert f'href="/register/{registration.id}/reports/new"' in page
    assert "年度の活動報告を提出してください" in page
    assert 'data-next="report"' in page
    assert page.index('data-next="report"') < page.index('data-next="schedule"')


def test_start_page_links_a_follow_up_course_to_apply_to(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = factories.registration(
        db_session, program_code="kagawa", on=date.today() - timedelta(days=100)
    )
    autumn = date.today() + timedelta(days=20)
    course = factories.course(db_session, kind="follow_up", title="秋のフォローアップ", on=autumn)
    user = factories.supporter(db_session, program_code="kagawa")
    user.person_id = registration.person_id
    db_session.commit()
    login_as(user)
    page = client.get("/").get_data(as_text=True)
    assert f'href="/courses/{course.id}"' in page
    assert "フォローアップ研修に申し込む：秋のフォローアップ" in page


def test_opening_a_notification_marks_it_read(client: Any, db_session: Any, login_as: Any) -> None:
    user = factories.supporter(db_session, program_code="tochigi")
    other = factories.supporter(db_session, program_code="tochigi")
    mine = Notification(user_id=user.id, title="派遣のお知らせ", link="/schedule")
    theirs = Notification(user_id=other.id, title="ほかの人の", link="/schedule")
    db_session.add_all([mine, theirs])
    db_session.commit()
    login_as(user)
    listing = client.get("/notifications/").get_data(as_text=True)
    assert f'href="/notifications/{mine.id}"' in listing
    for _twice in range(2):
        response = client.get(f"/notifications/{mine.id}")
        assert response.status_code == 302 and response.headers["Location"].endswith("/schedule")
    db_session.refresh(mine)
    assert mine.read_at is not None
    assert client.get(f"/notifications/{theirs.id}").status_code == 404
    db_session.refresh(theirs)
    assert theirs.read_at is None
