"""Dashboard pages: as thin as the API, the same selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from salestrace.analytics.selectors import GROUPS, vitality_dashboard
from salestrace.core import clock
from salestrace.customers.compute import COLOURS
from salestrace.org.models import User
from salestrace.org.selectors import can_see_dashboards


@login_required
@require_GET
def vitality_page(request: HttpRequest) -> HttpResponse:
    """线索活力仪表盘: colours per rep, team or stage, the weekly trend, and drill-down links."""
    user: User = request.user  # type: ignore[assignment]
    if not can_see_dashboards(user):
        raise DjangoPermissionDenied
    group = request.GET.get("group", "rep")
    board = vitality_dashboard(user=user, group=group if group in GROUPS else "rep", now=clock.now())
    peak = max([sum(c.values()) for _, c in board.weekly] + [1])
    context = {
        "group": board.group,
        "rows": board.rows,
        "totals": board.totals,
        "colours": COLOURS,
        "bands": board.bands,
        "weekly": [
            {"start": start, "counts": counts, "bars": [(c, 100 * counts[c] / peak) for c in COLOURS]}
            for start, counts in board.weekly
        ],
    }
    return render(request, "analytics/vitality.html", context)
