"""Field pages: the rep's route of the day with check-in, the supervisor's route planner, visit compliance."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salestrace.core import clock
from salestrace.core.errors import DomainError, NotFound, PermissionDenied
from salestrace.core.xlsx import xlsx_response
from salestrace.customers.selectors import customer_get
from salestrace.customers.services import customer_locate
from salestrace.field import compute, forms
from salestrace.field.forms import attempt, day_or, decimal_or_none, id_or_none, moment_or_none
from salestrace.field.models import CheckIn
from salestrace.field.selectors import (
    REPORT_DAYS_MAX,
    ComplianceReport,
    check_in_action_link,
    check_in_get,
    compliance_report,
    field_reps,
    flagged_check_ins,
    own_check_ins,
    plannable_stores,
    route_of,
)
from salestrace.field.services import check_in, check_out, route_plan_copy_week, route_plan_set
from salestrace.org.models import User
from salestrace.org.selectors import can_log_actions, is_manager, team_tree

STORES_OFFERED = 500


def _flag_labels(flags: list[str]) -> list[str]:
    return [str(compute.FLAGS.get(f, f)) for f in flags]


def _visit(made: CheckIn | None) -> dict[str, Any]:
    """What the route page shows of a check-in: its flags in words, the prefilled visit form."""
    if made is None:
        return {"check_in": None}
    return {"check_in": made, "flags": _flag_labels(made.flags), "log_link": check_in_action_link(made)}


@login_required
@require_GET
def route_page(request: HttpRequest) -> HttpResponse:
    """今日路线: the rep's planned stores in order, each with its check-in, and what is left to log."""
    user: User = request.user  # type: ignore[assignment]
    if not can_log_actions(user):
        raise DjangoPermissionDenied
    if (store := id_or_none(request.GET.get("store"))) is not None:
        return redirect(reverse("field:check_in", args=[store]))
    today = forms.today()
    stops = route_of(rep_id=user.pk, day=today)
    visits = own_check_ins(rep=user, day=today)
    planned = {s.customer_id for s in stops}
    context = {
        "today": today,
        "rows": [{"stop": s, **_visit(visits.get(s.customer_id))} for s in stops],
        "extra": [_visit(c) for cid, c in visits.items() if cid not in planned],
        "stores": plannable_stores(user).only("pk", "name")[:STORES_OFFERED],
        "planned_count": len(stops),
        "visited_count": len(planned & visits.keys()),
    }
    return render(request, "field/route.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def check_in_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    """签到: the phone's position (asked by the page's script) and an optional photo."""
    user: User = request.user  # type: ignore[assignment]
    if not can_log_actions(user):
        raise DjangoPermissionDenied
    try:
        customer = customer_get(user=user, customer_id=customer_id, for_write=True)
    except NotFound as exc:
        raise Http404 from exc
    errors: list[str] = []
    if request.method == "POST":
        key = (request.POST.get("key") or "")[:100] or None
        try:
            made, _created = check_in(
                rep=user,
                customer_id=customer.pk,
                now=clock.now(),
                latitude=decimal_or_none(request.POST.get("latitude")),
                longitude=decimal_or_none(request.POST.get("longitude")),
                accuracy_m=id_or_none(request.POST.get("accuracy")),
                photo=request.FILES.get("photo"),
                key=key,
                occurred_at=moment_or_none(request.POST.get("occurred_at")),
            )
        except PermissionDenied as exc:
            raise DjangoPermissionDenied from exc
        except DomainError as exc:
            errors = [str(e.message) for e in exc.errors]
        else:
            if made.distance_m is not None:
                text = _("Checked in at %(store)s, %(metres)d m from the store.") % {
                    "store": customer.name,
                    "metres": made.distance_m,
                }
            else:
                text = _("Checked in at %(store)s.") % {"store": customer.name}
            if made.flags:
                text += " " + _("Noted: %(flags)s.") % {"flags": "；".join(_flag_labels(made.flags))}
            messages.success(request, text)
            return redirect(reverse("field:route"))
    context = {"customer": customer, "key": uuid.uuid4().hex, "errors": errors}
    return render(request, "field/check_in.html", context, status=422 if errors else 200)


@login_required
@require_POST
def check_out_page(request: HttpRequest, check_in_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    made = attempt(
        request,
        lambda: check_out(
            rep=user,
            check_in_id=check_in_id,
            now=clock.now(),
            occurred_at=moment_or_none(request.POST.get("occurred_at")),
            latitude=decimal_or_none(request.POST.get("latitude")),
            longitude=decimal_or_none(request.POST.get("longitude")),
        ),
    )
    if made is not None:
        messages.success(request, _("Checked out of %(store)s.") % {"store": made.customer.name})
    return redirect(reverse("field:route"))


@login_required
@require_http_methods(["GET", "POST"])
def plans_page(request: HttpRequest) -> HttpResponse:
    """路线计划: a supervisor's reps, one rep and day at a time: add, reorder, remove stores; copy a week."""
    user: User = request.user  # type: ignore[assignment]
    if not is_manager(user):
        raise DjangoPermissionDenied
    reps = list(field_reps(user).order_by("username")[:STORES_OFFERED])
    today = forms.today()
    day = day_or(request.GET.get("day") or request.POST.get("day"), today)
    rep_id = id_or_none(request.GET.get("rep") or request.POST.get("rep"))
    rep = next((r for r in reps if r.pk == rep_id), reps[0] if reps else None)
    if request.method == "POST":
        return _plans_post(request, user=user, rep=rep, day=day)
    stops = route_of(rep_id=rep.pk, day=day) if rep else []
    on_route = {s.customer_id for s in stops}
    stores = (
        [c for c in plannable_stores(rep).only("pk", "name")[:STORES_OFFERED] if c.pk not in on_route] if rep else []
    )
    monday = day - timedelta(days=day.weekday())
    context = {
        "reps": reps,
        "rep": rep,
        "day": day,
        "editable": day >= today,
        "stops": stops,
        "stores": stores,
        "days": [monday + timedelta(days=n) for n in range(7)],
        "monday": monday,
        "last_monday": monday - timedelta(days=7),
    }
    return render(request, "field/plans.html", context)


