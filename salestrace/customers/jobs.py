"""Nightly lead aging: idle leads move to the dormant pool. Set-based, idempotent, safe to rerun."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Q

from salestrace.catalog.selectors import threshold_values
from salestrace.core.bulk import WriterTurns, sweep_batch
from salestrace.customers.models import Customer, PoolMove
from salestrace.customers.rules import IdleLimits
from salestrace.customers.services import customer_brief
from salestrace.notify.models import WebhookEvent
from salestrace.notify.webhook_services import webhook_emit, webhook_listening


def idle_since_before(cutoff: datetime) -> Q:
    """Customers with no action (and no new owner) since `cutoff`; never-contacted ones count from creation."""
    quiet = Q(last_active_at__lt=cutoff) | Q(last_active_at__isnull=True, created_at__lt=cutoff)
    return quiet & (Q(assigned_at__isnull=True) | Q(assigned_at__lt=cutoff))


def idle_groups(limits: IdleLimits, limit: str, now: datetime) -> list[Q]:
    """One filter per idle limit (`vitality_dormant_days` or `vitality_wakeup_days`): customers idle
    past it. Stage overrides first, then kind overrides, then everyone else, so each customer is
    judged by exactly one limit.
    """
    keys = {key for (name, key) in limits.overrides if name == limit}
    kinds = keys & set(Customer.Kind.values)
    stages = keys - kinds
    days = limits.dormant if limit == "vitality_dormant_days" else limits.wakeup
    groups = [Q(stage=s) & idle_since_before(now - timedelta(days=days(kind="", stage=s))) for s in stages]
    groups += [
        Q(kind=k) & ~Q(stage__in=stages) & idle_since_before(now - timedelta(days=days(kind=k, stage="")))
        for k in kinds
    ]
    default = days(kind="", stage="")
    groups.append(~Q(stage__in=stages) & ~Q(kind__in=kinds) & idle_since_before(now - timedelta(days=default)))
    return groups


class DormantBatch(NamedTuple):
    moved: int
    last_pk: int  # the next batch starts after this customer


def handle_one_dormant_batch(
    *,
    now: datetime,
    limits: IdleLimits | None = None,
    size: int | None = None,
    after: int = 0,
    listening: bool = False,
) -> DormantBatch:
    """Move up to `size` active customers idle past their dormant limit (ids above `after`) into
    the pool, in one transaction of its own; `moved` is 0 when none is left.

    Short transactions are the point: on SQLite a write transaction holds the one write lock, and
    a catch-up night moving half a million leads in one transaction would make every phone's save
    wait past its busy timeout and fail. Each batch is two set statements (an INSERT … SELECT of the
    pool moves, an UPDATE of the customers) on ids read under a row lock (PostgreSQL) or the write
    lock (SQLite, IMMEDIATE), in id order so that a night's batches read each customer once: a
    customer moved by a batch is no longer active, so a crash between batches followed by a rerun
    moves no lead twice.
    """
    limits = limits or IdleLimits.from_thresholds(threshold_values())
    size = size or settings.SALESTRACE_SWEEP_BATCH
    idle = Q()
    for group in idle_groups(limits, "vitality_dormant_days", now):
        idle |= group
    with sweep_batch():
        ids = list(
            Customer.objects.select_for_update()
            .filter(idle, status=Customer.Status.ACTIVE, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return DormantBatch(0, after)
        moves, customers = PoolMove._meta.db_table, Customer._meta.db_table
        marks = ", ".join(["%s"] * len(ids))
        at = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            # One statement instead of a model instance per move: the catch-up night writes ~500k of them.
            cursor.execute(
                f"INSERT INTO {moves} (customer_id, kind, at, from_owner_id, reason) "  # noqa: S608 - our table names
                f"SELECT id, %s, %s, owner_id, %s FROM {customers} WHERE id IN ({marks})",
                [PoolMove.Kind.ENTERED.value, at, "idle", *ids],
            )
            cursor.execute(
                f"UPDATE {customers} SET status = %s, pool_entered_at = %s, updated_at = %s "  # noqa: S608
                f"WHERE id IN ({marks})",
                [Customer.Status.DORMANT.value, at, at, *ids],
            )
        if listening:
            # One event per batch, not per lead: a catch-up night is thousands of leads.
            moved = Customer.objects.filter(pk__in=ids).select_related("owner").order_by("pk")
            webhook_emit(
                event=WebhookEvent.CUSTOMER_DORMANT,
                data={"reason": "idle", "customers": [customer_brief(c) for c in moved]},
                now=now,
            )
    return DormantBatch(len(ids), ids[-1])


def sweep_dormant(*, now: datetime, size: int | None = None) -> int:
    """Move every active customer idle past its dormant limit into the pool, batch by batch (each
    committed on its own); returns how many moved. Rerunning moves nothing twice."""
    limits = IdleLimits.from_thresholds(threshold_values())
    moved, after, turns = 0, 0, WriterTurns()
    listening = webhook_listening(WebhookEvent.CUSTOMER_DORMANT)
    while (
        batch := handle_one_dormant_batch(now=now, limits=limits, size=size, after=after, listening=listening)
    ).moved:
        moved += batch.moved
        after = batch.last_pk
        turns.after_batch()
    return moved
