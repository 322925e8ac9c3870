"""The nightly lead aging commits batch by batch: phones can save while it runs, and a crash
between batches followed by a rerun moves no lead twice and sends no wake-up twice."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from salestrace.actions.models import ActionLog
from salestrace.actions.tests.factories import valid_price_negotiation
from salestrace.customers.jobs import handle_one_dormant_batch, sweep_dormant
from salestrace.customers.models import Customer, PoolMove
from salestrace.notify.models import InboxMessage
from salestrace.todos.jobs import handle_one_wakeup_batch, vitality_sweep
from salestrace.todos.models import Task

SHANGHAI = ZoneInfo("Asia/Shanghai")


def idle_leads(owner: Any, count: int, *, idle_days: int, now: datetime, prefix: str) -> list[Customer]:
    """`count` leads of `owner` whose last action was `idle_days` ago."""
    last = now - timedelta(days=idle_days)
    return Customer.objects.bulk_create(
        Customer(
            name=f"{prefix}{i}",
            kind="store",
            owner=owner,
            stage="needs_confirmed",
            last_active_at=last,
            assigned_at=last - timedelta(days=30),
            created_at=last - timedelta(days=30),
            updated_at=last,
        )
        for i in range(count)
    )


@pytest.mark.django_db(transaction=True)
def test_a_save_during_a_catch_up_sweep_succeeds(personas: Any, api_as: Any, settings: Any) -> None:
    # given a catch-up night: 3,000 leads past the pool limit and 300 past the wake-up limit,
    # swept 10 at a time so that the sweep runs for a while
    settings.SALESTRACE_SWEEP_BATCH = 10
    settings.SALESTRACE_SWEEP_LOCK_MS = 20
    now = datetime.now(SHANGHAI)
    idle_leads(personas.alice, 3000, idle_days=60, now=now, prefix="老店")
    idle_leads(personas.alice, 300, idle_days=20, now=now, prefix="冷店")
    shop = idle_leads(personas.alice, 1, idle_days=1, now=now, prefix="新店")[0]
    api = api_as(personas.alice)
    finished: list[float] = []

    def sweep() -> None:
        try:
            vitality_sweep(now=now)
        finally:
            finished.append(time.monotonic())
            connection.close()

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    # when alice saves an action once the sweep has committed its first batch
    deadline = time.monotonic() + 60
    while not PoolMove.objects.exists() and sweeper.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    started = time.monotonic()
    response = api.post("/actions", valid_price_negotiation(shop.pk, datetime.now(SHANGHAI)))
    saved = time.monotonic()
    moved_when_saved = PoolMove.objects.count()
    sweeper.join(timeout=120)
    # then the save went through while the sweep was still at work, without waiting for its end
    assert response.status_code == 201, response.content
    assert finished, "the sweep did not finish"
    assert saved < finished[0], "the save waited for the whole sweep"
    # (after its first batch had committed; whether the last pool move was in by the time the save
    # answered depends on the machine's speed, so only the sweep's end is compared)
    assert moved_when_saved > 0
    assert saved - started < 2
    assert ActionLog.objects.filter(customer=shop).count() == 1
    # and the sweep finished its night all the same
    assert PoolMove.objects.filter(kind=PoolMove.Kind.ENTERED).count() == 3000
    assert Task.objects.filter(source=Task.Source.WAKE_UP).count() == 300


@pytest.mark.django_db
def test_a_crash_between_batches_then_a_rerun_moves_no_lead_twice_and_wakes_none_twice(
    personas: Any, settings: Any
) -> None:
    # given 30 leads past the pool limit and 30 past the wake-up limit
    settings.SALESTRACE_SWEEP_BATCH = 10
    now = datetime(2026, 11, 27, 1, 30, tzinfo=SHANGHAI)
    idle_leads(personas.alice, 30, idle_days=60, now=now, prefix="老店")
    idle_leads(personas.alice, 30, idle_days=20, now=now, prefix="冷店")
    # and a sweep that died after its first committed batch of pool moves
    assert handle_one_dormant_batch(now=now).moved == 10
    # and a rerun that died after the rest of the pool moves and one batch of wake-ups, before anyone was told
    assert sweep_dormant(now=now) == 20
    assert handle_one_wakeup_batch(now=now).handled == 10
    # when the sweep runs again that night, and once more
    vitality_sweep(now=now)
    vitality_sweep(now=now + timedelta(minutes=5))
    # then each lead moved to the pool once, and got one wake-up task
    moves = list(PoolMove.objects.filter(kind=PoolMove.Kind.ENTERED).values_list("customer_id", flat=True))
    assert len(moves) == len(set(moves)) == 30
    assert Customer.objects.filter(status=Customer.Status.DORMANT).count() == 30
    woken = list(Task.objects.filter(source=Task.Source.WAKE_UP).values_list("customer_id", flat=True))
    assert len(woken) == len(set(woken)) == 30
    # and alice and her supervisor were each told once, about all thirty
    mine = InboxMessage.objects.get(user=personas.alice, source="wakeup")
    assert "30" in mine.title
    assert InboxMessage.objects.filter(user=personas.sam, source="wakeup").count() == 1


@pytest.mark.django_db
def test_each_batch_reads_its_customers_in_order_without_sorting_them_all(personas: Any) -> None:
    """A batch asks for the next active customers by id; on SQLite that must be an index seek, not
    a read and sort of every active customer (once per batch, hundreds of times a catch-up night).
    PostgreSQL's planner chooses by its own statistics: there the batches only have to be right."""
    from django.test.utils import CaptureQueriesContext

    now = datetime.now(SHANGHAI)
    idle_leads(personas.alice, 30, idle_days=60, now=now, prefix="老店")
    idle_leads(personas.alice, 30, idle_days=20, now=now, prefix="冷店")
    with CaptureQueriesContext(connection) as context:
        assert handle_one_dormant_batch(now=now, size=10).moved == 10
        assert handle_one_wakeup_batch(now=now, size=10).handled == 10
    batches = [q["sql"] for q in context.captured_queries if q["sql"].startswith("SELECT") and "LIMIT 10" in q["sql"]]
    assert len(batches) == 2
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for sql in batches:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " / ".join(str(row[-1]) for row in cursor.fetchall())
            assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
            assert "customer_status_id_idx" in plan, plan
