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
    """The Japanese-era date followed by the western one: ``"令和5年11月30日 (2023-11-30)"``."""
    return f"{japanese_era(day)} ({day.isoformat()})"
