"""Pure measures of single actions. No ORM, no clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal


def late_after(hours: Decimal | int | float) -> timedelta:
    """The template's `late_entry_hours` as a duration."""
    return timedelta(hours=float(hours))


def is_late_entry(*, occurred_at: datetime, logged_at: datetime, limit: timedelta) -> bool:
    """Logged more than `limit` after it happened (exactly `limit` is still on time)."""
    return logged_at - occurred_at > limit
