"""Sign-in protection hooks for django-axes: whose address a request comes from, and the answer
to a locked-out sign-in (the login page, or the API's JSON error), in the request's language."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
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
