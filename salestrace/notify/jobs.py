"""Sending the outbox: one delivery at a time, claimed atomically, retried with exponential backoff."""

from __future__ import annotations

import logging
import time
import traceback
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Min

from salestrace.notify import transports
from salestrace.notify.models import Channel, Delivery
from salestrace.notify.selectors import ChannelConfig, address_for, environment_config, team_configs
from salestrace.notify.transports import (
    DeliveryFailed,
    Message,
    RateLimited,
    dingtalk,
    email,
    feishu,
    wecom_app,
    wecom_group,
)

log = logging.getLogger(__name__)

SENDERS: dict[str, transports.Sender] = {
    Channel.WECOM_GROUP: wecom_group.send,
    Channel.WECOM_APP: wecom_app.send,
    Channel.DINGTALK: dingtalk.send,
    Channel.FEISHU: feishu.send,
    Channel.EMAIL: email.send,
}
# A claim older than this belongs to a worker that died mid-send; the delivery is tried again.
STALE_CLAIM = timedelta(minutes=10)
WINDOW = timedelta(minutes=1)


def per_minute_limit(channel: str) -> int | None:
    """Messages a group robot accepts per minute (WeCom and DingTalk: 20; Feishu: 100)."""
    return {
        Channel.WECOM_GROUP: settings.WECOM_WEBHOOK_PER_MINUTE,
        Channel.DINGTALK: 20,
        Channel.FEISHU: 100,
    }.get(Channel(channel))


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: base, 2×base, 4×base… (1, 2, 4, 8, 16 min by default)."""
    return timedelta(seconds=settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


def _throttle_until(delivery: Delivery, rate_key: str, now: datetime) -> datetime | None:
    """When the robot behind `rate_key` may take another message, or None if it may now."""
    limit = per_minute_limit(delivery.channel)
    if not rate_key or limit is None:
        return None
    recent = Delivery.objects.filter(rate_key=rate_key, last_attempt_at__gt=now - WINDOW).exclude(pk=delivery.pk)
    if recent.count() < limit:
        return None
    oldest = recent.aggregate(oldest=Min("last_attempt_at"))["oldest"]
    return (oldest or now) + WINDOW


def handle_one_delivery(*, now: datetime, configs: dict[int, ChannelConfig] | None = None) -> bool:
    """Send at most one due delivery; False when nothing is due. `configs`: team settings, if loaded."""
    delivery = (
        Delivery.objects.select_related("user")
        .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .first()
    )
    if delivery is None:
        return False
    address = None
    if delivery.user is not None and delivery.user.is_active:
        configs = configs if configs is not None else team_configs()
        address = address_for(
            delivery.channel,
            config=configs.get(delivery.team_id or 0, environment_config()),
            wecom_userid=delivery.user.wecom_userid,
            email=delivery.user.email,
        )
    if address is None or address.problem:
        # Only a person can fix either: the delivery waits in the log, failed, for an admin's retry.
        error = address.problem if address is not None else "channel no longer configured for this recipient"
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, last_error=error
        )
        return True
    if (until := _throttle_until(delivery, address.rate_key, now)) is not None:
        # Queue behind the robot's per-minute limit: not an attempt, not an error.
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(next_attempt_at=until)
        return True
    claimed = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now, rate_key=address.rate_key
    )
    if claimed != 1:
        return True  # another worker took it
    attempts = delivery.attempts + 1
    try:
        # `now` decided what is due; the vendor call itself runs (and is signed) at the real time.
        SENDERS[delivery.channel](Message.from_json(delivery.payload), address.target)
    except RateLimited as exc:
        _finish(
            delivery,
            Delivery.Status.PENDING,
            str(exc),
            next_at=now + timedelta(seconds=exc.retry_after),
            attempts=attempts - 1,
        )
    except DeliveryFailed as exc:
        _failed(delivery, str(exc), retryable=exc.retryable, attempts=attempts, now=now)
    except Exception as exc:  # a bug or an unexpected answer must not stop the outbox
        # The class and the stack only: an exception's text may hold the URL with its key or token.
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error("delivery %s crashed: %s\n%s", delivery.pk, type(exc).__name__, stack)
        _failed(delivery, f"crashed: {type(exc).__name__}", retryable=True, attempts=attempts, now=now)
    else:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT, sent_at=now, last_error="")
    return True


def _failed(delivery: Delivery, error: str, *, retryable: bool, attempts: int, now: datetime) -> None:
    if retryable and attempts < settings.NOTIFY_MAX_ATTEMPTS:
        _finish(delivery, Delivery.Status.PENDING, error, next_at=now + backoff(attempts), attempts=attempts)
    else:
        _finish(delivery, Delivery.Status.FAILED, error, next_at=None, attempts=attempts)


def _finish(delivery: Delivery, status: str, error: str, *, next_at: datetime | None, attempts: int) -> None:
    values: dict[str, object] = {"status": status, "last_error": error[:2000], "attempts": attempts}
    if next_at is not None:
        values["next_attempt_at"] = next_at
    Delivery.objects.filter(pk=delivery.pk).update(**values)


def release_stale_claims(*, now: datetime) -> int:
    """Deliveries left 'sending' by a worker that died go back to the queue."""
    return Delivery.objects.filter(status=Delivery.Status.SENDING, last_attempt_at__lt=now - STALE_CLAIM).update(
        status=Delivery.Status.PENDING
    )


def deliver_due(*, now: datetime, budget_seconds: float | None = None) -> int:
    """Work the outbox until nothing is due (or the time budget is spent); returns units handled."""
    release_stale_claims(now=now)
    started = time.monotonic()
    handled = 0
    configs = team_configs()
    while handle_one_delivery(now=now, configs=configs):
        handled += 1
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
    return handled
