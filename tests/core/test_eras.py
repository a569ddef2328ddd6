"""Era and fiscal-year labels: the day before, on and after each era boundary, and the
first fiscal year of each era (元年, never 1年)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from supporters.core.dates import fiscal_year
from supporters.core.eras import fiscal_year_label, format_date, japanese_era
from tests import factories


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(1989, 1, 6), "昭和64年1月6日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1989, 1, 9), "平成元年1月9日"),
        (date(1989, 12, 31), "平成元年12月31日"),
        (date(1990, 1, 1), "平成2年1月1日"),
        (date(2019, 4, 29), "平成31年4月29日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 5, 2), "令和元年5月2日"),
        (date(2019, 12, 31), "令和元年12月31日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(2023, 11, 30), "令和5年11月30日"),
    ],
)
def test_japanese_era(day: date, expected: str) -> None:
    assert japanese_era(day) == expected


def test_format_date_gives_the_era_date_with_its_weekday() -> None:
    assert format_date(date(2019, 5, 1)) == "令和元年5月1日（水）"
    assert format_date(date(1989, 1, 8)) == "平成元年1月8日（日）"
    assert format_date(date(2026, 12, 14)) == "令和8年12月14日（月）"


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (1988, "昭和63年度"),
        (1989, "平成元年度"),
        (1990, "平成2年度"),
        (2018, "平成30年度"),
        (2019, "令和元年度"),
        (2020, "令和2年度"),
        (2023, "令和5年度"),
    ],
)
def test_fiscal_year_label(year: int, expected: str) -> None:
    assert fiscal_year_label(year) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # 年度 runs April to March, so an era boundary inside it does not change its label
        (date(1989, 1, 7), "昭和63年度"),
        (date(1989, 1, 8), "昭和63年度"),
        (date(1989, 3, 31), "昭和63年度"),
        (date(1989, 4, 1), "平成元年度"),
        (date(2019, 3, 31), "平成30年度"),
        (date(2019, 4, 1), "令和元年度"),
        (date(2019, 4, 30), "令和元年度"),
        (date(2019, 5, 1), "令和元年度"),
        (date(2020, 3, 31), "令和元年度"),
        (date(2020, 4, 1), "令和2年度"),
    ],
)
def test_fiscal_year_label_of_a_day(day: date, expected: str) -> None:
    assert fiscal_year_label(fiscal_year(day)) == expected


@pytest.mark.parametrize(
    ("on", "expected", "wrong"),
    [(date(1989, 6, 1), "平成元年度", "平成1年度"), (date(2019, 6, 1), "令和元年度", "令和1年度")],
)
def test_a_course_page_names_the_first_fiscal_year_of_an_era_gannen(
    client: Any, db_session: Any, login_as: Any, on: date, expected: str, wrong: str
) -> None:
    course = factories.course(db_session, program_code="kagawa", on=on)
    db_session.commit()
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert expected in page
    assert wrong not in page


def test_a_fiscal_year_before_showa_is_given_in_the_western_form() -> None:
    assert fiscal_year_label(1920) == "1920年度"
