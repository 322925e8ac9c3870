"""Chinese working days: the official calendar (holidays and adjusted working weekends, from the
maintained `chinesecalendar` package) plus a company's own days off. Pure: dates in, dates out.

For a year the package does not know yet (the State Council publishes each December), Monday to
Friday count as working days; `calendar_covers` says whether a date is on firm ground.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import chinese_calendar


def calendar_covers(day: date) -> bool:
    """True when the official calendar for `day`'s year is known."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date, days_off: Collection[date] = ()) -> bool:
    """A working day: officially (incl. adjusted weekends) and not a company day off."""
    if day in days_off:
        return False
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: date, count: int, days_off: Collection[date] = ()) -> date:
    """The `count`-th working day after `start` (start itself not counted); count 0 is `start`."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, days_off):
            remaining -= 1
    return day
