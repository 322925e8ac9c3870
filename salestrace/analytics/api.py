from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from salestrace.analytics.metrics import CycleTime, FunnelResult
from salestrace.analytics.models import AnalysisResult
from salestrace.analytics.selectors import (
    CycleGroup,
    Period,
    TopPerformersView,
    may_see_deal_analysis,
    min_sample,
    period_of,
    vitality_dashboard,
)
from salestrace.analytics.services import cycle_answer, funnel_answer, top_performers_get
from salestrace.core import clock
from salestrace.core.api import ERRORS, MAX_ID, IsoDate
from salestrace.core.errors import FieldError, PermissionDenied
from salestrace.org.models import User
from salestrace.org.selectors import can_see_dashboards

router = Router(tags=["analytics"])


def require_dashboard(user: User) -> None:
    """Dashboards are for supervisors and above; everyone else is told so."""
    if not can_see_dashboards(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Dashboards are for supervisors and directors."))])


class Counts(Schema):
    green: int
    yellow: int
    orange: int
    red: int
    total: int


class BandsOut(Schema):
    green_days: int
    yellow_days: int
    orange_days: int


class VitalityRowOut(Schema):
    key: str
    label: str
    counts: Counts


class WeekOut(Schema):
    week_start: date
    counts: Counts


class VitalityOut(Schema):
    group: str
    bands: BandsOut
    totals: Counts
    rows: list[VitalityRowOut]
    weekly: list[WeekOut]


class VitalityQuery(Schema):
    group: Literal["rep", "team", "stage"] = "rep"
    weeks: int = Field(8, ge=1, le=26)


def _counts(values: dict[str, int]) -> Counts:
    return Counts(**values, total=sum(values.values()))


@router.get("/analytics/vitality", response={200: VitalityOut, **ERRORS})
def vitality(request: HttpRequest, query: Query[VitalityQuery]) -> Any:
    """线索活力: open customers in your scope by vitality colour, per rep, team or stage, and week by week."""
    user: User = request.user  # type: ignore[assignment]
    require_dashboard(user)
    board = vitality_dashboard(user=user, group=query.group, now=clock.now(), weeks=query.weeks)
    bands = board.bands
    return VitalityOut(
        group=board.group,
        bands=BandsOut(green_days=bands.green_days, yellow_days=bands.yellow_days, orange_days=bands.orange_days),
        totals=_counts(board.totals),
        rows=[VitalityRowOut(key=r.key, label=r.label, counts=_counts(r.counts)) for r in board.rows],
        weekly=[WeekOut(week_start=start, counts=_counts(counts)) for start, counts in board.weekly],
    )


# ---------------------------------------------------------------------------------------------
# Deals (商机)


def require_deal_analysis(user: User) -> None:
    """Funnel and cycle time: reps (their own beside their team's) and supervisors and above."""
    if not may_see_deal_analysis(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Deal analyses are for sales reps and managers."))])


class DealQuery(Schema):
    since: IsoDate | None = Field(None, description="First day (local date); default: 90 days before `until`.")
    until: IsoDate | None = Field(None, description="Last day (local date); default: today.")
    team_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only deals whose owner is in this team or below it."
    )


class TopQuery(DealQuery):
    group: Literal["top_value", "top_count", "won_lost"] = Field(
        "top_value", description="Top N reps by won value or won count against the rest, or won against lost deals."
    )
    top_n: int = Field(3, ge=1, le=20)


class FunnelStageOut(Schema):
    stage: str
    label: str
    reached: int
    reached_next: int
    conversion_to_next: float | None
    won: int
    conversion_to_won: float | None
    median_days: float | None
    n_days: int
    open_here: int
    stall: bool


class FunnelOut(Schema):
    stages: list[FunnelStageOut]
    won: int
    lost: int
    open: int
    win_rate: float | None
    won_value: Decimal


class PipelineMonthOut(Schema):
    month: date | None = Field(description="First day of the expected-close month; null when not set.")
    deals: int
    value: Decimal


class FunnelBoardOut(Schema):
    since: date
    until: date
    computed_at: datetime = Field(
        description="When the figures were computed: now for a team's scope; a company's is kept, computed every night and again by the worker once older than a few minutes."
    )
    min_sample: int
    scope: FunnelOut = Field(description="Every deal in your scope (a rep: the whole team's).")
    mine: FunnelOut | None = Field(description="A rep's own deals; null for managers.")
    pipeline: list[PipelineMonthOut]


def funnel_out(result: FunnelResult, labels: dict[str, str]) -> FunnelOut:
    return FunnelOut(
        stages=[
            FunnelStageOut(
                stage=s.stage,
                label=labels.get(s.stage, s.stage),
                reached=s.reached,
                reached_next=s.reached_next,
                conversion_to_next=s.conversion_to_next,
                won=s.won,
                conversion_to_won=s.conversion_to_won,
                median_days=s.median_days,
                n_days=s.n_days,
                open_here=s.open_here,
                stall=s.stage == result.stall_stage,
            )
            for s in result.stages
        ],
        won=result.won,
        lost=result.lost,
        open=result.open,
        win_rate=result.win_rate,
        won_value=result.won_value,
    )


@router.get("/analytics/funnel", response={200: FunnelBoardOut, **ERRORS})
def deal_funnel(request: HttpRequest, query: Query[DealQuery]) -> Any:
    """商机漏斗: per stage, deals that reached it, moved on and won, and days spent there; the stall
    stage; open pipeline by expected close month. A rep gets the team's totals and their own."""
    user: User = request.user  # type: ignore[assignment]
    require_deal_analysis(user)
    now = clock.now()
    period = period_of(query.since, query.until, timezone.localdate(now))
    board, computed_at = funnel_answer(user=user, period=period, team_id=query.team_id, now=now)
    return FunnelBoardOut(
        since=period.since,
        until=period.until,
        computed_at=computed_at,
        min_sample=board.min_sample,
        scope=funnel_out(board.scope, board.labels),
        mine=funnel_out(board.mine, board.labels) if board.mine is not None else None,
        pipeline=[PipelineMonthOut(month=m, deals=n, value=v) for m, n, v in board.pipeline],
    )


class CurvePointOut(Schema):
    day: float
    share_won: float


class CycleOut(Schema):
    key: str = Field(description="team, top (the top N reps by won value) or mine (a rep's own).")
    name: str
    n_deals: int
    n_won: int
    n_censored: int
    mean_days: float | None
    median_days: float | None
    km_median_days: float | None
    km_ci_low: float | None
    km_ci_high: float | None
    enough: bool
    curve: list[CurvePointOut]


class CycleBoardOut(Schema):
    since: date
    until: date
    computed_at: datetime = Field(
        description="When the figures were computed: now for a team's scope; a company's is kept, computed every night and again by the worker once older than a few minutes."
    )
    min_sample: int
    groups: list[CycleOut]


def cycle_out(group: CycleGroup) -> CycleOut:
    c: CycleTime = group.cycle
    return CycleOut(
        key=group.key,
        name=group.name,
        n_deals=c.n_deals,
        n_won=c.n_won,
        n_censored=c.n_censored,
        mean_days=c.mean_days,
        median_days=c.median_days,
        km_median_days=c.km_median_days,
        km_ci_low=c.km_ci_low,
        km_ci_high=c.km_ci_high,
        enough=c.enough,
        curve=[CurvePointOut(day=d, share_won=s) for d, s in c.curve],
    )


class CycleQuery(DealQuery):
    top_n: int = Field(3, ge=1, le=20)


@router.get("/analytics/cycle-time", response={200: CycleBoardOut, **ERRORS})
def deal_cycle_time(request: HttpRequest, query: Query[CycleQuery]) -> Any:
    """成交周期: engaged→won days and the Kaplan–Meier time-to-win curve (lost and open deals
    censored), for the team and its top N reps (a rep: the team and their own deals)."""
    user: User = request.user  # type: ignore[assignment]
    require_deal_analysis(user)
    now = clock.now()
    today = timezone.localdate(now)
    period = period_of(query.since, query.until, today)
    groups, computed_at = cycle_answer(
        user=user, period=period, today=today, team_id=query.team_id, top_n=query.top_n, now=now
    )
    return CycleBoardOut(
        since=period.since,
        until=period.until,
        computed_at=computed_at,
        min_sample=min_sample(),
        groups=[cycle_out(g) for g in groups],
    )


class SpeedOut(Schema):
    n_top: int
    n_rest: int
    enough: bool
    top_mean_days: float | None
    rest_mean_days: float | None
    difference_days: float | None = Field(description="Rest mean − top mean: positive when group A wins faster.")
    ci_low: float | None
    ci_high: float | None


class FindingOut(Schema):
    index: int
    stage: str
    kind: str
    code: str
    then_code: str
    k: int | None
    a_count: int | None
    a_n: int
    b_count: int | None
    b_n: int
    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    a_median: float | None
    b_median: float | None
    p_value: float | None
    q_value: float | None
    significant: bool
    sentence: str


class TopPerformersOut(Schema):
    status: Literal["pending", "done", "failed"] = Field(
        description="pending: being computed (poll again); the previous result, if any, is shown meanwhile."
    )
    computed_at: datetime | None
    since: date
    until: date
    group: str
    top_n: int
    a_name: str
    b_name: str
    n_a: int
    n_b: int
    top_reps: list[str]
    min_sample: int
    speed: SpeedOut | None
    speed_sentence: str
    findings: list[FindingOut]


def top_performers_out(result: AnalysisResult, view: TopPerformersView | None, period: Period, query: TopQuery) -> Any:
    computed_at = result.computed_at if view is not None else None
    base = {
        "status": result.status,
        "computed_at": computed_at,
        "since": period.since,
        "until": period.until,
        "group": query.group,
        "top_n": query.top_n,
        "min_sample": result.params["min_sample"],
    }
    if view is None:
        return TopPerformersOut(
            **base, a_name="", b_name="", n_a=0, n_b=0, top_reps=[], speed=None, speed_sentence="", findings=[]
        )
    return TopPerformersOut(
        **base,
        a_name=view.a_name,
        b_name=view.b_name,
        n_a=view.n_a,
        n_b=view.n_b,
        top_reps=view.top_reps,
        speed=SpeedOut(**view.speed.__dict__) if view.speed is not None else None,
        speed_sentence=view.speed_sentence,
        findings=[
            FindingOut(
                index=f.index,
                sentence=f.sentence,
                **{k: v for k, v in f.finding.__dict__.items() if k in FindingOut.model_fields},
            )
            for f in view.findings
        ],
    )


def _top_performers(request: HttpRequest, query: TopQuery, *, force: bool) -> Any:
    user: User = request.user  # type: ignore[assignment]
    require_dashboard(user)
    period = period_of(query.since, query.until, timezone.localdate(clock.now()))
    result, view = top_performers_get(
        user=user,
        period=period,
        team_id=query.team_id,
        group=query.group,
        top_n=query.top_n,
        now=clock.now(),
        force=force,
    )
    return top_performers_out(result, view, period, query)


@router.get("/analytics/top-performers", response={200: TopPerformersOut, **ERRORS})
def top_performers(request: HttpRequest, query: Query[TopQuery]) -> Any:
    """高手做法: what the top N reps' deals (or won deals) show more often than the rest's, stage by
    stage, with odds ratios, CIs and BH q-values, and how much faster they win. Computed in the
    background: the first call queues it (status pending). Correlation, not causation."""
    return _top_performers(request, query, force=False)


@router.post("/analytics/top-performers/recompute", response={200: TopPerformersOut, **ERRORS})
def top_performers_recompute(request: HttpRequest, query: Query[TopQuery]) -> Any:
    """Compute the top-performer analysis again (nothing more is queued while one is pending)."""
    return _top_performers(request, query, force=True)
