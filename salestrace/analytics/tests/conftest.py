"""Deal books shared by the analytics tests (B2B template, East-1 with Alice and Carol, West-1 with Bob)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from salestrace.analytics.tests.factories import OCT, make_deals, won
from salestrace.org.models import Role, User


@pytest.fixture
def b2b(personas: Any, now: datetime) -> None:
    from salestrace.catalog.services import template_load

    template_load(code="b2b_industrial", now=now)


@pytest.fixture
def carol(personas: Any) -> User:
    return User.objects.create_user(username="carol", password="pw-carol", role=Role.REP, team=personas.east1)


@pytest.fixture
def queued(monkeypatch: Any) -> list[int]:
    """Analyses queued for huey (not run: a test runs them by hand)."""
    calls: list[int] = []
    monkeypatch.setattr("salestrace.analytics.services.enqueue_analysis", calls.append)
    return calls


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    """committed(call, *args): call as one committed request, its on_commit work run."""

    def run(call: Any, *args: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            response = call(*args)
        return response

    return run


@pytest.fixture
def book(personas: Any, b2b: None, carol: User) -> None:
    """East-1: Alice won 12 deals of 200k in 20 days, always booking a demo at the lead stage;
    Carol won 4 of 50k in 40 days and lost 8, sending brochures. West-1: Bob won 3 of 1M."""
    plans = [
        won(personas.alice, OCT + timedelta(days=i), days=20, amount="200000", lead_actions=[("book_demo", "visit")])
        for i in range(12)
    ]
    for i in range(12):
        plan = won(carol, OCT + timedelta(days=i), days=40, amount="50000", lead_actions=[("send_brochure", "phone")])
        if i >= 4:
            plan.outcome, plan.closed = "lost", OCT + timedelta(days=i + 30)
        plans.append(plan)
    plans += [won(personas.bob, OCT, days=10, amount="1000000", lead_actions=[]) for _ in range(3)]
    make_deals(plans)
