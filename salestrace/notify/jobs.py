"""Sending the outbox: one delivery at a time, claimed atomically, retried with exponential backoff."""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import F, Min, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from salestrace.catalog.selectors import may_configure
from salestrace.core import clock
from salestrace.core.errors import FieldError, PermissionDenied
from salestrace.notify import crypto, hosts, transports, webhooks
from salestrace.notify.compute import failure_text, fits
from salestrace.notify.models import Channel, Delivery, WebhookDelivery, WebhookEndpoint
from salestrace.notify.selectors import (
    GROUP_CHANNELS,
    Address,
    ChannelConfig,
    address_for,
    environment_config,
    team_configs,
)
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
from salestrace.notify.webhooks import WebhookFailed

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from salestrace.org.models import User

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
# Our clock stamps a send just before the request reaches the vendor, whose own minute is measured at
# arrival: a second of margin keeps the 21st message out of the vendor's window (DingTalk answers
# one message too many with a ten-minute block).
WINDOW_MARGIN = timedelta(seconds=1)
# Team digests waiting for one robot that are looked at to fill one vendor message.
MERGE_CANDIDATES = 200
# deliver_due waits this long at most for a throttled robot's next slot instead of ending its run.
MAX_WAIT_SECONDS = 5.0


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
    # Digests sent together in one vendor message count once: only the leading row has no sent_with.
    recent = Delivery.objects.filter(
        rate_key=rate_key, last_attempt_at__gt=now - WINDOW - WINDOW_MARGIN, sent_with=None
    ).exclude(pk=delivery.pk)
    if recent.count() < limit:
        return None
    oldest = recent.aggregate(oldest=Min("last_attempt_at"))["oldest"]
    return (oldest or now) + WINDOW + WINDOW_MARGIN


def _address(delivery: Delivery, configs: dict[int, ChannelConfig]) -> Address | None:
    """Where the delivery goes under today's settings: a person's address, or a team's robot for a digest."""
    config = configs.get(delivery.team_id or 0, environment_config())
    if delivery.user is not None:
        if not delivery.user.is_active:
            return None
        return address_for(
            delivery.channel, config=config, wecom_userid=delivery.user.wecom_userid, email=delivery.user.email
        )
    if delivery.team_id is not None and delivery.channel in GROUP_CHANNELS:
        return address_for(delivery.channel, config=config, wecom_userid="", email="")
    return None


def _digest_companions(delivery: Delivery, rate_key: str, now: datetime) -> tuple[Message, list[Delivery]]:
    """Other teams' digests due for the same robot that fit in one vendor message with this one."""
    message = Message.from_json(delivery.payload)
    if delivery.user_id is not None or delivery.channel not in GROUP_CHANNELS or not rate_key:
        return message, []
    candidates = (
        Delivery.objects.filter(
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            user=None,
            channel=delivery.channel,
            rate_key=rate_key,
            title=delivery.title,
        )
        .exclude(pk=delivery.pk)
        .order_by("next_attempt_at", "pk")[:MERGE_CANDIDATES]
    )
    companions: list[Delivery] = []
    for candidate in candidates:
        trial = message.merged([Message.from_json(candidate.payload)])
        if not fits(delivery.channel, trial):
            break
        message = trial
        companions.append(candidate)
    return message, companions


