"""Factories for action-log tests; customers are created through the service like a user would."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import factory

from salestrace.customers.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"联华超市({n}号店)")
    kind = Customer.Kind.STORE
    region = "华东一区"
    city = "上海"
    stage = "lead"
    created_at = factory.LazyFunction(lambda: datetime.fromisoformat("2026-11-01T00:00:00+00:00"))
    updated_at = factory.SelfAttribute("created_at")


def valid_price_negotiation(customer_id: int, at: datetime, **overrides: Any) -> dict[str, Any]:
    """A price negotiation by e-mail that satisfies every FMCG rule (a visit would need a photo)."""
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "occurred_at": at.isoformat(),
        "contact_method": "email",
        "stage": "price_negotiation",
        "key_action": "send_quote",
        "obstacle": "budget_shortage",
        "next_step_plan": "按新账期重新报价",
        "next_step_date": (at.date() + timedelta(days=3)).isoformat(),
        "next_step_deliverable": "报价单",
        "emotion": "neutral",
    }
    body.update(overrides)
    return body


def tomorrow(at: datetime) -> date:
    return at.date() + timedelta(days=1)


def make_customer(**fields: Any) -> Customer:
    """A saved customer (typed wrapper: factory_boy's call returns Any to type checkers)."""
    customer: Customer = CustomerFactory.create(**fields)
    return customer
