"""Dashboard pages: as thin as the API, the same selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from salestrace.analytics.health import Share, flag_names, score_explanation
from salestrace.analytics.health_selectors import (
    DEFAULT_DAYS,
    TREND_WEEKS,
    HealthBoard,
    LateEntry,
    WeekHealth,
    Whose,
    completeness_audit,
    health_trend,
    heat_cell_actions,
    late_entries,
    low_value_contacts,
    may_see_health,
    meeting_period,
    meeting_view,
    trend_period,
)
from salestrace.analytics.metrics import FunnelResult
from salestrace.analytics.selectors import (
    GROUP_KINDS,
    GROUPS,
    TOP_PERFORMERS,
    CycleGroup,
    DealFunnelBoard,
    Period,
    TopPerformersView,
    analysis_cached,
    analysis_labels,
    default_period,
    finding_deals,
    may_see_deal_analysis,
    period_of,
    teams_to_filter,
    top_performers_params,
    top_performers_view,
    vitality_dashboard,
)
from salestrace.analytics.services import (
    Answer,
    contact_quality_answer,
    cycle_answer,
    funnel_answer,
    health_answer,
    heatmap_answer,
    top_performers_get,
)
from salestrace.catalog.selectors import option_catalog
from salestrace.core import clock
from salestrace.core.errors import InvalidInput
from salestrace.core.xlsx import xlsx_response
from salestrace.customers.compute import COLOURS
from salestrace.customers.models import Deal
from salestrace.org.models import Role, User
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


# ---------------------------------------------------------------------------------------------
# Deals (商机): 漏斗 / 周期 / 高手做法

TABS = ("funnel", "cycle", "top")


@dataclass(frozen=True)
class DealParams:
    """The page's query string, parsed leniently (a bad value falls back to its default)."""

    period: Period
    team_id: int | None
    group: str
    top_n: int

    def query(self, **extra: str) -> str:
        values = {"since": self.period.since.isoformat(), "until": self.period.until.isoformat()}
        values |= {"group": self.group, "top_n": str(self.top_n)}
        if self.team_id is not None:
            values["team_id"] = str(self.team_id)
        return urlencode(values | extra)


def _int(value: str | None, default: int | None, low: int = 1, high: int = 10**9) -> int | None:
    try:
        number = int(value) if value else default
    except ValueError:
        return default
    return None if number is None else min(max(number, low), high)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def deal_params(request: HttpRequest) -> DealParams:
    today = timezone.localdate(clock.now())
    try:
        period = period_of(_date(request.GET.get("since")), _date(request.GET.get("until")), today)
    except InvalidInput:
        period = default_period(today)
    group = request.GET.get("group", "top_value")
    return DealParams(
        period=period,
        team_id=_int(request.GET.get("team_id"), None),
        group=group if group in GROUP_KINDS else "top_value",
        top_n=_int(request.GET.get("top_n"), 3, 1, 20) or 3,
    )


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{round(100 * share)}%"


def _funnel_rows(result: FunnelResult, labels: dict[str, str]) -> list[dict[str, Any]]:
    peak = max([s.reached for s in result.stages] + [1])
    return [
        {
            "stage": s,
            "label": labels.get(s.stage, s.stage),
            "width": 100 * s.reached / peak,
            "to_next": _percent(s.conversion_to_next),
            "to_won": _percent(s.conversion_to_won),
            "stall": s.stage == result.stall_stage,
        }
        for s in result.stages
    ]