def handle_one_delivery(*, now: datetime, configs: dict[int, ChannelConfig] | None = None) -> bool:
    """Send at most one due vendor message; False when nothing is due. `configs`: team settings, if loaded.

    A group robot's due team digests go out together, as many as fit in one message of that vendor.
    """
    delivery = (
        Delivery.objects.select_related("user")
        .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .first()
    )
    if delivery is None:
        return False
    address = _address(delivery, configs if configs is not None else team_configs())
    if address is None or address.problem:
        # Only a person can fix either: the delivery waits in the log, failed, for an admin's retry.
        error = address.problem if address is not None else "channel no longer configured for this recipient"
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, last_error=error
        )
        return True
    if (until := _throttle_until(delivery, address.rate_key, now)) is not None:
        # Queue behind the robot's per-minute limit: not an attempt, not an error. Everything due
        # for that robot waits with it, so a saturated robot costs one look, not one per row.
        Delivery.objects.filter(
            Q(pk=delivery.pk) | Q(rate_key=address.rate_key, next_attempt_at__lte=now),
            status=Delivery.Status.PENDING,
        ).update(next_attempt_at=until)
        return True
    message, companions = _digest_companions(delivery, address.rate_key, now)
    claimed = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        rate_key=address.rate_key,
        sent_with=None,
    )
    if claimed != 1:
        return True  # another worker took it
    group = [delivery]
    for companion in companions:
        if Delivery.objects.filter(pk=companion.pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now, sent_with=delivery.pk
        ):
            group.append(companion)
    if len(group) != len(companions) + 1:  # another worker took some: send exactly what we hold
        message = Message.from_json(delivery.payload).merged([Message.from_json(d.payload) for d in group[1:]])
    try:
        # `now` decided what is due; the vendor call itself runs (and is signed) at the real time.
        SENDERS[delivery.channel](message, address.target)
    except RateLimited as exc:
        # Not an attempt: the message waits for the vendor's pause, then goes out once.
        for d in group:
            _finish(
                d,
                Delivery.Status.PENDING,
                str(exc),
                next_at=now + timedelta(seconds=exc.retry_after),
                attempts=d.attempts,
            )
    except DeliveryFailed as exc:
        for d in group:
            _failed(d, str(exc), retryable=exc.retryable, attempts=d.attempts + 1, now=now)
    except Exception as exc:  # a bug or an unexpected answer must not stop the outbox
        # The class and the stack only: an exception's text may hold the URL with its key or token.
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error("delivery %s crashed: %s\n%s", delivery.pk, type(exc).__name__, stack)
        for d in group:
            _failed(d, f"crashed: {type(exc).__name__}", retryable=True, attempts=d.attempts + 1, now=now)
    else:
        Delivery.objects.filter(pk__in=[d.pk for d in group]).update(
            status=Delivery.Status.SENT, sent_at=now, last_error=""
        )
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
    """Work the outbox until nothing is due (or the time budget is spent); returns units handled.

    `now` moves on with the real time the run takes, so a robot's per-minute count sees when its
    messages really went out; a robot whose next slot opens within MAX_WAIT_SECONDS (and within
    the budget) is waited for rather than left to the next run a minute later.
    """
    release_stale_claims(now=now)
    started = time.monotonic()
    wall = clock.now()
    handled = 0
    configs = team_configs()
    while True:
        current = now + (clock.now() - wall)
        if handle_one_delivery(now=current, configs=configs):
            handled += 1
        else:
            upcoming = (
                Delivery.objects.filter(status=Delivery.Status.PENDING)
                .order_by("next_attempt_at")
                .values_list("next_attempt_at", flat=True)
                .first()
            )
            spent = time.monotonic() - started
            room = MAX_WAIT_SECONDS if budget_seconds is None else min(MAX_WAIT_SECONDS, budget_seconds - spent)
            if upcoming is None or (upcoming - current).total_seconds() > room:
                break
            time.sleep(max((upcoming - current).total_seconds(), 0.0) + 0.01)
            if clock.now() == wall + (current - now):
                break  # time stands still (a frozen test clock): waiting cannot help
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
    return handled


# --- the Settings page's "send a test message" ----------------------------------------------------


@dataclass(frozen=True)
class ChannelTest:
    """What a test send did, in words for the admin who pressed the button."""

    ok: bool
    text: str
    target: str = ""  # masked


