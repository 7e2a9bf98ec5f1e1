"""Time helpers: the portal stores naive UTC datetimes everywhere (same on SQLite and MySQL)."""

import time
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

# WeChat's daily and monthly limits start at 00:00 Beijing time (UTC+8, no daylight saving).
BEIJING = timezone(timedelta(hours=8))

# The zone times are shown in when neither the user nor the platform chose one.
DEFAULT_ZONE = "Asia/Shanghai"
# Offered first in the time zone setting: where the portal's operators and merchants mostly are.
COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Asia/Seoul",
                "Asia/Kolkata", "Asia/Dubai", "Europe/London", "Europe/Berlin", "America/New_York",
                "America/Los_Angeles", "Australia/Sydney", "UTC")


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


@cache
def known_zones():
    """The IANA zone names a user or the platform may choose: zoneinfo's "Region/City" names and UTC. Left out
    are the legacy aliases (PRC, EST5EDT) and the pseudo-zones (localtime, Factory) that name no place and that
    Flask-Babel's pytz cannot all load."""
    return frozenset(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")


def is_known_zone(name):
    return isinstance(name, str) and name in known_zones()


def in_zone(when, zone):
    """A naive UTC datetime as an aware one in `zone` (a tzinfo: zoneinfo's or pytz's)."""
    return when.replace(tzinfo=UTC).astimezone(zone)


def iso_utc(when):
    """A naive UTC datetime as ISO 8601 with a Z (`2026-12-05T18:56:00Z`): the one form machine-readable
    times take, in JSON and in the pages' `<time datetime>`."""
    return when.replace(microsecond=0).isoformat() + "Z"