def _funnel_export(board: DealFunnelBoard) -> HttpResponse:
    headers = [
        gettext("Deals"),
        gettext("Stage"),
        gettext("Reached"),
        gettext("Moved on"),
        gettext("Conversion to next stage"),
        gettext("Won"),
        gettext("Conversion to won"),
        gettext("Median days in stage"),
        gettext("Deals in the median"),
        gettext("Open deals here now"),
    ]
    rows = []
    parts = [(gettext("Team"), board.scope)] + ([(gettext("My deals"), board.mine)] if board.mine else [])
    for name, result in parts:
        for s in result.stages:
            rows.append(
                [
                    name,
                    board.labels.get(s.stage, s.stage),
                    s.reached,
                    s.reached_next,
                    s.conversion_to_next,
                    s.won,
                    s.conversion_to_won,
                    s.median_days,
                    s.n_days,
                    s.open_here,
                ]
            )
    return xlsx_response("funnel", gettext("Funnel"), headers, rows, {4: "0%", 6: "0%", 7: "0.0"})


def _cycle_export(groups: list[CycleGroup]) -> HttpResponse:
    headers = [
        gettext("Group"),
        gettext("Deals"),
        gettext("Won"),
        gettext("Censored (lost or open)"),
        gettext("Mean days to win"),
        gettext("Median days to win"),
        gettext("Kaplan–Meier median days"),
        gettext("95% CI low"),
        gettext("95% CI high"),
    ]
    rows = [
        [
            g.name,
            g.cycle.n_deals,
            g.cycle.n_won,
            g.cycle.n_censored,
            g.cycle.mean_days,
            g.cycle.median_days,
            g.cycle.km_median_days,
            g.cycle.km_ci_low,
            g.cycle.km_ci_high,
        ]
        for g in groups
    ]
    return xlsx_response("cycle-time", gettext("Cycle time"), headers, rows)


def _top_export(view: TopPerformersView) -> HttpResponse:
    headers = [
        gettext("Finding"),
        gettext("Stage"),
        gettext("Group A deals with it"),
        gettext("Group A deals"),
        gettext("Group B deals with it"),
        gettext("Group B deals"),
        gettext("Odds ratio"),
        gettext("95% CI low"),
        gettext("95% CI high"),
        gettext("q-value"),
    ]
    labels = analysis_labels()
    rows = [
        [
            f.sentence,
            labels.get(f.finding.stage, f.finding.stage),
            f.finding.a_count,
            f.finding.a_n,
            f.finding.b_count,
            f.finding.b_n,
            f.finding.odds_ratio,
            f.finding.ci_low,
            f.finding.ci_high,
            f.finding.q_value,
        ]
        for f in view.findings
    ]
    return xlsx_response("top-performers", gettext("Top performers"), headers, rows)


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not may_see_deal_analysis(user):
        raise DjangoPermissionDenied
    return user


@login_required
@require_GET
def deals_page(request: HttpRequest) -> HttpResponse:
    """商机分析: the funnel, time to win, and what the top reps do differently (managers only)."""
    user = _user(request)
    params = deal_params(request)
    tab = request.GET.get("tab", "funnel")
    tab = tab if tab in TABS else "funnel"
    manager = can_see_dashboards(user)
    if tab == "top" and not manager:
        raise DjangoPermissionDenied
    export = request.GET.get("format") == "xlsx"
    context: dict[str, Any] = {"tab": tab, "params": params, "manager": manager, "teams": teams_to_filter(user)}
    if tab == "funnel":
        board, answer = funnel_answer(user=user, period=params.period, team_id=params.team_id, now=clock.now())
        context |= {"computed_at": answer.computed_at, "status": answer.status}
        if board is not None:
            if export:
                return _funnel_export(board)
            context |= {
                "board": board,
                "rows": _funnel_rows(board.scope, board.labels),
                "mine_rows": _funnel_rows(board.mine, board.labels) if board.mine else None,
                "win_rate": _percent(board.scope.win_rate),
                "my_win_rate": _percent(board.mine.win_rate) if board.mine else None,
                "stall_label": board.labels.get(board.scope.stall_stage or "", ""),
            }
    elif tab == "cycle":
        now = clock.now()
        groups, answer = cycle_answer(
            user=user,
            period=params.period,
            today=timezone.localdate(now),
            team_id=params.team_id,
            top_n=params.top_n,
            now=now,
        )
        context |= {"computed_at": answer.computed_at, "status": answer.status}
        if groups is not None:
            if export:
                return _cycle_export(groups)
            chart = [{"name": g.name, "data": [[d, round(100 * s, 1)] for d, s in g.cycle.curve]} for g in groups]
            context |= {"cycle_groups": groups, "chart": chart}
    else:
        result, view = top_performers_get(
            user=user,
            period=params.period,
            team_id=params.team_id,
            group=params.group,
            top_n=params.top_n,
            now=clock.now(),
        )
        if export:
            if view is None:
                raise Http404
            return _top_export(view)
        context |= {"result": result, "view": view}
        if request.headers.get("HX-Request"):
            return render(request, "analytics/_top_performers.html", context)
    return render(request, "analytics/deals.html", context)


