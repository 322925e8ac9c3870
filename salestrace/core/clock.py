"""The one place services ask for the time, so tests can freeze it (time_machine)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return timezone.now()
