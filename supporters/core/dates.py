"""Date helpers the whole application shares: month arithmetic, fiscal years, the range of
days it handles, and reading days, months and times as people type them."""

from __future__ import annotations

import calendar
import re
from datetime import date, time

from supporters.core.text import fold

# The days this application can meaningfully handle: date arithmetic (validity cycles,
# fiscal years, month views) never overflows within it.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2200, 12, 31)
_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_ISO_MONTH = re.compile(r"^\s*(-?\d+)-(\d{1,2})\s*$")


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


class NoSuchTime(ValueError):
    """Written as a time but no time of day: 25:00, 12:61."""


_TIME_FORMS = (
    re.compile(r"^(?P<h>\d{1,2})[:.](?P<m>\d{2})$"),  # 13:30, 9:05, 13.30
    re.compile(r"^(?P<h>\d{1,2})(?P<m>\d{2})$"),  # 1330, 930
    re.compile(r"^(?P<h>\d{1,2})時(?:(?P<m>\d{1,2})分|半)?$"),  # 13時30分, 13時, 1時半
)


def parse_time(text: str | None) -> time:
    """A time of day as people type it: 1330, 13:30, １３：３０, 13時30分, 13時, 午後1時半.
    Raises ValueError for anything else (the message names the time), NoSuchTime for an
    hour past 23 or a minute past 59."""
    raw = fold(text).replace(" ", "")
    afternoon = raw.startswith("午後")
    if raw.startswith(("午前", "午後")):
        raw = raw[2:]
    for pattern in _TIME_FORMS:
        match = pattern.match(raw)
        if match is None:
            continue
        hour = int(match.group("h"))
        minute_text = match.groupdict().get("m")
        minute = int(minute_text) if minute_text else (30 if raw.endswith("半") else 0)
        if afternoon and hour < 12:
            hour += 12
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
        raise NoSuchTime(f"not a time of day (no such hour or minute): {text!r}")
    raise ValueError(f"not a time of day: {text!r}")


def parse_day(
    text: str | None, *, earliest: date = EARLIEST_DAY, latest: date = LATEST_DAY
) -> date:
    """A YYYY-MM-DD text as a date within [earliest, latest]; ValueError otherwise."""
    match = _ISO_DAY.match(text or "")
    if not match:
        raise ValueError(f"not a date: {text!r}")
    day = date(*(int(part) for part in match.groups()))
    if not earliest <= day <= latest:
        raise ValueError(f"{day.isoformat()} is outside {earliest} to {latest}")
    return day


def parse_month(text: str | None) -> date:
    """A YYYY-MM text as the first day of that month, within the application's range;
    ValueError otherwise."""
    match = _ISO_MONTH.match(text or "")
    if not match:
        raise ValueError(f"not a month: {text!r}")
    year, month = (int(part) for part in match.groups())
    if not EARLIEST_DAY.year <= year <= LATEST_DAY.year:
        raise ValueError(f"year {year} is outside the range")
    return date(year, month, 1)


def is_out_of_range_date_text(text: str) -> bool:
    """A value that is written as a day or a month (2023-11-30, 2023-11) but lies outside
    the range this application handles (9999-12-31, 0001-01-01)."""
    match = _ISO_DAY.match(text) or _ISO_MONTH.match(text)
    if not match:
        return False
    year = int(match.group(1))
    return not EARLIEST_DAY.year <= year <= LATEST_DAY.year
