"""Reading the field pages' form and query values: a value that cannot be read is None (the
service then says what is missing), never an exception."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from salestrace.core import clock
from salestrace.core.errors import DomainError, NotFound, PermissionDenied

T = TypeVar("T")

MAX_ID = 10**12


def today() -> date:
    """Today in Asia/Shanghai."""
    return timezone.localtime(clock.now()).date()


def day_or(raw: str | None, default: date) -> date:
    """An ISO date (2026-12-04), else `default`."""
    parsed = parse_date(raw) if raw and len(raw) == 10 else None
    return parsed or default


def decimal_or_none(raw: str | None) -> Decimal | None:
    """A number as typed; amounts may carry ¥/￥ and thousands separators (1,234.50)."""
    text = (raw or "").replace(",", "").replace("￥", "").replace("¥", "").strip()
    if not text or len(text) > 40:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def id_or_none(raw: str | None) -> int | None:
    """A whole number from 0 below MAX_ID (an id, a distance in metres)."""
    text = (raw or "").strip()
    if not text.isdigit() or len(text) > 12:
        return None
    value = int(text)
    return value if value < MAX_ID else None


def moment_or_none(raw: str | None) -> datetime | None:
    """The phone's time of a tap (ISO 8601 with its offset); None when absent, unreadable or naive."""
    parsed = parse_datetime(raw[:40]) if raw else None
    return parsed if parsed is not None and timezone.is_aware(parsed) else None


def attempt(request: HttpRequest, work: Callable[[], T]) -> T | None:
    """A service call for a page that redirects afterwards: not found is a 404, not allowed a 403,
    any other refusal a message on the next page (and None here)."""
    try:
        return work()
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied from exc
    except DomainError as exc:
        messages.error(request, "；".join(str(e.message) for e in exc.errors))
        return None
