"""The only writers of outgoing webhooks: endpoints (Settings › Webhooks, admins only) and their outbox.

`webhook_emit` is called by the service that makes an event, inside its transaction: the delivery
rows commit with the action, stage move or pool move, or not at all (the outbox). The worker sends
them (notify.jobs.deliver_webhooks_due). Events of imports are not sent: history brought in from
another system is not news to it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.models import SettingChange
from salestrace.catalog.services import state_fingerprint
from salestrace.core.errors import Conflict, FieldError, NotFound, PermissionDenied, RuleViolation
from salestrace.notify import crypto, hosts, webhooks
from salestrace.notify.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from salestrace.org.models import Role, User

SUBSCRIBABLE = [e for e in WebhookEvent.values if e != WebhookEvent.PING]


def may_manage_webhooks(user: User) -> bool:
    """Admins only: a webhook sends the company's data to another system."""
    return user.is_active and (user.is_superuser or user.role == Role.ADMIN)


def _refuse_unless_admin(user: User) -> None:
    if not may_manage_webhooks(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins may configure webhooks."))])


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    # Decimals as strings, times in ISO 8601: what the receiver gets, fixed when the event happens.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False))


_muted: ContextVar[bool] = ContextVar("webhooks_muted", default=False)


@contextmanager
def webhooks_muted() -> Iterator[None]:
    """No event is queued inside (an import writes history through the ordinary services)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


_batch: ContextVar[dict[str, list[tuple[int, list[str]]]] | None] = ContextVar("webhook_batch", default=None)


@contextmanager
def webhook_batch() -> Iterator[None]:
    """The endpoints are read once for every event inside (an action save makes two or three)."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def _subscriptions() -> list[tuple[int, list[str]]]:
    memo = _batch.get()
    if memo is not None and "rows" in memo:
        return memo["rows"]
    rows = [
        (pk, list(events)) for pk, events in WebhookEndpoint.objects.filter(is_active=True).values_list("pk", "events")
    ]
    if memo is not None:
        memo["rows"] = rows
    return rows


def webhook_emit(
    *,
    event: str,
    data: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    now: datetime,
    endpoint_ids: Iterable[int] | None = None,
) -> int:
    """Queue `event` for every active endpoint subscribed to it (or for `endpoint_ids`); how many.
    `data` may be a function, called only when someone listens (a save with no endpoint pays one
    query). Call it inside the transaction of the change it reports."""
    if _muted.get():
        return 0
    wanted = set(endpoint_ids) if endpoint_ids is not None else None
    targets = [pk for pk, events in _subscriptions() if (pk in wanted if wanted is not None else event in events)]
    if not targets:
        return 0
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "event": event,
        "created_at": now.isoformat(),
        "data": _jsonable(data() if callable(data) else data),
    }
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=pk, event=event, event_id=event_id, payload=payload, next_attempt_at=now, created_at=now
        )
        for pk in targets
    )
    return len(targets)


def webhook_listening(event: str) -> bool:
    """Whether any active endpoint wants `event` (a sweep asks once before building its payloads)."""
    if _muted.get():
        return False
    return any(event in events for _pk, events in _subscriptions())


def endpoint_state(endpoint: WebhookEndpoint | None) -> dict[str, Any]:
    """What the settings history and the page's conflict check see: the URL masked, never the secret."""
    if endpoint is None:
        return {}
    return {
        "name": endpoint.name,
        "url": crypto.mask(endpoint.url),
        "events": sorted(endpoint.events),
        "is_active": endpoint.is_active,
        "secret": crypto.mask(endpoint.secret_enc[-12:]),  # changes when rotated; shows nothing of it
    }


def endpoint_fingerprint(endpoint: WebhookEndpoint | None) -> str:
    return state_fingerprint(endpoint_state(endpoint))


def _record(user: User, endpoint_id: int, before: dict[str, Any], after: dict[str, Any], now: datetime) -> None:
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            SettingChange.objects.create(
                area=SettingChange.Area.WEBHOOK,
                key=f"{endpoint_id}.{key}",
                before=before.get(key),
                after=after.get(key),
                changed_by=user,
                changed_at=now,
            )


def _checked(name: str, url: str, events: Iterable[str]) -> tuple[str, str, list[str]]:
    errors: list[FieldError] = []
    name, url = name.strip(), url.strip()
    chosen = sorted(set(events))
    if not name:
        errors.append(FieldError("name", "required", _("Give the endpoint a name.")))
    if found := webhooks.url_problem(url, allowed=hosts.parse_allowed(settings.WEBHOOK_ALLOWED_HOSTS)):
        errors.append(FieldError("url", found.value, webhooks.PROBLEM_TEXT[found]))
    if not chosen:
        errors.append(FieldError("events", "required", _("Choose at least one event.")))
    elif any(e not in SUBSCRIBABLE for e in chosen):
        errors.append(FieldError("events", "invalid_choice", _("No such event.")))
    if errors:
        raise RuleViolation(errors)
    return name, url, chosen


