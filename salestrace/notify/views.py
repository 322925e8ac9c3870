"""设置 · Webhooks (admins only): endpoints that other systems receive our events at, with their delivery log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.notify import crypto
from salestrace.notify.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from salestrace.notify.selectors import webhook_endpoint_rows
from salestrace.notify.webhook_services import (
    SUBSCRIBABLE,
    endpoint_fingerprint,
    may_manage_webhooks,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_ping,
    webhook_redeliver,
    webhook_secret_rotate,
)
from salestrace.org.models import User

# The secret just made, kept in the session only until the next page shows it (post/redirect/get).
NEW_SECRET_SESSION_KEY = "notify.new_webhook_secret"  # noqa: S105 - a session key name
LOG_ROWS = 50


def _admin(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not may_manage_webhooks(user):
        raise DjangoPermissionDenied
    return user


def _events() -> list[tuple[str, str]]:
    return [(code, str(WebhookEvent(code).label)) for code in SUBSCRIBABLE]


def _errors(exc: DomainError) -> dict[str, str]:
    return {e.field or "": str(e.message) for e in exc.errors}


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def webhooks_page(request: HttpRequest) -> HttpResponse:
    """The endpoints with their last delivery, and a form to add one."""
    user = _admin(request)
    errors: dict[str, str] = {}
    form: dict[str, Any] = {"name": "", "url": "", "events": list(SUBSCRIBABLE)}
    if request.method == "POST":
        name, url, events = request.POST.get("name", ""), request.POST.get("url", ""), request.POST.getlist("events")
        form = {"name": name, "url": url, "events": events}
        try:
            endpoint, secret = webhook_endpoint_create(user=user, name=name, url=url, events=events, now=clock.now())
        except DomainError as exc:
            errors = _errors(exc)
        else:
            request.session[NEW_SECRET_SESSION_KEY] = {"id": endpoint.pk, "secret": secret}
            return redirect("notify:webhook", endpoint_id=endpoint.pk)
    context = {"rows": webhook_endpoint_rows(), "form": form, "errors": errors, "events": _events()}
    return render(request, "notify/settings_webhooks.html", context, status=422 if errors else 200)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def webhook_page(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """One endpoint: change it, send a test event, rotate its secret, delete it; its delivery log."""
    user = _admin(request)
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404
    errors: dict[str, str] = {}
    now = clock.now()
    if request.method == "POST":
        do = request.POST.get("do", "save")
        try:
            if do == "ping":
                webhook_ping(user=user, endpoint_id=endpoint.pk, now=now)
                messages.success(request, _("A test event is queued; it is sent within a minute."))
            elif do == "rotate":
                rotated = webhook_secret_rotate(user=user, endpoint_id=endpoint.pk, now=now)
                request.session[NEW_SECRET_SESSION_KEY] = {"id": endpoint.pk, "secret": rotated}
            elif do == "delete":
                webhook_endpoint_delete(user=user, endpoint_id=endpoint.pk, now=now)
                messages.success(request, _("Endpoint %(name)s deleted.") % {"name": endpoint.name})
                return redirect("notify:webhooks")
            elif do == "redeliver":
                delivery_id = int(request.POST.get("delivery", "0") or 0)
                if not WebhookDelivery.objects.filter(pk=delivery_id, endpoint=endpoint).exists():
                    raise Http404
                webhook_redeliver(user=user, delivery_id=delivery_id, now=now)
                messages.success(request, _("The delivery is queued again."))
            else:
                webhook_endpoint_update(
                    user=user,
                    endpoint_id=endpoint.pk,
                    name=request.POST.get("name", ""),
                    url=request.POST.get("url", ""),
                    events=request.POST.getlist("events"),
                    is_active=request.POST.get("is_active") == "on",
                    now=now,
                    seen=request.POST.get("seen", ""),
                )
                messages.success(request, _("Saved."))
        except DomainError as exc:
            errors = _errors(exc)
        except ValueError:
            raise Http404 from None
        else:
            return redirect("notify:webhook", endpoint_id=endpoint.pk)
        endpoint.refresh_from_db()
    secret: str | None = None
    if (new := request.session.pop(NEW_SECRET_SESSION_KEY, None)) and new.get("id") == endpoint.pk:
        secret = new.get("secret")
    context = {
        "endpoint": endpoint,
        "url": crypto.mask(endpoint.url),
        "seen": endpoint_fingerprint(endpoint),
        "secret": secret,
        "errors": errors,
        "events": _events(),
        "log": endpoint.deliveries.order_by("-created_at", "-pk")[:LOG_ROWS],
    }
    return render(request, "notify/settings_webhook.html", context, status=422 if errors else 200)
