"""Japanese era (和暦) labels of days and fiscal years; the first year of an era is 元年."""

from __future__ import annotations

from datetime import date

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
    """The Japanese-era date with its weekday, as forms and letters print it:
    ``"令和5年11月30日（木）"``."""
    return f"{japanese_era(day)}（{'月火水木金土日'[day.weekday()]}）"


def fiscal_year_label(year: int) -> str:
    """``2023`` → ``"令和5年度"``. A fiscal year (April to March) takes the era whose first
    calendar year it starts in: 2019 is 令和元年度 and 1989 平成元年度 (元, never 1), 1988 is
    昭和63年度. A year before 昭和 is given in the western form (``"1920年度"``)."""
    for start, name in _ERAS:
        if year >= start.year:
            number = year - start.year + 1
            return f"{name}{'元' if number == 1 else number}年度"
    return f"{year}年度"
