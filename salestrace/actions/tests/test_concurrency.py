"""Concurrent saves on a real database connection per thread (SQLite WAL or PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections

from salestrace.actions.models import ActionLog
from salestrace.actions.rules import ActionDraft
from salestrace.actions.services import action_log
from salestrace.actions.tests.factories import make_customer
from salestrace.core import clock
from salestrace.customers.models import StageHistory

pytestmark = pytest.mark.django_db(transaction=True)


def draft(at: Any, stage: str = "price_negotiation") -> ActionDraft:
    return ActionDraft(
        occurred_at=at,
        contact_method="email",
        stage=stage,
        key_action="send_quote",
        obstacle="budget_shortage",
        next_step_plan="重新报价",
        next_step_date=(at + timedelta(days=2)).date(),
        emotion="neutral",
    )


def run_in_threads(count: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(count)

    def job(i: int) -> Any:
        try:
            barrier.wait()
            return work(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(job, range(count)))


def test_the_same_idempotency_key_sent_at_once_creates_one_action(personas: Any) -> None:
    # given one store and eight retries of one save racing each other
    shop = make_customer(owner=personas.alice)
    at = clock.now() - timedelta(minutes=5)
    # when
    results = run_in_threads(
        8,
        lambda i: action_log(
            user=personas.alice, customer_id=shop.pk, draft=draft(at), now=clock.now(), idempotency_key="retry-1"
        ),
    )
    # then all of them answer with the same single action
    assert len({action.pk for action, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert ActionLog.objects.count() == 1
    assert StageHistory.objects.filter(customer=shop, action__isnull=False).count() == 1


def test_concurrent_saves_on_one_customer_are_all_kept(personas: Any) -> None:
    # given one store that several people log on at once
    shop = make_customer(owner=personas.alice)
    base = clock.now() - timedelta(minutes=30)
    stages = ["needs_confirmed", "solution_compare", "price_negotiation", "contract_signing"] * 3
    # when twelve saves race, each a minute apart in occurred_at
    results = run_in_threads(
        len(stages),
        lambda i: action_log(
            user=personas.alice,
            customer_id=shop.pk,
            draft=draft(base + timedelta(minutes=i), stages[i]),
            now=clock.now(),
        ),
    )
    # then every acknowledged action is there, and the customer follows the latest one
    assert {a.pk for a, _ in results} == set(ActionLog.objects.values_list("pk", flat=True))
    shop.refresh_from_db()
    assert shop.last_active_at == base + timedelta(minutes=len(stages) - 1)
    assert shop.stage == stages[-1]
