"""Deal books for analytics tests, bulk-created (hundreds of rows in a few queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from salestrace.actions.models import ActionLog
from salestrace.actions.tests.factories import make_customer
from salestrace.customers.models import Customer, Deal, StageHistory

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCT = date(2026, 10, 1)


def at(day: date, hour: int = 10) -> datetime:
    """A local moment on `day`."""
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


@dataclass
class Plan:
    """One deal: its outcome, days, stages (code, day) and actions (day, stage, key action, method)."""

    owner: Any
    engaged: date
    outcome: str = "open"
    closed: date | None = None
    amount: Decimal = Decimal("100000.00")
    stages: list[tuple[str, date]] = field(default_factory=list)
    actions: list[tuple[date, str, str, str]] = field(default_factory=list)
    title: str = ""
    expected_close: date | None = None


def make_deals(plans: list[Plan]) -> list[Deal]:
    """Saves the deals of `plans` with one customer per owner, their stage history and actions."""
    customers: dict[int, Customer] = {}
    for plan in plans:
        if plan.owner.pk not in customers:
            customers[plan.owner.pk] = make_customer(owner=plan.owner, name=f"{plan.owner.username}的客户")
    deals = Deal.objects.bulk_create(
        Deal(
            customer=customers[p.owner.pk],
            owner=p.owner,
            title=p.title or f"{p.owner.username}-{i}",
            engaged_on=p.engaged,
            stage=p.stages[-1][0] if p.stages else "lead",
            outcome=p.outcome,
            closed_on=p.closed,
            amount=p.amount,
            expected_close=p.expected_close,
            created_at=at(p.engaged),
            updated_at=at(p.engaged),
        )
        for i, p in enumerate(plans)
    )
    history, actions = [], []
    for deal, p in zip(deals, plans, strict=True):
        for stage, day in p.stages:
            history.append(StageHistory(customer=deal.customer, deal=deal, to_stage=stage, changed_at=at(day)))
        if p.closed:
            history.append(StageHistory(customer=deal.customer, deal=deal, to_stage=p.outcome, changed_at=at(p.closed)))
        for day, stage, key_action, method in p.actions:
            actions.append(
                ActionLog(
                    customer=deal.customer,
                    deal=deal,
                    rep=p.owner,
                    occurred_at=at(day),
                    logged_at=at(day),
                    updated_at=at(day),
                    stage=stage,
                    key_action=key_action,
                    contact_method=method,
                )
            )
    StageHistory.objects.bulk_create(history)
    ActionLog.objects.bulk_create(actions)
    return deals


def won(owner: Any, day: date, *, days: int, amount: str, lead_actions: list[tuple[str, str]]) -> Plan:
    return Plan(
        owner=owner,
        engaged=day,
        outcome="won",
        closed=day + timedelta(days=days),
        amount=Decimal(amount),
        stages=[("lead", day), ("needs_confirmed", day + timedelta(days=5))],
        actions=[(day + timedelta(days=1 + i), "lead", k, m) for i, (k, m) in enumerate(lead_actions)],
    )


def make_customers(owner: Any, n: int, *, stage: str = "lead", prefix: str = "") -> list[Customer]:
    """`n` active customers of `owner`, bulk-created."""
    created = at(OCT)
    return Customer.objects.bulk_create(
        Customer(
            name=f"{prefix or owner.username}-{i}",
            owner=owner,
            stage=stage,
            created_at=created,
            updated_at=created,
        )
        for i in range(n)
    )


def logged(
    customer: Customer, *, rep: Any, occurred: datetime, late: timedelta = timedelta(0), **fields: Any
) -> ActionLog:
    """An unsaved action on `customer` logged `late` after it occurred (complete unless told)."""
    values: dict[str, Any] = {
        "contact_method": "email",
        "stage": "needs_confirmed",
        "key_action": "submit_custom_proposal",
        "obstacle": "technical_doubt",
        "next_step_plan": "安排技术交流",
    }
    values.update(fields)
    return ActionLog(
        customer=customer,
        rep=rep,
        occurred_at=occurred,
        logged_at=occurred + late,
        updated_at=occurred + late,
        **values,
    )
