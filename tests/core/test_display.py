"""Issue 18 item 1: every date a person reads carries the weekday, in Japanese and English."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from supporters.core.display import era_date, human_date, human_datetime, human_span, lazy


@pytest.mark.parametrize(
    ("day", "ja", "en"),
    [
        (date(2026, 12, 13), "2026年12月13日（日）", "Sun 13 Dec 2026"),
        (date(2026, 12, 14), "2026年12月14日（月）", "Mon 14 Dec 2026"),
        (date(2026, 12, 15), "2026年12月15日（火）", "Tue 15 Dec 2026"),
        (date(2027, 1, 2), "2027年1月2日（土）", "Sat 2 Jan 2027"),
    ],
)
def test_a_day_with_its_weekday(day: date, ja: str, en: str) -> None:
    assert human_date(day, "ja") == ja
    assert human_date(day, "en") == en


def test_era_date_in_japanese_western_in_english() -> None:
    assert era_date(date(2026, 12, 14), "ja") == "令和8年12月14日（月）"
    assert era_date(date(2019, 5, 1), "ja") == "令和元年5月1日（水）"
    assert era_date(date(2026, 12, 14), "en") == "Mon 14 Dec 2026 (令和8年12月14日)"


def test_a_moment_is_read_in_japan_time() -> None:
    # 14:59 UTC on the 13th is 23:59 on Sunday in Japan; 15:00 UTC is Monday 00:00.
    assert human_datetime(datetime(2026, 12, 13, 14, 59, tzinfo=UTC), "ja") == (
        "2026年12月13日（日） 23:59"
    )
    assert human_datetime(datetime(2026, 12, 13, 15, 0, tzinfo=UTC), "ja") == (
        "2026年12月14日（月） 00:00"
    )
    assert human_datetime(datetime(2026, 12, 13, 15, 0), "en") == "Mon 14 Dec 2026 00:00"


def test_a_span_on_one_day_and_over_midnight() -> None:
    start = datetime(2026, 12, 14, 4, 0, tzinfo=UTC)  # 13:00 in Japan
    assert human_span(start, start.replace(hour=7), "ja") == "2026年12月14日（月） 13:00–16:00"
    assert human_span(start, start.replace(hour=16), "en") == (
        "Mon 14 Dec 2026 13:00–Tue 15 Dec 2026 01:00"
    )


def test_a_lazy_date_follows_the_language_in_force(app: object) -> None:
    from flask_babel import force_locale

    text = lazy(human_date, date(2026, 12, 14))
    with app.test_request_context():  # type: ignore[attr-defined]
        with force_locale("en"):
            assert str(text) == "Mon 14 Dec 2026"
        with force_locale("ja"):
            assert str(text) == "2026年12月14日（月）"
