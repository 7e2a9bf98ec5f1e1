"""Time helpers: the portal stores naive UTC datetimes everywhere (same on SQLite and MySQL)."""

import time
from datetime import UTC, datetime


def utcnow():
    """Current UTC time as a naive datetime, second precision (MySQL DATETIME keeps no fraction)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def epoch():
    return int(time.time())
