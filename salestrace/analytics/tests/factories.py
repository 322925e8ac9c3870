"""Deal books for analytics tests, bulk-created (hundreds of rows in a few queries)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from salestrace.actions.models import ActionLog
from salestrace.actions.tests.factories import make_customer
from salestrace.analytics.health import StageMove
from salestrace.customers.models import Customer, Deal, StageHistory
from salestrace.org.models import Role, User

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


NOVEMBER_STAGES = ["lead", "needs_confirmed", "solution_compare", "price_negotiation", "contract_signing"]
OBSTACLES = ["technical_doubt", "budget_shortage", "complex_decision_chain", "competitor_interference"]
OCT1 = OCT


def random_log(reps: list[User], *, seed: int, deals: bool) -> tuple[list[ActionLog], list[StageMove]]:
    """150 actions and 80 stage moves drawn at random over November, on 10 customers per rep."""
    rng = random.Random(seed)
    customers = [c for rep in reps for c in make_customers(rep, 10)]
    deal_of: dict[int, Deal] = {}
    if deals:
        for c in customers:
            deal_of[c.pk] = Deal.objects.create(
                customer=c, owner=c.owner, title=c.name, engaged_on=date(2026, 10, 1), created_at=at(date(2026, 10, 1)),
                updated_at=at(date(2026, 10, 1)),
            )  # fmt: skip
    actions = []
    for _ in range(150):
        customer = rng.choice(customers)
        occurred = at(date(2026, 11, rng.randint(1, 25)), rng.randint(8, 20)) + timedelta(minutes=rng.randint(0, 59))
        actions.append(
            logged(
                customer,
                rep=customer.owner,
                occurred=occurred,
                late=timedelta(minutes=rng.choice([-5, 0, 30, 60, 119, 120, 121, 200, 500, 1500, 5000])),
                deal=deal_of.get(customer.pk),
                stage=rng.choice(NOVEMBER_STAGES),
                key_action=rng.choice(
                    ["", "book_demo", "submit_custom_proposal", "send_quote", "competitor_comparison"]
                ),
                obstacle=rng.choice(["", *OBSTACLES]),
                next_step_plan=rng.choice(["", " ", "等待客户回复", "按新账期重新报价", "再沟通", "约见采购总监"]),
                response_strength=rng.choice(["", "active_question", "confirm_details", "request_delay"]),
            )
        )
    actions = ActionLog.objects.bulk_create(actions)
    history = []
    for _ in range(80):
        customer = rng.choice(customers)
        history.append(
            StageHistory(
                customer=customer,
                deal=deal_of.get(customer.pk),
                to_stage=rng.choice([*NOVEMBER_STAGES, "won", "lost"]),
                changed_at=at(date(2026, 11, rng.randint(1, 26)), rng.randint(0, 23)),
            )
        )
    StageHistory.objects.bulk_create(history)
    moves = [StageMove(h.deal_id or h.customer_id, h.to_stage, h.changed_at) for h in history]
    return actions, moves


def generated_team(personas: Any) -> dict[str, User]:
    """East-1 with four reps logging 100 actions each in November, one customer per action:
    Lily logs half her entries 3 h late; Sid leaves 40 of his next steps blank; at 方案对比 37 of
    the team's 100 actions are blocked by 决策链复杂 (21 planning 等待客户回复), 10 of 100 elsewhere."""
    reps = {
        "alice": personas.alice,
        "carol": User.objects.create_user(username="carol", role=Role.REP, team=personas.east1),
        "lily": User.objects.create_user(username="lily", role=Role.REP, team=personas.east1),
        "sid": User.objects.create_user(username="sid", role=Role.REP, team=personas.east1),
    }
    effective = {"lead": "book_demo", "needs_confirmed": "submit_custom_proposal"}
    effective |= {"solution_compare": "competitor_comparison", "price_negotiation": "send_quote"}
    order = list(reps.values())
    actions = []
    seen: dict[str, int] = defaultdict(int)
    waiting = 0
    for stage in ["lead", "needs_confirmed", "solution_compare", "price_negotiation"]:
        chain = 37 if stage == "solution_compare" else 10
        rest = (100 - chain) // 3
        obstacles = (
            ["complex_decision_chain"] * chain
            + ["technical_doubt"] * rest
            + ["budget_shortage"] * rest
            + ["competitor_interference"] * (100 - chain - 2 * rest)
        )
        customers = Customer.objects.bulk_create(
            Customer(name=f"{stage}-{i}", owner=order[i % 4], stage=stage, created_at=at(OCT1), updated_at=at(OCT1))
            for i in range(100)
        )
        for i, (customer, obstacle) in enumerate(zip(customers, obstacles, strict=True)):
            rep = order[i % 4]
            seen[rep.username] += 1
            plan = "约见采购总监"
            if rep.username == "sid" and seen["sid"] % 5 < 2:
                plan = ""
            elif obstacle == "complex_decision_chain" and stage == "solution_compare" and rep.username != "sid":
                waiting += 1
                plan = "等待客户回复" if waiting <= 21 else plan
            elif obstacle == "budget_shortage":
                plan = "按新账期重新报价"
            late = timedelta(hours=3) if rep.username == "lily" and seen["lily"] % 2 else timedelta(minutes=20)
            actions.append(
                logged(
                    customer,
                    rep=rep,
                    occurred=at(date(2026, 11, 2 + i % 20)),
                    late=late,
                    stage=stage,
                    key_action=effective[stage],
                    obstacle=obstacle,
                    next_step_plan=plan,
                    response_strength="active_question" if i % 3 else "request_delay",
                )
            )
    ActionLog.objects.bulk_create(actions)
    return reps