def channel_test(*, user: User, team_id: int, channel: str, now: datetime) -> ChannelTest:
    """Send one test message now, on `channel` as `team_id` is set up (its own settings, or inherited),
    to the team's group robot or, for WeCom app and e-mail, to `user` themself; the vendor's answer
    in plain words. Nothing is queued or logged as a delivery: the admin is waiting for the answer."""
    if not may_configure(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins may change the settings."))])
    config = team_configs().get(team_id, environment_config())
    address = address_for(channel, config=config, wecom_userid=user.wecom_userid, email=user.email)
    if address is None:
        if channel == Channel.WECOM_APP and not user.wecom_userid:
            return ChannelTest(False, str(_("Your account has no WeCom user id to send the test to.")))
        if channel == Channel.EMAIL and not user.email:
            return ChannelTest(False, str(_("Your account has no e-mail address to send the test to.")))
        return ChannelTest(False, str(_("This channel is not set up for this team (nor inherited from above).")))
    if address.problem:
        return ChannelTest(False, failure_text(channel, address.problem), address.label)
    with override(user.message_language):
        message = Message(
            title=str(_("SalesTrace test message")),
            lines=(transports.Line(str(_("Sent from Settings › Channels by %(name)s.")) % {"name": str(user)}),),
        )
    try:
        SENDERS[channel](message, address.target)
    except DeliveryFailed as exc:
        log.info("channel test %s for team %s failed: %s", channel, team_id, exc)
        return ChannelTest(False, failure_text(channel, str(exc)), address.label)
    return ChannelTest(True, str(_("Delivered: the vendor accepted the test message.")), address.label)


# --- outgoing webhooks ----------------------------------------------------------------------------


def handle_one_webhook(*, now: datetime) -> bool:
    """Send at most one due webhook delivery; False when nothing is due."""
    delivery = (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .first()
    )
    if delivery is None:
        return False
    claimed = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now
    )
    if claimed != 1:
        return True  # another worker took it
    attempts = delivery.attempts + 1
    endpoint = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).first()
    values: dict[str, object]
    try:
        if endpoint is None or not endpoint.is_active:
            raise WebhookFailed("endpoint switched off", retryable=False)
        try:
            secret = crypto.decrypt(endpoint.secret_enc)
        except crypto.SecretUnreadable:
            raise WebhookFailed("signing secret unreadable: rotate it", retryable=False) from None
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        sent = webhooks.post(
            endpoint.url,
            body,
            secret=secret,
            event=delivery.event,
            event_id=str(delivery.event_id),
            timestamp=int(time.time()),  # signed at the real time: receivers refuse old signatures
            timeout=settings.NOTIFY_HTTP_TIMEOUT,
            allowed=hosts.parse_allowed(settings.WEBHOOK_ALLOWED_HOSTS),
        )
    except WebhookFailed as exc:
        values = {"last_error": str(exc)[:300], "response_status": exc.status}
        if exc.retryable and attempts < settings.WEBHOOK_MAX_ATTEMPTS:
            values |= {"status": WebhookDelivery.Status.PENDING, "next_attempt_at": now + backoff(attempts)}
        else:
            values |= {"status": WebhookDelivery.Status.FAILED}
    except Exception as exc:  # a bug must not stop the outbox; the class only (texts may hold the URL)
        log.error("webhook delivery %s crashed: %s", delivery.pk, type(exc).__name__, exc_info=False)
        values = {"last_error": f"crashed: {type(exc).__name__}", "response_status": None}
        if attempts < settings.WEBHOOK_MAX_ATTEMPTS:
            values |= {"status": WebhookDelivery.Status.PENDING, "next_attempt_at": now + backoff(attempts)}
        else:
            values |= {"status": WebhookDelivery.Status.FAILED}
    else:
        values = {
            "status": WebhookDelivery.Status.SENT,
            "sent_at": now,
            "last_error": "",
            "response_status": sent.status,
        }
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**values)
    return True


def deliver_webhooks_due(*, now: datetime, budget_seconds: float | None = None) -> int:
    """Send due webhook deliveries until none is due or the budget is spent; how many were tried."""
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SENDING, last_attempt_at__lt=now - STALE_CLAIM).update(
        status=WebhookDelivery.Status.PENDING
    )
    started, wall, handled = time.monotonic(), clock.now(), 0
    while handle_one_webhook(now=now + (clock.now() - wall)):
        handled += 1
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
    return handled
