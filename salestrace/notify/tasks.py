"""The outbox, delivered every minute: WeCom, DingTalk, Feishu, e-mail, with retries; and the outgoing webhooks."""

from __future__ import annotations

from datetime import datetime

from salestrace.core import clock
from salestrace.core.schedule import local_crontab, periodic, register_job
from salestrace.notify.jobs import deliver_due, deliver_webhooks_due

# A huey periodic task must finish well inside its minute, or ticks pile up behind it.
DELIVERY_BUDGET_SECONDS = 50


def deliver(now: datetime) -> int:
    return deliver_due(now=now, budget_seconds=DELIVERY_BUDGET_SECONDS)


register_job("deliver", deliver)


@periodic(local_crontab(minute="*"))
def deliver_tick() -> int:
    return deliver(clock.now())


def deliver_webhooks(now: datetime) -> int:
    return deliver_webhooks_due(now=now, budget_seconds=DELIVERY_BUDGET_SECONDS)


register_job("deliver_webhooks", deliver_webhooks)


# Its own task: a slow receiver must not hold back the 18:00 messages, nor they a receiver.
@periodic(local_crontab(minute="*"))
def deliver_webhooks_tick() -> int:
    return deliver_webhooks(clock.now())