@login_required
@require_POST
def deals_recompute(request: HttpRequest) -> HttpResponse:
    """The recompute button: queue the top-performer analysis again (not while it is pending)."""
    user = _user(request)
    if not can_see_dashboards(user):
        raise DjangoPermissionDenied
    params = deal_params(request)
    top_performers_get(
        user=user,
        period=params.period,
        team_id=params.team_id,
        group=params.group,
        top_n=params.top_n,
        now=clock.now(),
        force=True,
    )
    return redirect(f"{reverse('analytics:deals')}?{params.query(tab='top')}")


@login_required
@require_GET
def finding_page(request: HttpRequest, index: int) -> HttpResponse:
    """The deals behind one finding: both groups' deals with actions at its stage, and those actions."""
    user = _user(request)
    if not can_see_dashboards(user):
        raise DjangoPermissionDenied
    params = deal_params(request)
    key = top_performers_params(
        user=user, period=params.period, team_id=params.team_id, group=params.group, top_n=params.top_n
    )
    result = analysis_cached(kind=TOP_PERFORMERS, params=key)
    if result is None or not result.payload or not 0 <= index < len(result.payload["findings"]):
        raise Http404
    view = top_performers_view(result.payload)
    shown = view.findings[index]
    deals = finding_deals(user=user, deal_ids=result.deal_ids or {"a": [], "b": []}, finding=shown.finding)
    labels = analysis_labels()
    outcomes = dict(Deal.Outcome.choices)
    if request.GET.get("format") == "xlsx":
        headers = [
            gettext("Group"),
            gettext("Deal"),
            gettext("Rep"),
            gettext("Outcome"),
            gettext("Shows it"),
            gettext("Actions at this stage"),
            gettext("First action"),
        ]
        rows = [
            [
                view.a_name if d.in_a else view.b_name,
                d.title,
                d.rep,
                str(outcomes.get(d.outcome, d.outcome)),
                gettext("yes") if d.shows_it else gettext("no"),
                len(d.actions),
                timezone.localdate(d.actions[0].occurred_at),
            ]
            for d in deals
        ]
        return xlsx_response("finding-deals", gettext("Deals"), headers, rows, {6: "yyyy-mm-dd"})
    context = {
        "view": view,
        "shown": shown,
        "deals": deals,
        "labels": labels,
        "outcomes": outcomes,
        "params": params,
        "stage_label": labels.get(shown.finding.stage, shown.finding.stage),
    }
    return render(request, "analytics/finding.html", context)


# ---------------------------------------------------------------------------------------------
# Action health (动作健康度): the rep table and trend, the heatmap, contact quality, the audit, and
# the weekly meeting's screen. Reps see their own; supervisors their subtree; directors everyone.

HEALTH_TABS = ("health", "heatmap", "quality", "audit")
MANAGER_TABS = frozenset({"heatmap", "audit"})


