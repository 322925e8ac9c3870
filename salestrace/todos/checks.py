"""System check: warn while the coming days are not covered by an official holiday schedule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _

from salestrace.core import clock
from salestrace.todos.compute import calendar_gap_text
from salestrace.todos.selectors import CALENDAR_HORIZON_DAYS, calendar_gap, work_calendar
from salestrace.todos.workdays import WorkCalendar


@checks.register()
def official_calendar_check(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """todos.W001 when the next 60 days reach a year with no official schedule (entered or shipped)."""
    try:
        calendar = work_calendar()
    except DatabaseError:
        calendar = WorkCalendar()  # not migrated yet (or no database): what the packages know
    gap = calendar_gap(today=timezone.localtime(clock.now()).date(), calendar=calendar)
    if gap is None:
        return []
    return [
        checks.Warning(
            calendar_gap_text(years=gap.years, first_day=gap.first_day, fallback=gap.fallback),
            hint=_("Checked for the next %(days)s days. Write packs/calendar/cn-%(year)s.yaml and run %(command)s.")
            % {
                "days": CALENDAR_HORIZON_DAYS,
                "year": gap.years[0],
                "command": f"manage.py load_calendar cn-{gap.years[0]}",
            },
            id="todos.W001",
        )
    ]
