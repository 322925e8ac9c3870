"""Nightly lead aging: idle leads move to the dormant pool. Set-based, idempotent, safe to rerun."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from salestrace.catalog.selectors import threshold_values
from salestrace.customers.models import Customer, PoolMove
from salestrace.customers.rules import IdleLimits

BATCH = 2000


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


@transaction.atomic
def sweep_dormant(*, now: datetime) -> int:
    """Move every active customer idle past its dormant limit into the pool; returns how many moved.

    Ids are read with a row lock (PostgreSQL) and moved in batches with one UPDATE and one bulk
    INSERT each, so a million customers never load as objects. Rerunning moves nothing twice:
    only customers still active are touched.
    """
    limits = IdleLimits.from_thresholds(threshold_values())
    moved = 0
    for group in idle_groups(limits, "vitality_dormant_days", now):
        ids = list(
            Customer.objects.select_for_update()
            .filter(group, status=Customer.Status.ACTIVE)
            .values_list("pk", "owner_id")
        )
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            Customer.objects.filter(pk__in=[pk for pk, _ in chunk]).update(
                status=Customer.Status.DORMANT, pool_entered_at=now, updated_at=now
            )
            PoolMove.objects.bulk_create(
                PoolMove(customer_id=pk, kind=PoolMove.Kind.ENTERED, at=now, from_owner_id=owner, reason="idle")
                for pk, owner in chunk
            )
            moved += len(chunk)
    return moved
