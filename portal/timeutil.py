"""Time helpers: the portal stores naive UTC datetimes everywhere (same on SQLite and MySQL)."""

import time
from datetime import UTC, datetime, timedelta, timezone

# WeChat's daily and monthly limits start at 00:00 Beijing time (UTC+8, no daylight saving).
BEIJING = timezone(timedelta(hours=8))


def utcnow():
    """Current UTC time as a naive datetime, second precision (MySQL DATETIME keeps no fraction)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def epoch():
    return int(time.time())


def from_epoch(seconds):
    """WeChat's epoch seconds as a naive UTC datetime; None for a missing or zero time."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None) if seconds else None


def to_epoch(when):
    """A naive UTC datetime as whole epoch seconds, to compare with the times WeChat reports."""
    return int(when.replace(tzinfo=UTC).timestamp())


def beijing_day_and_month_starts(now):
    """The naive-UTC instants at which the Beijing day and the Beijing calendar month holding `now` (naive
    UTC) began: the windows WeChat's per-day and per-month limits are counted in."""
    day = now.replace(tzinfo=UTC).astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    return tuple(t.astimezone(UTC).replace(tzinfo=None) for t in (day, month))


def beijing_month(now):
    """The Beijing calendar month ("2026-12") holding `now` (naive UTC)."""
    return (now + timedelta(hours=8)).strftime("%Y-%m")
