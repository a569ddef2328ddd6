"""Japan time: the one time zone the users, courses and dispatches are in."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from supporters.db import now_utc

TOKYO = ZoneInfo("Asia/Tokyo")


def local_date(moment: datetime) -> date:
    """The date in Japan at this aware moment."""
    return moment.astimezone(TOKYO).date()


def today_in_japan(now: datetime | None = None) -> date:
    """Today in Japan, where the users are: at `now`, or at this moment when it is left out."""
    return local_date(now_utc() if now is None else now)
