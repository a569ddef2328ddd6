"""Dates and times as people read them, always with the weekday: 2026年12月14日（月）, in
English Mon 14 Dec 2026; 令和8年12月14日（月） where forms and letters use the era. Dates people
type (inputs) and CSV files stay ISO (2026-12-14)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from babel.dates import format_date as babel_format_date
from flask_babel import LazyString, get_locale

from supporters.core.eras import format_date, japanese_era
from supporters.core.time import TOKYO

WEEKDAYS_JA = "月火水木金土日"


def weekday_ja(day: date) -> str:
    """``date(2026, 12, 14)`` → ``"月"``."""
    return WEEKDAYS_JA[day.weekday()]


def _locale(locale: str | None) -> str:
    if locale:
        return locale
    try:
        current = get_locale()
    except RuntimeError:  # outside an application context
        current = None
    return current.language if current is not None else "ja"


def human_date(day: date, locale: str | None = None) -> str:
    """``2026年12月14日（月）``; in English ``Mon 14 Dec 2026`` (the current locale unless
    given)."""
    if _locale(locale) == "en":
        return babel_format_date(day, "EEE d MMM y", locale="en")
    return f"{day.year}年{day.month}月{day.day}日（{weekday_ja(day)}）"


def _aware(moment: datetime) -> datetime:
    """Stored moments are UTC; a naive one (a driver that drops the zone) is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def human_datetime(moment: datetime, locale: str | None = None) -> str:
    """An aware moment in Japan time: ``2026年12月14日（月） 13:30`` / ``Mon 14 Dec 2026 13:30``."""
    local = _aware(moment).astimezone(TOKYO)
    return f"{human_date(local.date(), locale)} {local:%H:%M}"


def era_date(day: date, locale: str | None = None) -> str:
    """The era date with its weekday, ``令和8年12月14日（月）``; in English the western date
    first, then the era date as the printed card and letters give it:
    ``Mon 14 Dec 2026 (令和8年12月14日)``."""
    if _locale(locale) == "en":
        return f"{human_date(day, 'en')} ({japanese_era(day)})"
    return format_date(day)


def human_span(start: datetime, end: datetime, locale: str | None = None) -> str:
    """When something takes place: ``2030年5月10日（金） 13:00–16:00``; an end on another day
    gives its date too."""
    first, last = _aware(start).astimezone(TOKYO), _aware(end).astimezone(TOKYO)
    if first.date() == last.date():
        return f"{human_datetime(first, locale)}–{last:%H:%M}"
    return f"{human_datetime(first, locale)}–{human_datetime(last, locale)}"


def lazy(function: Any, *args: Any) -> LazyString:
    """A date text drawn in the language in force when it is shown (a mail is rendered in
    its recipient's language): ``lazy(human_date, day)``."""
    return LazyString(lambda: function(*args))
