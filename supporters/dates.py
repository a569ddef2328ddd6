"""Date helpers the whole application shares."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the 31st becomes the month's last day where needed."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def fiscal_year(day: date) -> int:
    """年度: April to March; FY2023 (令和5年度) runs from 2023-04-01 to 2024-03-31."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_bounds(year: int) -> tuple[date, date]:
    return date(year, 4, 1), date(year + 1, 3, 31)


_ERAS: tuple[tuple[date, str], ...] = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
)


def japanese_era(day: date) -> str:
    """``date(2023, 11, 30)`` → ``"令和5年11月30日"``; the first year of an era is 元年."""
    for start, name in _ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    raise ValueError(f"no Japanese era for {day.isoformat()} (before 昭和)")


def format_date(day: date) -> str:
    """The Japanese-era date followed by the western one: ``"令和5年11月30日 (2023-11-30)"``."""
    return f"{japanese_era(day)} ({day.isoformat()})"