@dataclass(frozen=True)
class HealthParams:
    """The health pages' query string, parsed leniently (a bad value falls back to its default)."""

    tab: str
    period: Period
    team_id: int | None
    rep_id: int | None
    page: int = 1

    def query(self, **extra: str) -> str:
        values = {"since": self.period.since.isoformat(), "until": self.period.until.isoformat()}
        if self.team_id is not None:
            values["team_id"] = str(self.team_id)
        if self.rep_id is not None:
            values["rep_id"] = str(self.rep_id)
        values = {"tab": self.tab} | values
        return urlencode({k: v for k, v in (values | extra).items() if v != ""})


def health_params(request: HttpRequest, *, default: Period | None = None) -> HealthParams:
    today = timezone.localdate(clock.now())
    fallback = default or default_period(today, days=DEFAULT_DAYS)
    since, until = _date(request.GET.get("since")), _date(request.GET.get("until"))
    try:
        period = period_of(since, until, today, default_days=DEFAULT_DAYS) if since or until else fallback
    except InvalidInput:
        period = fallback
    tab = request.GET.get("tab", "health")
    return HealthParams(
        tab=tab if tab in HEALTH_TABS else "health",
        period=period,
        team_id=_int(request.GET.get("team_id"), None),
        rep_id=_int(request.GET.get("rep_id"), None),
        page=_int(request.GET.get("page"), 1) or 1,
    )


def _health_user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not may_see_health(user):
        raise DjangoPermissionDenied
    return user


def _share_cells(share: Share) -> list[Any]:
    return [share.value, share.numerator, share.denominator]


def _health_export(board: HealthBoard) -> HttpResponse:
    headers = [
        gettext("Rep"),
        gettext("Health score"),
        gettext("Effective actions"),
        gettext("Expected actions"),
        gettext("Actions"),
        gettext("Completeness"),
        gettext("Timeliness"),
        gettext("Effectiveness"),
        gettext("Moved to a later stage in time"),
        gettext("High-value contact ratio"),
        gettext("Below the line"),
    ]
    names = flag_names()
    rows = [
        [
            r.name,
            r.health.score.score,
            r.health.score.effective,
            r.health.score.expected,
            r.health.counts.actions,
            r.health.completeness.value,
            r.health.timeliness.value,
            r.health.effectiveness.value,
            r.health.moved.value,
            r.health.contact_quality.value,
            "、".join(str(names.get(f, f)) for f in r.health.flags),
        ]
        for r in board.rows
    ]
    shares = dict.fromkeys((5, 6, 7, 8, 9), "0%")
    return xlsx_response("action-health", gettext("Action health"), headers, rows, shares)


def _late_export(entries: list[LateEntry]) -> HttpResponse:
    headers = [gettext("Customer"), gettext("Occurred at"), gettext("Logged at"), gettext("Hours late")]
    rows = [
        [
            e.customer,
            timezone.localtime(e.occurred_at).replace(tzinfo=None),
            timezone.localtime(e.logged_at).replace(tzinfo=None),
            round(e.delay_hours, 1),
        ]
        for e in entries
    ]
    return xlsx_response(
        "late-entries", gettext("Late entries"), headers, rows, {1: "yyyy-mm-dd hh:mm", 2: "yyyy-mm-dd hh:mm", 3: "0.0"}
    )


def _trend_chart(points: list[WeekHealth]) -> dict[str, Any]:
    """The 8-week trend as ECharts series: the score, completeness and timeliness (percent) per week."""
    weeks = [w.week_start.strftime("%m-%d") for w in points]

    def pct(share: Share) -> int | None:
        return None if share.value is None else round(100 * share.value)

    return {
        "weeks": weeks,
        "series": [
            {"name": gettext("Health score"), "data": [w.health.score.score for w in points]},
            {"name": gettext("Completeness"), "data": [pct(w.health.completeness) for w in points]},
            {"name": gettext("Timeliness"), "data": [pct(w.health.timeliness) for w in points]},
        ],
    }


