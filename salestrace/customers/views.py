"""The 我的客户 list and the customer page: thin, selectors read and templates show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.middleware import HtmxDetails

from salestrace.actions.metrics import is_late_entry, late_after
from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.selectors import customer_timeline, summary_needed
from salestrace.catalog.selectors import option_catalog, threshold_values
from salestrace.core import clock
from salestrace.core.errors import DomainError, NotFound
from salestrace.customers.compute import COLOURS, VitalityBands, idle_days
from salestrace.customers.rules import reactivation_refusal
from salestrace.customers.selectors import (
    DirectoryFilters,
    customer_directory,
    customer_get,
    customer_row,
    customer_stage_history,
    pool_entry_released,
    pool_list,
    pool_policy,
)
from salestrace.customers.services import pool_claim, pool_reassign, pool_release
from salestrace.org.models import Role, User
from salestrace.org.selectors import assignable_reps, can_assign_owner, can_log_actions

LIST_PAGE = 30
TIMELINE_PAGE = 20
HISTORY_LIMIT = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@dataclass(frozen=True)
class TimelineEntry:
    """An action on the customer page; `own` is False for actions logged by someone else (read-only)."""

    action: ActionLog
    late: bool
    own: bool
    summary_needed: bool = False


def _id_param(request: HttpRequest, name: str) -> int | None:
    """A positive id from the query string, or None for anything else (the scope still applies)."""
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


def _offset(request: HttpRequest) -> int:
    raw = request.GET.get("offset", "0")
    return min(int(raw), 1_000_000) if raw.isdigit() else 0


@login_required
@require_GET
def customer_list_page(request: HtmxHttpRequest) -> HttpResponse:
    """我的客户: search by name, pinyin or initials; filter by stage and vitality colour."""
    user: User = request.user  # type: ignore[assignment]
    now = clock.now()
    bands = VitalityBands.from_thresholds(threshold_values())
    catalog = option_catalog()
    stage = request.GET.get("stage", "")
    colour = request.GET.get("colour", "")
    filters = DirectoryFilters(
        q=request.GET.get("q", "")[:100],
        stage=stage if stage in catalog.labels.get("stage", {}) else "",
        colour=colour if colour in COLOURS else "",
        owner=_id_param(request, "owner"),
        team=_id_param(request, "team"),
    )
    offset = _offset(request)
    found = list(customer_directory(user=user, filters=filters, bands=bands, now=now)[offset : offset + LIST_PAGE + 1])
    context = {
        "rows": [customer_row(c, bands=bands, now=now) for c in found[:LIST_PAGE]],
        "more": len(found) > LIST_PAGE,
        "next_offset": offset + LIST_PAGE,
        "filters": filters,
        "labels": catalog.labels,
        "stages": catalog.choices.get("stage", []),
        "colours": COLOURS,
        "show_owner": user.role != Role.REP,
    }
    if request.htmx:
        template = "customers/_rows.html" if offset else "customers/_results.html"
        return render(request, template, context)
    return render(request, "customers/list.html", context)


@login_required
@require_GET
def customer_page(request: HtmxHttpRequest, customer_id: int) -> HttpResponse:
    """One customer: header, the timeline of actions newest first, the stage history."""
    user: User = request.user  # type: ignore[assignment]
    try:
        customer = customer_get(user=user, customer_id=customer_id)
    except NotFound as exc:
        raise Http404 from exc
    now = clock.now()
    thresholds = threshold_values()
    late_limit = late_after(thresholds.get("late_entry_hours", 2))
    offset = _offset(request)
    actions, more = customer_timeline(user=user, customer_id=customer.pk, offset=offset, limit=TIMELINE_PAGE)
    context = {
        "customer": customer,
        "entries": [
            TimelineEntry(
                a,
                is_late_entry(occurred_at=a.occurred_at, logged_at=a.logged_at, limit=late_limit),
                a.rep_id == user.pk,
                summary_needed(a),
            )
            for a in actions
        ],
        "more": more,
        "next_offset": offset + TIMELINE_PAGE,
        "labels": option_catalog().labels,
    }
    if request.htmx and offset:
        return render(request, "customers/_timeline_items.html", context)
    context.update(
        row=customer_row(customer, bands=VitalityBands.from_thresholds(thresholds), now=now),
        history=list(customer_stage_history(customer=customer)[:HISTORY_LIMIT]),
        can_log=can_log_actions(user),
        late_hours=thresholds.get("late_entry_hours", 2),
        # A screenshot or recording still being read: the timeline refreshes itself until it is done.
        reading=any(e.recognition == Evidence.Recognition.PENDING for a in actions for e in a.evidence.all()),
    )
    return render(request, "customers/detail.html", context)


# --- the dormant pool (休眠线索池) -------------------------------------------------------------------


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
