"""Dashboard pages: as thin as the API, the same selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from salestrace.analytics.api import DASHBOARD_ROLES
from salestrace.analytics.selectors import GROUPS, vitality_by, vitality_weekly
from salestrace.catalog.selectors import option_catalog, threshold_values
from salestrace.core import clock
from salestrace.customers.compute import COLOURS, VitalityBands
from salestrace.org.models import User


@login_required
@require_GET
def vitality_page(request: HttpRequest) -> HttpResponse:
    """线索活力仪表盘: colours per rep, team or stage, the weekly trend, and drill-down links."""
    user: User = request.user  # type: ignore[assignment]
    if user.role not in DASHBOARD_ROLES and not user.is_superuser:
        raise DjangoPermissionDenied
    group = request.GET.get("group", "rep")
    if group not in GROUPS:
        group = "rep"
    now = clock.now()
    bands = VitalityBands.from_thresholds(threshold_values())
    rows = vitality_by(user=user, group=group, bands=bands, now=now)
    if group == "stage":
        labels = option_catalog().labels.get("stage", {})
        rows = [type(r)(r.key, labels.get(r.key, r.label), r.counts) for r in rows]
    totals = {c: sum(r.counts[c] for r in rows) for c in COLOURS}
    weekly = vitality_weekly(user=user, bands=bands, now=now)
    peak = max([sum(c.values()) for _, c in weekly] + [1])
    context = {
        "group": group,
        "groups": [("rep", "rep"), ("team", "team"), ("stage", "stage")],
        "rows": rows,
        "totals": totals,
        "total": sum(totals.values()),
        "colours": COLOURS,
        "bands": bands,
        "weekly": [
            {"start": start, "counts": counts, "bars": [(c, 100 * counts[c] / peak) for c in COLOURS]}
            for start, counts in weekly
        ],
    }
    return render(request, "analytics/vitality.html", context)
