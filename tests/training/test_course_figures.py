"""The course page's figures (issue 17, item 2): those who attended, by the reporting group
of the attribute recorded at enrolment, counted through the index on the course's
enrolments; the number who attended is their sum; the page's statements do not grow with
the enrolments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, select

from supporters.training.importer import HEADERS_JA, import_trainees
from supporters.training.models import Enrolment
from supporters.training.services.courses import course_figures
from supporters.training.services.sessions import record_roll_call
from tests import factories

HEADER = ",".join(HEADERS_JA)


def _course_with(session: Any, rows: list[str], present: int) -> Any:
    """A Kagawa course with the trainees of `rows` (CSV lines), the first `present` of whom
    attended its session; another course's trainee attends its own (not counted here)."""
    course = factories.course(session, program_code="kagawa", topics=("基礎",), on=date(2024, 6, 1))
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp932")
    report = import_trainees(
        session, actor=None, course=course, data=data, now=datetime(2024, 5, 1, tzinfo=UTC)
    )
    assert report.ok, report.errors
    enrolments = list(
        session.scalars(
            select(Enrolment).where(Enrolment.course_id == course.id).order_by(Enrolment.id)
        )
    )
    record_roll_call(
        session,
        actor=factories.admin_user(session),
        course_session=course.sessions[0],
        present_ids={e.id for e in enrolments[:present]},
        now=datetime(2024, 6, 1, 3, 0, tzinfo=UTC),
    )
    return course


ROWS = [
    "香川 一郎,カガワ イチロウ,ichiro@example.jp,,高松市,,行政の相談担当者",
    "香川 花子,カガワ ハナコ,hanako@example.jp,,高松市,,ひきこもり当事者の家族",
    "香川 三郎,カガワ サブロウ,saburo@example.jp,,高松市,,",
    "香川 四郎,カガワ シロウ,shiro@example.jp,,高松市,,ひきこもり当事者の家族",
]


def test_attended_by_reporting_group_and_their_sum(db_session: Any) -> None:
    course = _course_with(db_session, ROWS, present=3)
    _course_with(
        db_session, ["他 五郎,ホカ ゴロウ,goro@example.jp,,高松市,,ひきこもり当事者の家族"], 1
    )
    figures = course_figures(db_session, course)
    # Kagawa's 行政の相談担当者 counts as 福祉専門職; none recorded is "unknown".
    assert figures.attributes == {"welfare_professional": 1, "family": 1, "unknown": 1}
    assert figures.attended == 3 and figures.applied == 4


def test_the_page_shows_the_figures_and_its_statements_do_not_grow(
    client: Any, db_session: Any, login_as: Any
) -> None:
    small = _course_with(db_session, ROWS[:1], present=1)
    big = _course_with(db_session, ROWS[1:], present=2)
    db_session.commit()
    login_as(factories.coordinator(db_session, program_code="kagawa"))

    def statements(course_id: int) -> tuple[int, str]:
        seen: list[str] = []

        def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement)

        engine = db_session.get_bind()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = client.get(f"/courses/{course_id}")
            assert response.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen), response.get_data(as_text=True)

    small_id, big_id = small.id, big.id
    few, _page = statements(small_id)
    many, page = statements(big_id)
    assert many == few <= 15
    assert "香川 花子" in page and "香川 四郎" in page and "香川 三郎" in page
