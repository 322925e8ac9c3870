"""The dormant pool page (休眠线索池). The customer list and page show actions too: they live in actions.views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from salestrace.catalog.selectors import option_catalog
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.core.xlsx import xlsx_response
from salestrace.customers.compute import idle_days
from salestrace.customers.rules import reactivation_refusal
from salestrace.customers.selectors import pool_entry_released, pool_list, pool_policy
from salestrace.customers.services import pool_claim, pool_reassign, pool_release
from salestrace.org.models import User
from salestrace.org.selectors import assignable_reps, can_assign_owner

POOL_PAGE = 50


@login_required
@require_http_methods(["GET", "POST"])
def pool_page(request: HttpRequest) -> HttpResponse:
    """The pool: leads idle past the limit, to claim (reps) or reassign (supervisors and up)."""
    user: User = request.user  # type: ignore[assignment]
    now = clock.now()
    if request.method == "POST":
        return _pool_post(request, user, now)
    policy = pool_policy()
    entries = list(pool_list(user=user, claim_scope=policy.claim_scope, q=request.GET.get("q", "")[:100])[:POOL_PAGE])
    catalog = option_catalog()
    rows = [
        {
            "customer": c,
            "stage": catalog.labels.get("stage", {}).get(c.stage, c.stage),
            "pool_days": idle_days(c.pool_entered_at or now, now),
            "locked": reactivation_refusal(
                actor_id=user.pk,
                owner_id=c.owner_id,
                pool_entered_at=c.pool_entered_at,
                released=pool_entry_released(customer=c),
                policy=policy,
                now=now,
            )
            is not None,
        }
        for c in entries
    ]
    if request.GET.get("format") == "xlsx":
        return _pool_xlsx(rows)
    may_reassign = can_assign_owner(user)
    context = {
        "rows": rows,
        "may_claim": user.role in policy.claim_roles,
        "may_reassign": may_reassign,
        "assignees": assignable_reps(user) if may_reassign else [],
        "policy": policy,
        "q": request.GET.get("q", ""),
    }
    return render(request, "customers/pool.html", context)


def _pool_xlsx(rows: list[dict[str, Any]]) -> HttpResponse:
    """The pool as the page lists it (search applied), for Excel."""
    headers = [_("Customer"), _("Stage"), _("Previous owner"), _("Days in the pool"), _("City"), _("Region")]
    data = [
        [
            r["customer"].name,
            r["stage"],
            str(r["customer"].owner),
            r["pool_days"],
            r["customer"].city,
            r["customer"].region,
        ]
        for r in rows
    ]
    return xlsx_response("dormant-pool.xlsx", str(_("Dormant pool")), headers, data)


def _pool_post(request: HttpRequest, user: User, now: datetime) -> HttpResponse:
    try:
        customer_id = int(request.POST.get("customer_id", ""))
        op = request.POST.get("op", "")
        if op == "claim":
            customer = pool_claim(user=user, customer_id=customer_id, now=now)
            messages.success(request, _("Claimed: %(name)s") % {"name": customer.name})
            return redirect("customers:detail", customer.pk)
        if op == "reassign":
            owner_id = int(request.POST.get("owner_id", ""))
            customer = pool_reassign(
                user=user,
                customer_id=customer_id,
                owner_id=owner_id,
                reason=request.POST.get("reason", "")[:300],
                now=now,
            )
            messages.success(
                request, _("Reassigned: %(name)s → %(owner)s") % {"name": customer.name, "owner": customer.owner}
            )
            return redirect("customers:pool")
        if op == "release":
            customer = pool_release(
                user=user, customer_id=customer_id, reason=request.POST.get("reason", "")[:300], now=now
            )
            messages.success(request, _("Released to the pool: %(name)s") % {"name": customer.name})
            return redirect("customers:detail", customer.pk)
        messages.error(request, _("Unknown operation."))
    except ValueError:
        messages.error(request, _("Choose a lead (and a new owner) first."))
    except DomainError as exc:
        for error in exc.errors:
            messages.error(request, str(error.message))
    return redirect("customers:pool")