@login_required
@require_GET
def health_page(request: HttpRequest) -> HttpResponse:
    """动作健康度: per rep (a rep: their own), the trend, the heatmap, contact quality and the audit."""
    user = _health_user(request)
    manager = can_see_dashboards(user)
    params = health_params(request)
    if params.tab in MANAGER_TABS and not manager:
        raise DjangoPermissionDenied
    export = request.GET.get("table", "") if request.GET.get("format") == "xlsx" else ""
    context: dict[str, Any] = {
        "params": params,
        "manager": manager,
        "teams": teams_to_filter(user),
        "tab": params.tab,
    }
    if params.tab == "health":
        context |= _health_tab(user, params, manager, export)
    elif params.tab == "heatmap":
        context |= _heatmap_tab(user, params, export)
    elif params.tab == "quality":
        context |= _quality_tab(user, params, export)
    else:
        context |= _audit_tab(request, user, params, export)
    if isinstance(context.get("response"), HttpResponse):
        return context["response"]
    return render(request, "analytics/health.html", context)


HEALTH_PAGE_ROWS = 100


def _kept(answer: Answer) -> dict[str, Any]:
    """What the page says of a kept answer: pending (it refreshes itself), failed, when computed."""
    return {"status": answer.status, "computed_at": answer.computed_at}


def _health_tab(user: User, params: HealthParams, manager: bool, export: str) -> dict[str, Any]:
    rep_id = user.pk if not manager else params.rep_id
    now = clock.now()
    board, answer = health_answer(
        user=user, period=params.period, team_id=params.team_id, rep_id=rep_id, weeks=False, now=now
    )
    if board is None:
        return _kept(answer)
    one = rep_id is not None and board.scope.self_id == rep_id
    late = late_entries(user=user, period=params.period, rep_id=rep_id, board=board) if one and rep_id else []
    if export == "health":
        return {"response": _health_export(board)}
    if export == "late":
        return {"response": _late_export(late)}
    today = timezone.localdate(now)
    points: list[WeekHealth] = []
    if one and rep_id is not None:  # the rep's own weeks
        scope = Whose(self_id=rep_id)
        points = health_trend(user=user, today=today, weeks=TREND_WEEKS, scope=scope).get(rep_id, [])
    else:  # the scope's weeks as a whole: a director's thousand reps are one line, not a thousand
        weeks = trend_period(today)
        trend, _ = health_answer(user=user, period=weeks, team_id=params.team_id, group="team", now=now)
        points = trend.weekly if trend is not None else []
    stage_labels = option_catalog().labels.get("stage", {})
    # A company's thousand reps: a page of rows at a time (the Excel export has them all)
    page = Paginator(board.rows, HEALTH_PAGE_ROWS).get_page(params.page)
    rows = [
        {
            "row": r,
            "explanation": score_explanation(r.health.score),
            "expected_from": [(stage_labels.get(s, s), n, rate, e) for s, n, rate, e in r.expected_from],
        }
        for r in page.object_list
    ]
    return {
        **_kept(answer),
        "board": board,
        "rows": rows,
        "page": page,
        "lines": board.rules.lines,
        "one_rep": one,
        "late": late,
        "trend": _trend_chart(points),
        "flag_names": flag_names(),
    }


