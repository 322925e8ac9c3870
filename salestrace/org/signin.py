"""Sign-in protection hooks for django-axes: whose address a request comes from, and the answer
to a locked-out sign-in (the login page, or the API's JSON error), in the request's language."""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from salestrace.core.errors import FieldError


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; behind N trusted proxies (SALESTRACE_TRUSTED_PROXY_COUNT), each appending the
    address it saw to X-Forwarded-For, the Nth entry from the right (what the outermost proxy saw).
    Entries further left are whatever the client wrote, so they never count. The same reading as
    django-ninja's throttles (NINJA_NUM_PROXIES), read from the live settings."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.SALESTRACE_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not proxies or not hops:
        return remote
    return hops[-min(proxies, len(hops))]


def lockout_message() -> str:
    """What a locked-out person reads: why, and for how long."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def locked_out(request: HttpRequest, response: HttpResponse | None, credentials: dict[str, Any] | None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After; the API's error format, or the login page."""
    message = lockout_message()
    if request.path.startswith("/api/"):
        error = FieldError(None, "too_many_attempts", message)
        answer: HttpResponse = JsonResponse(
            {"errors": [error.as_dict()]}, status=429, json_dumps_params={"ensure_ascii": False}
        )
    else:
        username = (credentials or {}).get("username") or request.POST.get("username", "")
        form = AuthenticationForm(request, initial={"username": username})
        context = {"form": form, "locked_out": message, "next": request.POST.get("next", "")}
        answer = render(request, "org/login.html", context, status=429)
    answer["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return answer


class SigninAttempts(AxesDatabaseHandler):
    """Axes' database handler (counters shared by every worker), with a looser limit per address
    than per account: a whole office or a carrier's NAT signs in from one address, and one rep's
    ten typos must not lock out everyone behind it, while an address trying many accounts still is.

    Axes compares one count with one limit (AXES_FAILURE_LIMIT, the account's): the address's
    failures are scaled so that it reaches that limit at SALESTRACE_LOGIN_ADDRESS_FAILURE_LIMIT.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        account_limit = settings.AXES_FAILURE_LIMIT
        address_limit = max(settings.SALESTRACE_LOGIN_ADDRESS_FAILURE_LIMIT, account_limit)
        counts = []
        for parameter, attempts in zip(
            settings.AXES_LOCKOUT_PARAMETERS, self.get_user_attempts(request, credentials), strict=False
        ):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            counts.append(failures * account_limit // address_limit if parameter == "ip_address" else failures)
        return max(counts, default=0)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """A successful sign-in clears that account's failures only: a colleague signing in from the
        same address must not wipe a lockout (nor an attacker's own valid account the address's count)."""
        username = get_client_username(request, credentials)
        if username is None:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count
