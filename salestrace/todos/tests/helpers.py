"""Building blocks for reminder tests: local times, actions logged through the real service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import time_machine

from salestrace.actions.models import ActionLog
from salestrace.actions.rules import ActionDraft
from salestrace.actions.services import action_log
from salestrace.customers.models import Customer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def make_customer(owner: Any, name: str) -> Customer:
    at = local(2026, 9, 1, 9)
    return Customer.objects.create(
        name=name, owner=owner, kind=Customer.Kind.STORE, stage="lead", created_at=at, updated_at=at
    )


def log(
    rep: Any, customer: Customer, when: datetime, *, key_action: str = "store_check", next_step: date | None = None
) -> ActionLog:
    """A valid FMCG e-mail contact logged by `rep` at `when`, as the phone would."""
    draft = ActionDraft(
        occurred_at=when,
        contact_method="email",
        stage="needs_confirmed",
        key_action=key_action,
        emotion="positive",
        next_step_plan="复查陈列并补货" if next_step else "",
        next_step_date=next_step,
    )
    with time_machine.travel(when, tick=False):
        action, _ = action_log(user=rep, customer_id=customer.pk, draft=draft, now=when)
    return action