def _heatmap_tab(user: User, params: HealthParams, export: str) -> dict[str, Any]:
    board, answer = heatmap_answer(user=user, period=params.period, team_id=params.team_id, now=clock.now())
    if board is None:
        return _kept(answer)
    heat = board.heatmap
    labels = board.labels
    if export == "heatmap":
        headers = [
            gettext("Stage"),
            gettext("Obstacle"),
            gettext("Actions"),
            gettext("Customers"),
            gettext("Share of the stage's customers"),
            gettext("Next steps that do not fit"),
            gettext("Expected if independent"),
            gettext("Adjusted residual"),
            gettext("Marked"),
        ]
        rows = [
            [
                labels.get(c.stage, c.stage),
                labels.get(c.obstacle, c.obstacle),
                c.actions,
                c.customers,
                c.share_of_stage,
                c.mismatched,
                c.expected,
                c.residual,
                gettext("yes") if c.marked else gettext("no"),
            ]
            for c in heat.cells
            if c.actions
        ]
        return {
            "response": xlsx_response(
                "heatmap", gettext("Blocking heatmap"), headers, rows, {4: "0%", 6: "0.0", 7: "0.00"}
            )
        }
    cells = [c for c in heat.cells if c.actions]
    chart = {
        "stages": [labels.get(s, s) for s in heat.stages],
        "stage_codes": list(heat.stages),
        "obstacles": [labels.get(o, o) for o in heat.obstacles],
        "obstacle_codes": list(heat.obstacles),
        "peak": max([c.actions for c in cells] + [1]),
        "cells": [
            {
                "x": heat.stages.index(c.stage),
                "y": heat.obstacles.index(c.obstacle),
                "actions": c.actions,
                "customers": c.customers,
                "share": None if c.share_of_stage is None else round(100 * c.share_of_stage),
                "mismatched": c.mismatched,
                "expected": None if c.expected is None else round(c.expected, 1),
                "residual": None if c.residual is None else round(c.residual, 2),
                "marked": c.marked,
            }
            for c in cells
        ],
        "labels": {
            "actions": gettext("Actions"),
            "customers": gettext("Customers"),
            "share": gettext("Share of the stage's customers"),
            "mismatched": gettext("Next steps that do not fit"),
            "expected": gettext("Expected if independent"),
            "residual": gettext("Adjusted residual"),
            "marked": gettext("Over-represented beyond chance"),
        },
    }
    message = (
        ""
        if heat.enough
        else gettext("Not enough data: %(n)s actions with an obstacle, at least %(min)s needed.")
        % {"n": heat.n, "min": heat.min_sample}
    )
    return {**_kept(answer), "heat": board, "cells": cells, "chart": chart, "not_enough": message}


@login_required
@require_GET
def health_cell(request: HttpRequest) -> HttpResponse:
    """The customers and actions behind one heatmap bubble (a fragment for htmx, else a page)."""
    user = _health_user(request)
    if not can_see_dashboards(user):
        raise DjangoPermissionDenied
    params = health_params(request)
    labels = option_catalog().labels
    stage, obstacle = request.GET.get("stage", ""), request.GET.get("obstacle", "")
    if stage not in labels.get("stage", {}) or obstacle not in labels.get("obstacle", {}):
        raise Http404
    actions = heat_cell_actions(user=user, period=params.period, stage=stage, obstacle=obstacle, team_id=params.team_id)
    if request.GET.get("format") == "xlsx":
        headers = [
            gettext("Customer"),
            gettext("Rep"),
            gettext("Occurred at"),
            gettext("Next step"),
            gettext("Does not fit"),
        ]
        rows = [
            [
                a.customer,
                a.rep,
                timezone.localtime(a.occurred_at).replace(tzinfo=None),
                a.next_step_plan,
                gettext("yes") if a.lint else gettext("no"),
            ]
            for a in actions
        ]
        return xlsx_response("heatmap-cell", gettext("Actions"), headers, rows, {2: "yyyy-mm-dd hh:mm"})
    customers: dict[int, str] = {}
    for a in actions:
        customers.setdefault(a.customer_id, a.customer)
    context = {
        "params": params,
        "stage": stage,
        "obstacle": obstacle,
        "stage_label": labels["stage"][stage],
        "obstacle_label": labels["obstacle"][obstacle],
        "actions": actions,
        "customers": sorted(customers.items(), key=lambda kv: kv[1]),
        "cell_query": params.query(stage=stage, obstacle=obstacle, tab=""),
    }
    template = "analytics/_heat_cell.html" if request.headers.get("HX-Request") else "analytics/heat_cell.html"
    return render(request, template, context)


