"""Fiscal-year figures from records: definitions, suppression, constant query counts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from supporters.core.eras import fiscal_year_label
from supporters.db import ServiceError
from supporters.reports.exports import figures_csv
from supporters.reports.figures import build_fiscal_year_report, check_year, parse_as_of
from supporters.reports.presentation import figure_rows, report_figures
from supporters.reports.suppression import Suppression, attribute_rows
from tests import factories
from tests.reports.conftest import build_fy2024, counting_queries

TODAY = date(2025, 6, 1)  # FY2024 has ended


def _report(session: Any, year: int = 2024, **kwargs: Any) -> Any:
    return build_fiscal_year_report(
        session, factories.program(session, code="tochigi"), year, today=TODAY, **kwargs
    )


@pytest.mark.usefixtures("japanese")
def test_labels_and_bad_years() -> None:
    assert fiscal_year_label(2023) == "令和5年度"
    assert fiscal_year_label(2019) == "令和元年度"
    assert fiscal_year_label(2018) == "平成30年度"
    assert fiscal_year_label(1989) == "平成元年度"
    check_year(2025, TODAY)  # the running year
    with pytest.raises(ServiceError, match="2026年度はまだ始まっていません") as future:
        check_year(2026, TODAY)
    assert (future.value.field, future.value.code) == ("year", "year_not_started")
    with pytest.raises(ServiceError, match="報告は1989年度から作成できます") as early:
        check_year(1900, TODAY)
    assert early.value.code == "year_too_early"
    assert parse_as_of(" 2023-11-30 ", TODAY) == date(2023, 11, 30)
    assert parse_as_of("", TODAY) is None
    not_a_date = "」は日付ではありません。2023-11-30のように入力してください"
    for bad, message, code in [
        ("30/11/2023", "「30/11/2023" + not_a_date, "as_of_not_a_date"),
        ("2023-02-30", "「2023-02-30" + not_a_date, "as_of_not_a_date"),
        ("yesterday", "「yesterday" + not_a_date, "as_of_not_a_date"),
        ("2099-01-01", "2099-01-01は未来の日付です", "as_of_in_future"),
        ("1900-01-01", "1989", "as_of_too_early"),
    ]:
        with pytest.raises(ServiceError, match=message) as error:
            parse_as_of(bad, TODAY)
        assert (error.value.field, error.value.code) == ("as_of", code)


def test_fiscal_year_figures_from_records(db_session: Any) -> None:
    build_fy2024(db_session)
    report = _report(db_session, include_attributes=True, as_of=date(2024, 5, 20))
    assert (report.start, report.end, report.label) == (
        date(2024, 4, 1),
        date(2025, 3, 31),
        "令和6年度",
    )
    assert not report.running and not report.empty
    courses = {row.kind: row for row in report.courses}
    initial = courses["initial"]
    # The 2024-06-01 course (capacity 10, 4 enrolled, 3 present and completed) and the new
    # supporter's own course (no capacity, completed by hand without attendance).
    assert (initial.courses, initial.capacity, initial.applicants) == (2, 10, 5)
    assert (initial.attendees, initial.completions) == (3, 4)
    assert (courses["follow_up"].courses, courses["follow_up"].attendees) == (1, 1)
    assert report.attributes == {"family": 2, "lived_experience": 1}
    r = report.registrations
    assert (r.new, r.renewed, r.lapsed, r.withdrawn) == (1, 1, 1, 1)
    assert report.at_year_end["active"] + report.at_year_end["follow_up_due"] == 2
    assert report.at_year_end["lapsed"] == 1 and report.at_year_end["withdrawn"] == 1
    # On 2024-05-20 the lapsed one has lapsed, the renewed one is renewed, the withdrawn one
    # still valid, the new one not yet registered.
    assert report.at_as_of is not None
    assert report.at_as_of["lapsed"] == 1
    assert report.at_as_of["active"] + report.at_as_of["follow_up_due"] == 2
    f = report.follow_up
    assert f is not None and (f.due, f.done, f.overdue, f.pending) == (2, 1, 1, 0)
    places = {
        row.key: (row.events, row.supporters, row.hours) for row in report.dispatch_by_municipality
    }
    assert places == {"佐野市": (1, 1, 3.0), "那須町": (1, 1, 2.0)}
    months = {row.key: row.events for row in report.dispatch_by_month}
    assert months["2024-06"] == 1 and months["2024-11"] == 1 and sum(months.values()) == 2
    assert report.dispatch_by_month[0].key == "2024-04"
    assert report.dispatch_by_month[-1].key == "2025-03"
    assert {row.key: row.events for row in report.dispatch_by_kind} == {
        "outreach_day/sitting_in": 2
    }
    assert {row.kind: (row.reports, row.hours) for row in report.activity} == {
        "phone": (1, 2.0),
        "sitting_in": (1, 3.0),
    }
    assert report.activity_supporters == 2
    assert [(h.year, h.new, h.valid) for h in report.history] == [
        (2021, 2, 2),
        (2022, 0, 2),
        (2023, 1, 3),
        (2024, 1, 2),
    ]


def test_attributes_only_when_asked(db_session: Any) -> None:
    build_fy2024(db_session)
    report = _report(db_session)
    assert report.attributes is None
    figures = report_figures(report, Suppression())
    assert figures["attributes"] is None
    assert not [row for row in figure_rows(figures) if row[0] == "attributes"]


def test_a_year_without_records_is_empty(db_session: Any) -> None:
    report = _report(db_session, year=2010, include_attributes=True)
    assert report.empty
    figures = report_figures(report, Suppression())
    assert figures["empty"] is True and figures["courses"] == []
    assert figures["dispatch"]["events"] == 0 and figures["history"][-1]["new"] == 0


def test_the_running_year_counts_up_to_today(db_session: Any) -> None:
    build_fy2024(db_session)
    report = build_fiscal_year_report(
        db_session, factories.program(db_session, code="tochigi"), 2024, today=date(2024, 6, 5)
    )
    assert report.running and report.year_end_day == date(2024, 6, 5)
    # The 2024-06-10 dispatch is still planned (it counts), the course of 2024-07-20 not yet.
    assert {row.kind: row.courses for row in report.courses}["initial"] == 1
    f = report.follow_up
    assert f is not None and (f.due, f.done, f.overdue) == (2, 1, 1)


def test_suppression_for_publication() -> None:
    rule = Suppression(publish=True, threshold=5)
    rows = {
        r["attribute"]: r
        for r in attribute_rows(
            {"welfare_professional": 12, "family": 12, "lived_experience": 6}, rule
        )
    }
    assert rows["welfare_professional"] == {
        "attribute": "welfare_professional",
        "count": 12,
        "percent": 40.0,
    }
    assert rows["lived_experience"]["count"] == 6 and rows["lived_experience"]["percent"] == 20.0
    assert rows["resident"] == {"attribute": "resident", "count": "<5", "percent": None}
    # One hidden cell alone would follow from the total: the next smallest is hidden too.
    alone = {
        "welfare_professional": 10,
        "family": 7,
        "lived_experience": 3,
        "municipal_staff": 5,
        "private_support": 6,
        "resident": 8,
        "other": 9,
    }
    rows = {r["attribute"]: r["count"] for r in attribute_rows(alone, rule)}
    assert rows["lived_experience"] == "<5" and rows["municipal_staff"] == "x"
    assert rows["family"] == 7
    assert {r["count"] for r in attribute_rows(alone, Suppression())} == set(alone.values())
    assert Suppression(publish=True, threshold=10).count(9) == "<10"


def test_published_figures_hide_small_counts(db_session: Any) -> None:
    build_fy2024(db_session)
    report = _report(db_session, include_attributes=True)
    figures = report_figures(report, Suppression(publish=True, threshold=5))
    assert figures["publish"] and figures["suppress_below"] == 5
    assert figures["registrations"]["new"] == "<5"
    assert figures["courses"][0]["capacity"] == 10  # not a count of people
    assert figures["dispatch"]["events"] == 2  # events are not people either
    assert {r["count"] for r in figures["attributes"]["rows"]} == {"<5"}
    for row in figure_rows(figures):
        value = row[2]
        assert not (isinstance(value, int) and not isinstance(value, bool) and value < 5) or row[
            1
        ] in ("courses", "capacity", "events", "fiscal_year", "reports", "suppress_below"), row


def test_csv_has_a_bom_and_no_formulas(db_session: Any) -> None:
    build_fy2024(db_session)
    program = factories.program(db_session, code="tochigi")
    program.name_ja = '=HYPERLINK("http://evil.example")'
    text = figures_csv(report_figures(_report(db_session), Suppression()))
    assert text.startswith("\ufeff区分,項目,値,割合（%）\r\n")
    assert "'=HYPERLINK" in text
    for line in text.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell or cell[0] not in "=+-@\t\r", line


def test_query_count_does_not_grow_with_the_data(db_session: Any) -> None:
    build_fy2024(db_session)
    db_session.flush()
    with counting_queries() as few:
        _report(db_session, include_attributes=True, as_of=date(2024, 12, 1))
    build_fy2024(db_session, extra=2)
    with counting_queries() as many:
        bigger = _report(db_session, include_attributes=True, as_of=date(2024, 12, 1))
    assert bigger.registrations.new == 4 and bigger.attributes == {
        "family": 8,
        "lived_experience": 4,
    }
    assert len(many) == len(few) <= 14, many


def test_status_counts_on_many_days_agree_with_the_register(db_session: Any) -> None:
    """The report's one-query status counts follow the register's own rules (status_sql)."""
    from supporters.registry import services as registry
    from supporters.reports.figures import status_counts_on
    from tests.reports.conftest import follow_up

    year = build_fy2024(db_session)
    admin = factories.admin_user(db_session)
    toggled = factories.registration(
        db_session, on=date(2022, 1, 10), name="停止 一", reading="テイシ", email="s1@example.jp"
    )
    registry.suspend(
        db_session, actor=admin, registration=toggled, on=date(2023, 1, 1), reason="休止"
    )
    registry.reinstate(db_session, actor=admin, registration=toggled, on=date(2023, 6, 1))
    registry.suspend(  # the same day: the later entry counts
        db_session, actor=admin, registration=toggled, on=date(2023, 6, 1), reason="再休止"
    )
    same_day = factories.registration(
        db_session, on=date(2022, 2, 1), name="停止 二", reading="テイシ", email="s2@example.jp"
    )
    registry.suspend(
        db_session, actor=admin, registration=same_day, on=date(2023, 3, 1), reason="休止"
    )
    registry.reinstate(db_session, actor=admin, registration=same_day, on=date(2023, 3, 1))
    follow_up(db_session, year.lapsed, date(2024, 9, 1))  # renewed after the lapse
    program = factories.program(db_session, code="tochigi")
    days = [
        date(2021, 5, 9),
        date(2022, 12, 31),
        date(2023, 1, 1),
        date(2023, 3, 1),
        date(2023, 6, 1),
        date(2024, 5, 10),
        date(2024, 5, 11),
        date(2024, 8, 31),
        date(2024, 9, 1),
        date(2024, 12, 1),
        date(2025, 3, 31),
        date(2027, 6, 1),
    ]
    ours = status_counts_on(db_session, program, days)
    assert ours[4]["suspended"] == 1 and ours[3]["suspended"] == 1
    for day, counts in zip(days, ours, strict=True):
        assert counts == registry.status_counts(db_session, program, day), day
