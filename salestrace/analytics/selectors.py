"""Dashboard reads: one grouped query each, colours computed by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from salestrace.actions.models import ActionLog
from salestrace.catalog.selectors import option_catalog, threshold_values
from salestrace.customers.compute import COLOURS, VitalityBands
from salestrace.customers.models import Customer
from salestrace.customers.selectors import active_at, colour_counts
from salestrace.org.models import User
from salestrace.org.selectors import customer_scope

GROUPS = {
    "rep": ("owner_id", "owner__display_name", "owner__username"),
    "team": ("owner__team_id", "owner__team__name", None),
    "stage": ("stage", None, None),
}
# Leads that can still be worked on: a won or lost deal has no vitality.
OPEN = Q(status__in=[Customer.Status.ACTIVE, Customer.Status.DORMANT])


@dataclass(frozen=True)
class VitalityRow:
    key: str
    label: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def vitality_by(*, user: User, group: str, bands: VitalityBands, now: datetime) -> list[VitalityRow]:
    """Open customers in scope counted per colour, per rep, team or stage; one GROUP BY query."""
    key, label, fallback = GROUPS[group]
    qs = Customer.objects.filter(customer_scope(user), OPEN).annotate(active_at=active_at())
    values = [key] + [f for f in (label, fallback) if f]
    rows = qs.values(*values).annotate(**colour_counts(bands, now)).order_by(*values)
    result = []
    for row in rows:
        name = (row.get(label) if label else None) or (row.get(fallback) if fallback else None) or row[key]
        result.append(VitalityRow(str(row[key]), str(name or "—"), {c: row[c] for c in COLOURS}))
    return result


def vitality_weekly(
    *, user: User, bands: VitalityBands, now: datetime, weeks: int = 8
) -> list[tuple[date, dict[str, int]]]:
    """Colour counts as they stood at the end of each of the last `weeks` weeks (Monday-based, local time).

    A customer's colour at a moment is judged by its last action before that moment; customers
    created later are left out. One query per week.
    """
    today = timezone.localdate(now)
    this_monday = today - timedelta(days=today.weekday())
    result = []
    for back in range(weeks - 1, -1, -1):
        start = this_monday - timedelta(weeks=back)
        end = min(now, timezone.make_aware(datetime.combine(start + timedelta(days=7), datetime.min.time())))
        last = (
            ActionLog.objects.filter(customer=OuterRef("pk"), occurred_at__lte=end)
            .values("customer")
            .annotate(m=Max("occurred_at"))
            .values("m")
        )
        qs = Customer.objects.filter(customer_scope(user), created_at__lte=end).exclude(
            status__in=[Customer.Status.WON, Customer.Status.LOST], last_active_at__lte=end
        )
        qs = qs.annotate(active_at=Coalesce(Subquery(last[:1]), "created_at"))
        counts = qs.aggregate(**colour_counts(bands, end))
        result.append((start, {c: counts[c] or 0 for c in COLOURS}))
    return result


@dataclass(frozen=True)
class VitalityDashboard:
    """Everything the 线索活力 page and API show: bands, rows (stages labelled), totals, weekly trend."""

    group: str
    bands: VitalityBands
    rows: list[VitalityRow]
    totals: dict[str, int]
    weekly: list[tuple[date, dict[str, int]]]


def vitality_dashboard(*, user: User, group: str, now: datetime, weeks: int = 8) -> VitalityDashboard:
    """The vitality dashboard of `user`'s scope, grouped by rep, team or stage."""
    bands = VitalityBands.from_thresholds(threshold_values())
    rows = vitality_by(user=user, group=group, bands=bands, now=now)
    if group == "stage":
        labels = option_catalog().labels.get("stage", {})
        rows = [VitalityRow(r.key, labels.get(r.key, r.label), r.counts) for r in rows]
    totals = {c: sum(r.counts[c] for r in rows) for c in COLOURS}
    return VitalityDashboard(group, bands, rows, totals, vitality_weekly(user=user, bands=bands, now=now, weeks=weeks))
