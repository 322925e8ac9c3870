"""The official-calendar notice for the people who can fix it (admins and directors)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from salestrace.core import clock
from salestrace.org.models import Role
from salestrace.todos.compute import calendar_gap_text
from salestrace.todos.selectors import calendar_gap

register = template.Library()

# Who sees the notice on the product pages: those who enter the schedule or answer for the reminders.
NOTICE_ROLES = frozenset({Role.ADMIN, Role.DIRECTOR})


@register.simple_tag(takes_context=True)
def calendar_notice(context: Any) -> str:
    """The warning text when the next 60 days are not covered by an official schedule and the signed-in
    person is an admin, a director or staff; "" otherwise (one query, only for them)."""
    user = context.get("user")
    if not getattr(user, "is_authenticated", False):
        return ""
    if not (user.is_staff or getattr(user, "role", "") in NOTICE_ROLES):
        return ""
    gap = calendar_gap(today=timezone.localtime(clock.now()).date())
    if gap is None:
        return ""
    return calendar_gap_text(years=gap.years, first_day=gap.first_day, fallback=gap.fallback)