def _quality_tab(user: User, params: HealthParams, export: str) -> dict[str, Any]:
    board, answer = contact_quality_answer(user=user, period=params.period, team_id=params.team_id, now=clock.now())
    if board is None:
        return _kept(answer)
    labels = board.labels
    if export == "quality":
        headers = [
            gettext("Rep"),
            gettext("Actions"),
            gettext("Responses recorded"),
            gettext("High-value responses"),
            gettext("High-value contact ratio"),
            gettext("Feedback rate"),
            gettext("Below the line"),
        ]
        rows = [
            [
                r.name,
                r.actions,
                r.responses,
                r.high_value,
                r.ratio,
                r.feedback_rate,
                gettext("yes") if r.below_line else gettext("no"),
            ]
            for r in board.rows
        ]
        return {
            "response": xlsx_response("contact-quality", gettext("Contact quality"), headers, rows, {4: "0%", 5: "0%"})
        }
    rep_id = user.pk if user.role == Role.REP else params.rep_id
    low = low_value_contacts(user=user, period=params.period, rep_id=rep_id) if rep_id else []
    pct = lambda v: None if v is None else round(100 * v)  # noqa: E731
    chart = {
        "line": round(100 * board.line),
        "reps": [r.name for r in board.rows],
        "ratios": [pct(r.ratio) for r in board.rows],
        "weeks": [w.week_start.strftime("%m-%d") for w in board.weekly],
        "feedback": [pct(w.responses / w.actions if w.actions else None) for w in board.weekly],
        "high_value": [pct(w.high_value / w.responses if w.responses else None) for w in board.weekly],
        "names": {
            "ratio": gettext("High-value contact ratio"),
            "feedback": gettext("Feedback rate (主动获取客户反馈)"),
            "line": gettext("Line"),
        },
    }
    rep_name = next((r.name for r in board.rows if r.rep_id == rep_id), "")
    return {
        **_kept(answer),
        "quality": board,
        "quality_chart": chart,
        "high_value_labels": [labels.get(c, c) for c in sorted(board.high_value_responses)],
        "labels": option_catalog().labels,
        "low_value": low,
        "low_rep_id": rep_id,
        "low_rep_name": rep_name,
    }


def _audit_tab(request: HttpRequest, user: User, params: HealthParams, export: str) -> dict[str, Any]:
    today = timezone.localdate(clock.now())
    seed = _int(request.GET.get("seed"), None, 0, 2**31 - 1)
    seed = seed if seed is not None else int(today.strftime("%Y%m%d"))
    audit = completeness_audit(user=user, seed=seed, today=today, team_id=params.team_id)
    if export == "audit":
        headers = [gettext("Rep"), gettext("Complete actions"), gettext("Actions"), gettext("Completeness")]
        rows = [
            [r.name, r.completeness.numerator, r.completeness.denominator, r.completeness.value] for r in audit.rows
        ]
        return {"response": xlsx_response(f"audit-{seed}", gettext("Completeness audit"), headers, rows, {3: "0%"})}
    return {"audit": audit, "seed": seed, "next_seed": (seed * 1103515245 + 12345) % 2**31}


@login_required
@require_GET
def meeting_page(request: HttpRequest) -> HttpResponse:
    """The weekly meeting (八.③): the three lowest health scores as 代号 A/B/C, completeness and
    timeliness only, in large type for a screen. Supervisors and directors."""
    user = _health_user(request)
    if not can_see_dashboards(user):
        raise DjangoPermissionDenied
    now = clock.now()
    params = health_params(request, default=meeting_period(timezone.localdate(now)))
    board, answer = health_answer(user=user, period=params.period, team_id=params.team_id, weeks=False, now=now)
    view = meeting_view(user=user, period=params.period, board=board) if board is not None else None
    return render(
        request,
        "analytics/meeting.html",
        {"view": view, "params": params, "teams": teams_to_filter(user), **_kept(answer)},
    )