def _endpoint_for_update(endpoint_id: int, seen: str | None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound([FieldError(None, "not_found", _("No such webhook endpoint."))])
    if seen is not None and endpoint_fingerprint(endpoint) != seen:
        message = _("Someone else changed this endpoint meanwhile. Reload to see it.")
        raise Conflict([FieldError(None, "changed_meanwhile", message)])
    return endpoint


@transaction.atomic
def webhook_endpoint_create(
    *, user: User, name: str, url: str, events: Iterable[str], now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint with a new signing secret, returned in clear this once (the page shows it once)."""
    _refuse_unless_admin(user)
    name, url, chosen = _checked(name, url, events)
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        name=name,
        url=url,
        secret_enc=crypto.encrypt(secret),
        events=chosen,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    _record(user, endpoint.pk, {}, endpoint_state(endpoint), now)
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(
    *,
    user: User,
    endpoint_id: int,
    name: str,
    url: str,
    events: Iterable[str],
    is_active: bool,
    now: datetime,
    seen: str | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; a URL left blank keeps the stored one (the page never shows it whole)."""
    _refuse_unless_admin(user)
    endpoint = _endpoint_for_update(endpoint_id, seen)
    name, url, chosen = _checked(name, url.strip() or endpoint.url, events)
    before = endpoint_state(endpoint)
    endpoint.name, endpoint.url, endpoint.events, endpoint.is_active = name, url, chosen, is_active
    endpoint.updated_at = now
    endpoint.save()
    _record(user, endpoint.pk, before, endpoint_state(endpoint), now)
    return endpoint


@transaction.atomic
def webhook_secret_rotate(*, user: User, endpoint_id: int, now: datetime) -> str:
    """A new signing secret, in clear this once; the old one stops signing at once (queued
    deliveries are signed when sent, so they carry the new one)."""
    _refuse_unless_admin(user)
    endpoint = _endpoint_for_update(endpoint_id, None)
    before = endpoint_state(endpoint)
    secret = webhooks.new_secret()
    endpoint.secret_enc = crypto.encrypt(secret)
    endpoint.updated_at = now
    endpoint.save(update_fields=["secret_enc", "updated_at"])
    _record(user, endpoint.pk, before, endpoint_state(endpoint), now)
    return secret


@transaction.atomic
def webhook_endpoint_delete(*, user: User, endpoint_id: int, now: datetime) -> None:
    """Delete an endpoint and its delivery log; what was still queued is not sent."""
    _refuse_unless_admin(user)
    endpoint = _endpoint_for_update(endpoint_id, None)
    _record(user, endpoint.pk, endpoint_state(endpoint), {}, now)
    endpoint.delete()


@transaction.atomic
def webhook_ping(*, user: User, endpoint_id: int, now: datetime) -> None:
    """Queue a test event for one endpoint (sent by the worker within the minute, logged as any other)."""
    _refuse_unless_admin(user)
    endpoint = _endpoint_for_update(endpoint_id, None)
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=WebhookEvent.PING,
        event_id=(event_id := uuid.uuid4()),
        payload={"id": str(event_id), "event": WebhookEvent.PING.value, "created_at": now.isoformat(), "data": {}},
        next_attempt_at=now,
        created_at=now,
    )


@transaction.atomic
def webhook_redeliver(*, user: User, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Send a delivery again (the same event id, so a receiver that got it can drop the repeat)."""
    _refuse_unless_admin(user)
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound([FieldError(None, "not_found", _("No such delivery."))])
    if delivery.status in (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.SENDING):
        raise RuleViolation([FieldError(None, "queued", _("This delivery is already waiting to be sent."))])
    delivery.status, delivery.attempts, delivery.next_attempt_at = WebhookDelivery.Status.PENDING, 0, now
    delivery.last_error = ""
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])
    return delivery


def webhook_rollback(user: User, change: SettingChange, now: datetime) -> None:
    """Registered with catalog's setting_rollback: the URL is kept masked in the history (it may
    carry the receiver's token) and a secret not at all, so an endpoint is changed on its page."""
    message = _("Webhook URLs and secrets are not kept in the history: change the endpoint on the Webhooks page.")
    raise Conflict([FieldError(change.key, "not_kept", message)])
