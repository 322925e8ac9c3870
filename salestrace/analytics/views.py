"""Dashboard pages: as thin as the API, the same selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

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
from salestrace.analytics.services import cycle_answer, funnel_answer, top_performers_get
from salestrace.core import clock
from salestrace.core.errors import InvalidInput
from salestrace.customers.compute import COLOURS
from salestrace.customers.models import Deal
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


def xlsx_response(
    filename: str, title: str, headers: list[str], rows: list[list[Any]], formats: dict[int, str] | None = None
) -> HttpResponse:
    """One sheet: a bold header row, then the rows as typed values (numbers as numbers, dates as
    dates); `formats` gives a number format per 0-based column (shares as "0%")."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for index, number_format in (formats or {}).items():
        for cells in sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
            cells[0].number_format = number_format
    for column, header in zip(sheet.columns, headers, strict=False):
        sheet.column_dimensions[column[0].column_letter].width = max(10, min(len(str(header)) * 2 + 2, 40))
    sheet.freeze_panes = "A2"
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