def _plans_post(request: HttpRequest, *, user: User, rep: User | None, day: date) -> HttpResponse:
    now = clock.now()
    op = request.POST.get("op", "")
    back = f"{reverse('field:plans')}?rep={rep.pk if rep else ''}&day={day.isoformat()}"
    if op == "copy_week":
        monday = day - timedelta(days=day.weekday())
        written = attempt(
            request,
            lambda: route_plan_copy_week(by=user, from_monday=monday - timedelta(days=7), to_monday=monday, now=now),
        )
        if written is not None:
            messages.success(request, _("%(count)d stops copied from last week.") % {"count": written})
        return redirect(back)
    if rep is None:
        raise Http404
    stops = [s.customer_id for s in route_of(rep_id=rep.pk, day=day)]
    edited = compute.route_edited(stops, op=op, store=id_or_none(request.POST.get("customer_id")))
    attempt(request, lambda: route_plan_set(by=user, rep_id=rep.pk, day=day, customer_ids=edited, now=now))
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def compliance_page(request: HttpRequest) -> HttpResponse:
    """拜访达成: planned vs visited vs logged per rep over a span of days, the stores behind each gap,
    and the flagged check-ins (a supervisor may take a check-in's location as the store's)."""
    user: User = request.user  # type: ignore[assignment]
    if not is_manager(user):
        raise DjangoPermissionDenied
    today = forms.today()
    if request.method == "POST":
        return _locate_from_check_in(request, user=user)
    last = day_or(request.GET.get("last") or request.POST.get("last"), today)
    first = day_or(request.GET.get("first") or request.POST.get("first"), last)
    if first > last or (last - first).days >= REPORT_DAYS_MAX:
        first = last
    team_id = id_or_none(request.GET.get("team"))
    report = compliance_report(user=user, first=first, last=last, team_id=team_id)
    if request.GET.get("format") == "xlsx":
        return _compliance_xlsx(report)
    flagged = flagged_check_ins(user=user, first=first, last=last)
    context = {
        "report": report,
        "rows": report.reps,
        "first": first,
        "last": last,
        "team_id": team_id,
        "teams": team_tree(),
        "flagged": [{"check_in": c, "flags": _flag_labels(c.flags)} for c in flagged],
        "trend": {
            "days": [d.strftime("%m-%d") for d, _c in report.by_day],
            "names": {"missing": _("Missing record rate"), "visit": _("Visit rate")},
            "missing": [compute.percent_points(c.missing_record_rate) for _d, c in report.by_day],
            "visit": [compute.percent_points(c.visit_rate) for _d, c in report.by_day],
        },
    }
    return render(request, "field/compliance.html", context)


def _locate_from_check_in(request: HttpRequest, *, user: User) -> HttpResponse:
    check_in_id = id_or_none(request.POST.get("check_in"))

    def locate() -> CheckIn:
        made = check_in_get(user=user, check_in_id=check_in_id or 0)
        customer_locate(
            user=user, customer_id=made.customer_id, latitude=made.latitude, longitude=made.longitude, now=clock.now()
        )
        return made

    if (made := attempt(request, locate)) is not None:
        messages.success(
            request, _("%(store)s is now located where this check-in was.") % {"store": made.customer.name}
        )
    return redirect(request.get_full_path())


def _rate(value: float | None) -> float | str:
    return value if value is not None else "—"


def _compliance_xlsx(report: ComplianceReport) -> HttpResponse:
    headers = [
        _("Rep"),
        _("Planned stores"),
        _("Planned and visited"),
        _("Planned and logged"),
        _("Check-ins"),
        _("Check-ins logged"),
        _("Unplanned visits"),
        _("Visit rate"),
        _("Missing record rate"),
    ]
    rows = []
    for row in report.reps:
        f = row.figures
        rows.append(
            [
                str(row.rep),
                f.planned,
                f.planned_visited,
                f.planned_logged,
                f.visits,
                f.visits_logged,
                f.unplanned_visits,
                _rate(f.visit_rate),
                _rate(f.missing_record_rate),
            ]
        )
    name = f"visit-compliance-{report.first.isoformat()}-{report.last.isoformat()}.xlsx"
    return xlsx_response(name, _("Visit compliance"), headers, rows, formats={7: "0.0%", 8: "0.0%"})
