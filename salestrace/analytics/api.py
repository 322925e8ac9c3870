from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel

from salestrace.actions.models import ActionLog
from salestrace.analytics.health import HealthRules, RepHealth, Share, score_explanation
from salestrace.analytics.health_selectors import (
    DEFAULT_DAYS,
    HealthRow,
    completeness_audit,
    heat_cell_actions,
    late_entries,
    may_see_health,
)
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
from salestrace.core.api import ERRORS, MAX_ID, IsoDate
from salestrace.core.errors import FieldError, InvalidInput, PermissionDenied
from salestrace.org.models import Role, User
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


class KeptBoardOut(Schema):
    """What a funnel, cycle-time or health answer says of itself: its period, and whether and when it
    was computed."""

    since: date
    until: date
    status: Literal["done", "pending", "failed"] = Field(
        description="done: the figures are here. pending: a scope this large is being computed by the worker "
        "(ask again in a few seconds). failed: the last computation failed (asking again retries it)."
    )
    computed_at: datetime | None = Field(
        description="When the figures were computed: now for a team's scope; a company's is kept, computed "
        "every night (the default period) or on first request by the worker, and again once older than a few "
        "minutes. Null while pending."
    )


class DealBoardOut(KeptBoardOut):
    min_sample: int


class FunnelBoardOut(DealBoardOut):
    scope: FunnelOut | None = Field(
        description="Every deal in your scope (a rep: the whole team's); null while pending."
    )
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
    board, answer = funnel_answer(user=user, period=period, team_id=query.team_id, now=now)
    if board is None:
        return FunnelBoardOut(
            since=period.since,
            until=period.until,
            status=answer.status,
            computed_at=None,
            min_sample=min_sample(),
            scope=None,
            mine=None,
            pipeline=[],
        )
    return FunnelBoardOut(
        since=period.since,
        until=period.until,
        status=answer.status,
        computed_at=answer.computed_at,
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


class CycleBoardOut(DealBoardOut):
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
    groups, answer = cycle_answer(
        user=user, period=period, today=today, team_id=query.team_id, top_n=query.top_n, now=now
    )
    return CycleBoardOut(
        since=period.since,
        until=period.until,
        status=answer.status,
        computed_at=answer.computed_at,
        min_sample=min_sample(),
        groups=[cycle_out(g) for g in groups or []],
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


class FindingOut(BaseModel):  # plain pydantic: hundreds per answer, validated from dicts
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


def top_performers_out(
    result: AnalysisResult, view: TopPerformersView | None, period: Period, query: TopQuery
) -> dict[str, Any]:
    """The answer as plain data: the response schema validates it once (hundreds of findings,
    each built as a Schema first and validated again, cost most of the answer's time)."""
    base = {
        "status": result.status,
        "computed_at": result.computed_at if view is not None else None,
        "since": period.since,
        "until": period.until,
        "group": query.group,
        "top_n": query.top_n,
        "min_sample": result.params["min_sample"],
    }
    if view is None:
        empty = {"a_name": "", "b_name": "", "n_a": 0, "n_b": 0, "top_reps": [], "speed": None, "speed_sentence": ""}
        return {**base, **empty, "findings": []}
    fields = FindingOut.model_fields.keys() - {"index", "sentence"}
    return {
        **base,
        "a_name": view.a_name,
        "b_name": view.b_name,
        "n_a": view.n_a,
        "n_b": view.n_b,
        "top_reps": view.top_reps,
        "speed": dict(view.speed.__dict__) if view.speed is not None else None,
        "speed_sentence": view.speed_sentence,
        "findings": [
            {"index": f.index, "sentence": f.sentence, **{k: getattr(f.finding, k) for k in fields}}
            for f in view.findings
        ],
    }


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


# ---------------------------------------------------------------------------------------------
# Action health (动作健康度): completeness, timeliness, effectiveness, the score; the blocking
# heatmap; contact quality. Reps see their own; supervisors their subtree; directors everyone.


def require_health(user: User) -> None:
    if not may_see_health(user):
        raise PermissionDenied(
            [FieldError(None, "forbidden", _("Action health is for sales reps (their own) and managers."))]
        )


def require_heatmap(user: User) -> None:
    if not can_see_dashboards(user):
        raise PermissionDenied(
            [FieldError(None, "forbidden", _("The blocking heatmap is for supervisors and directors."))]
        )


class HealthQuery(Schema):
    since: IsoDate | None = Field(None, description="First day (local date); default: 27 days before `until`.")
    until: IsoDate | None = Field(None, description="Last day (local date); default: today.")
    team_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only people in this team or below it.")


class HealthBoardQuery(HealthQuery):
    group: Literal["rep", "team"] = Field("rep", description="Rows per rep or per team (a rep: always their own).")
    rep_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="One rep's row and late entries (a rep: only their own)."
    )


# The health answer's parts are plain pydantic models built from dicts: a company's thousand rows
# of figures, each a ninja Schema instance validated again, took 1.5 s of a 1.6 s answer.


class ShareOut(BaseModel):
    numerator: int
    denominator: int
    value: float | None = Field(description="numerator / denominator; null when there is nothing to judge.")
    line: float | None = Field(description="The template's baseline line for this share, if it has one.")
    below: bool = Field(description="Under the line.")


class DelayBucketOut(BaseModel):
    low_hours: float
    high_hours: float | None = Field(description="Null: no upper end.")
    count: int
    late: bool


class ExpectedPartOut(BaseModel):
    stage: str
    label: str
    open: int = Field(description="Open deals (customers, where the template has no deals) at this stage.")
    per_week: float
    expected: float


class ScoreOut(BaseModel):
    score: int | None = Field(description="0–100; null when there are no actions and none expected.")
    effective: int
    expected: int
    ratio: float | None = Field(description="min(1, effective / expected).")
    completeness: float | None
    timeliness: float | None
    weight_completeness: float
    weight_timeliness: float
    coefficient: float | None = Field(description="权重系数: the weighted mean of completeness and timeliness.")
    explanation: str = Field(description="The formula with these numbers, in the request's language.")
    expected_from: list[ExpectedPartOut]


class HealthFiguresOut(BaseModel):
    actions: int
    completeness: ShareOut
    timeliness: ShareOut
    effectiveness: ShareOut
    moved: ShareOut = Field(description="Actions after which the customer (deal) moved to a later stage in time.")
    contact_quality: ShareOut
    feedback: ShareOut = Field(description="Actions with a customer response recorded (主动获取客户反馈率).")
    mismatched: ShareOut = Field(description="Actions whose next step does not fit the obstacle (plan lint).")
    delays: list[DelayBucketOut]
    flags: list[str] = Field(description="incomplete, late, ineffective, low_contact_quality: under their lines.")


class HealthRowOut(BaseModel):
    key: int | None = Field(description="The rep's or team's id.")
    name: str
    figures: HealthFiguresOut
    score: ScoreOut


class HealthWeekOut(BaseModel):
    week_start: date
    figures: HealthFiguresOut
    score: int | None


class LateEntryOut(Schema):
    action_id: int
    customer_id: int
    customer: str
    occurred_at: datetime
    logged_at: datetime
    delay_hours: float


class CodeLabelOut(Schema):
    code: str
    label: str


class HealthOut(KeptBoardOut):
    group: str
    late_hours: float
    moved_within_days: int
    key_fields: list[CodeLabelOut]
    rows: list[HealthRowOut]
    total: HealthFiguresOut | None = Field(description="The scope's figures as a whole; null while pending.")
    weekly: list[HealthWeekOut]
    late_entries: list[LateEntryOut] = Field(description="One rep's late entries (a rep's own view, or rep_id).")


def _share(share: Share, line: float | None = None) -> dict[str, Any]:
    return {
        "numerator": share.numerator,
        "denominator": share.denominator,
        "value": share.value,
        "line": line,
        "below": line is not None and share.below(line),
    }


def _figures(h: RepHealth, rules: HealthRules) -> dict[str, Any]:
    lines = rules.lines
    return {
        "actions": h.counts.actions,
        "completeness": _share(h.completeness, lines.completeness),
        "timeliness": _share(h.timeliness, lines.timeliness),
        "effectiveness": _share(h.effectiveness, lines.effectiveness),
        "moved": _share(h.moved),
        "contact_quality": _share(h.contact_quality, lines.contact_quality),
        "feedback": _share(h.feedback),
        "mismatched": _share(h.mismatched),
        "delays": [dict(b.__dict__) for b in h.delays],
        "flags": list(h.flags),
    }


def _score(row: HealthRow, stage_labels: dict[str, str]) -> dict[str, Any]:
    s = row.health.score
    return {
        "score": s.score,
        "effective": s.effective,
        "expected": s.expected,
        "ratio": s.ratio,
        "completeness": s.completeness,
        "timeliness": s.timeliness,
        "weight_completeness": s.weights.completeness,
        "weight_timeliness": s.weights.timeliness,
        "coefficient": s.coefficient,
        "explanation": score_explanation(s),
        "expected_from": [
            {"stage": st, "label": stage_labels.get(st, st), "open": n, "per_week": rate, "expected": e}
            for st, n, rate, e in row.expected_from
        ],
    }


def _field_label(field: str) -> str:
    try:
        model_field = ActionLog._meta.get_field(field)
    except FieldDoesNotExist:
        return field
    return str(getattr(model_field, "verbose_name", field))


def _kept(period: Period, answer: Answer) -> dict[str, Any]:
    """The KeptBoardOut fields of an answer."""
    return {"since": period.since, "until": period.until, "status": answer.status, "computed_at": answer.computed_at}


@router.get("/analytics/health", response={200: HealthOut, **ERRORS})
def action_health(request: HttpRequest, query: Query[HealthBoardQuery]) -> Any:
    """动作健康度: completeness, timeliness (with the delay distribution), effectiveness (and the stage
    moves beside it), contact quality and the personal score with its inputs, per rep or team and
    week by week; a rep sees their own, with their late entries listed."""
    user: User = request.user  # type: ignore[assignment]
    require_health(user)
    now = clock.now()
    period = period_of(query.since, query.until, timezone.localdate(now), default_days=DEFAULT_DAYS)
    group = "rep" if user.role == Role.REP else query.group
    one_rep = user.pk if user.role == Role.REP else query.rep_id if group == "rep" else None
    board, answer = health_answer(user=user, period=period, team_id=query.team_id, group=group, rep_id=one_rep, now=now)
    kept = _kept(period, answer)
    if board is None:
        return dict(  # plain data: the response schema validates it once
            **kept,
            group=group,
            late_hours=0,
            moved_within_days=0,
            key_fields=[],
            rows=[],
            total=None,
            weekly=[],
            late_entries=[],
        )
    rows = board.rows
    visible = one_rep is not None and board.scope.self_id == one_rep
    late = late_entries(user=user, period=period, rep_id=one_rep, board=board) if visible and one_rep else []
    stage_labels = option_catalog().labels.get("stage", {})
    rules = board.rules
    return dict(  # plain data: the response schema validates it once
        **kept,
        group=group,
        late_hours=rules.late_hours,
        moved_within_days=rules.moved_within_days,
        key_fields=[{"code": f, "label": _field_label(f)} for f in rules.key_fields],
        rows=[
            {"key": r.key, "name": r.name, "figures": _figures(r.health, rules), "score": _score(r, stage_labels)}
            for r in rows
        ],
        total=_figures(board.total, rules),
        weekly=[
            {"week_start": w.week_start, "figures": _figures(w.health, rules), "score": w.health.score.score}
            for w in board.weekly
        ],
        late_entries=[dict(e.__dict__) for e in late],
    )


class HeatCellOut(Schema):
    stage: str
    obstacle: str
    actions: int = Field(description="Actions at this stage with this obstacle (the bubble's size).")
    customers: int
    mismatched: int = Field(description="Of those, actions whose next step does not fit the obstacle.")
    share_of_stage: float | None = Field(description="Customers here / customers with an action at this stage.")
    expected: float | None
    residual: float | None = Field(description="Adjusted standardized residual; null when not enough data.")
    marked: bool = Field(description="Over-represented beyond chance (residual above `critical`).")


class FindingSentenceOut(Schema):
    stage: str
    obstacle: str
    sentence: str


class LintRuleOut(Schema):
    code: str
    obstacle: str
    kind: str
    phrases: list[str]
    message: str


class HeatmapOut(KeptBoardOut):
    n: int
    enough: bool
    message: str = Field(description="Why nothing is marked when there is not enough data; else empty.")
    min_sample: int
    critical: float
    stages: list[CodeLabelOut]
    obstacles: list[CodeLabelOut]
    cells: list[HeatCellOut]
    findings: list[FindingSentenceOut]
    plan_lint: list[LintRuleOut]


@router.get("/analytics/heatmap", response={200: HeatmapOut, **ERRORS})
def blocking_heatmap(request: HttpRequest, query: Query[HealthQuery]) -> Any:
    """阶段阻塞热力图: actions by stage × obstacle in your scope, cells over-represented beyond chance
    marked by adjusted standardized residuals, each marked cell as a sentence with the plans that do
    not fit its obstacle. For supervisors and directors."""
    user: User = request.user  # type: ignore[assignment]
    require_heatmap(user)
    now = clock.now()
    period = period_of(query.since, query.until, timezone.localdate(now), default_days=DEFAULT_DAYS)
    board, answer = heatmap_answer(user=user, period=period, team_id=query.team_id, now=now)
    kept = _kept(period, answer)
    if board is None:
        return HeatmapOut(
            **kept,
            n=0,
            enough=False,
            message="",
            min_sample=0,
            critical=0,
            stages=[],
            obstacles=[],
            cells=[],
            findings=[],
            plan_lint=[],
        )
    heat = board.heatmap
    message = (
        ""
        if heat.enough
        else _("Not enough data: %(n)s actions with an obstacle, at least %(min)s needed.")
        % {"n": heat.n, "min": heat.min_sample}
    )
    return HeatmapOut(
        **kept,
        n=heat.n,
        enough=heat.enough,
        message=str(message),
        min_sample=heat.min_sample,
        critical=heat.critical,
        stages=[CodeLabelOut(code=s, label=board.labels.get(s, s)) for s in heat.stages],
        obstacles=[CodeLabelOut(code=o, label=board.labels.get(o, o)) for o in heat.obstacles],
        cells=[HeatCellOut(**c.__dict__) for c in heat.cells],
        findings=[FindingSentenceOut(stage=s, obstacle=o, sentence=t) for s, o, t in board.findings],
        plan_lint=[
            LintRuleOut(code=r.code, obstacle=r.obstacle, kind=r.kind, phrases=list(r.phrases), message=r.message)
            for r in board.lint
        ],
    )


class ResponseCountOut(Schema):
    code: str
    label: str
    count: int


class QualityRowOut(Schema):
    rep_id: int
    name: str
    actions: int
    responses: int
    high_value: int
    ratio: float | None = Field(description="High-value responses / responses recorded.")
    feedback_rate: float | None = Field(description="Actions with a response recorded / actions.")
    below_line: bool
    by_response: list[ResponseCountOut]


class QualityWeekOut(Schema):
    week_start: date
    actions: int
    responses: int
    high_value: int
    ratio: float | None
    feedback_rate: float | None


class ContactQualityOut(KeptBoardOut):
    line: float
    high_value_responses: list[CodeLabelOut]
    rows: list[QualityRowOut]
    weekly: list[QualityWeekOut]


@router.get("/analytics/contact-quality", response={200: ContactQualityOut, **ERRORS})
def contact_quality(request: HttpRequest, query: Query[HealthQuery]) -> Any:
    """沟通质量: per rep, the high-value contact ratio (主动提问 + 确认细节 among the responses recorded)
    against the template's line, each response's count, and the feedback rate week by week."""
    user: User = request.user  # type: ignore[assignment]
    require_health(user)
    now = clock.now()
    period = period_of(query.since, query.until, timezone.localdate(now), default_days=DEFAULT_DAYS)
    board, answer = contact_quality_answer(user=user, period=period, team_id=query.team_id, now=now)
    kept = _kept(period, answer)
    if board is None:
        return ContactQualityOut(**kept, line=0, high_value_responses=[], rows=[], weekly=[])
    labels = board.labels
    return ContactQualityOut(
        **kept,
        line=board.line,
        high_value_responses=[CodeLabelOut(code=c, label=labels.get(c, c)) for c in sorted(board.high_value_responses)],
        rows=[
            QualityRowOut(
                rep_id=r.rep_id,
                name=r.name,
                actions=r.actions,
                responses=r.responses,
                high_value=r.high_value,
                ratio=r.ratio,
                feedback_rate=r.feedback_rate,
                below_line=r.below_line,
                by_response=[
                    ResponseCountOut(code=c, label=labels.get(c, c), count=n) for c, n in r.by_response.items()
                ],
            )
            for r in board.rows
        ],
        weekly=[
            QualityWeekOut(
                week_start=w.week_start,
                actions=w.actions,
                responses=w.responses,
                high_value=w.high_value,
                ratio=w.high_value / w.responses if w.responses else None,
                feedback_rate=w.responses / w.actions if w.actions else None,
            )
            for w in board.weekly
        ],
    )


class HeatCellQuery(HealthQuery):
    stage: str = Field(..., max_length=50, description="The bubble's stage code.")
    obstacle: str = Field(..., max_length=50, description="The bubble's obstacle code.")


class CellActionOut(Schema):
    action_id: int
    customer_id: int
    customer: str
    rep: str
    occurred_at: datetime
    next_step_plan: str
    lint: list[str] = Field(description="Codes of the plan-lint rules its next step breaks.")


@router.get("/analytics/heatmap/actions", response={200: list[CellActionOut], **ERRORS})
def blocking_heatmap_actions(request: HttpRequest, query: Query[HeatCellQuery]) -> Any:
    """The actions behind one bubble of the heatmap (at most 200): those whose next step does not fit
    the obstacle first, then the latest. For supervisors and directors."""
    user: User = request.user  # type: ignore[assignment]
    require_heatmap(user)
    labels = option_catalog().labels
    errors = [
        FieldError(name, "unknown", _("Unknown code: %(code)s") % {"code": code})
        for name, code in (("stage", query.stage), ("obstacle", query.obstacle))
        if code not in labels.get(name, {})
    ]
    if errors:
        raise InvalidInput(errors)
    period = period_of(query.since, query.until, timezone.localdate(clock.now()), default_days=DEFAULT_DAYS)
    rows = heat_cell_actions(
        user=user, period=period, stage=query.stage, obstacle=query.obstacle, team_id=query.team_id
    )
    return [CellActionOut(**{**r.__dict__, "lint": list(r.lint)}) for r in rows]


class AuditQuery(Schema):
    seed: int | None = Field(
        None, ge=0, le=2**31 - 1, description="The draw's seed; default: today as YYYYMMDD. The same seed draws again."
    )
    team_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only reps in this team or below it.")


class AuditRowOut(Schema):
    rep_id: int
    name: str
    completeness: ShareOut


class AuditOut(Schema):
    seed: int
    since: date
    until: date
    drawn_from: int = Field(description="Active reps in scope the sample was drawn from.")
    rows: list[AuditRowOut]
    total: ShareOut


@router.get("/analytics/health/audit", response={200: AuditOut, **ERRORS})
def completeness_audit_api(request: HttpRequest, query: Query[AuditQuery]) -> Any:
    """完整性抽查 (seed 五①): 10 reps of your scope drawn by a seed, and the completeness of their last
    7 days. The seed is shown; asking again with it draws the same reps. For supervisors and directors."""
    user: User = request.user  # type: ignore[assignment]
    require_dashboard(user)
    today = timezone.localdate(clock.now())
    seed = query.seed if query.seed is not None else int(today.strftime("%Y%m%d"))
    audit = completeness_audit(user=user, seed=seed, today=today, team_id=query.team_id)
    line = audit.line
    return AuditOut(
        seed=audit.seed,
        since=audit.period.since,
        until=audit.period.until,
        drawn_from=audit.drawn_from,
        rows=[
            AuditRowOut(rep_id=r.rep_id, name=r.name, completeness=ShareOut(**_share(r.completeness, line)))
            for r in audit.rows
        ],
        total=ShareOut(**_share(audit.total, line)),
    )
