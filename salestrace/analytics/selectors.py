"""Dashboard reads: vitality (one grouped query each, colours computed by the database) and deals
(funnel, cycle time, what the top reps do differently: fetched facts through analytics.metrics)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DateField, F, Max, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from salestrace.actions.models import ActionLog
from salestrace.analytics.fetch import (
    Population,
    action_facts,
    deal_stages,
    facts_of,
    population_of,
    team_population,
)
from salestrace.analytics.metrics import (
    CONTACT_METHOD,
    LOST,
    WON,
    CycleTime,
    DealFacts,
    Finding,
    FunnelResult,
    FunnelStage,
    SpeedDifference,
    compare_groups,
    cycle_from_tally,
    finding_sentence,
    funnel_from_tally,
    speed_difference,
)
from salestrace.analytics.metrics import OPEN as DEAL_OPEN
from salestrace.analytics.models import AnalysisResult
from salestrace.analytics.tallies import cycle_tally_sql, funnel_tally_sql, period_deals, top_reps_sql
from salestrace.catalog.selectors import catalog_snapshot, option_catalog, threshold_values
from salestrace.core.errors import FieldError, InvalidInput
from salestrace.customers.compute import COLOURS, VitalityBands
from salestrace.customers.models import Customer, Deal
from salestrace.customers.selectors import active_at, colour_counts
from salestrace.org.models import Role, Team, User
from salestrace.org.selectors import (
    COMPANY_WIDE,
    can_see_dashboards,
    customer_scope,
    deal_scope,
    team_subtree_ids,
)

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


# ---------------------------------------------------------------------------------------------
# Deals (商机): funnel, cycle time, what the top reps do differently


@dataclass(frozen=True)
class Period:
    since: date
    until: date


def default_period(today: date, *, days: int = 90) -> Period:
    """The last `days` days up to today, both ends included."""
    return Period(today - timedelta(days=days - 1), today)


def min_sample() -> int:
    """The smallest group a statistic is shown for: the template's `analysis_min_sample`, else 10."""
    return max(int(catalog_snapshot().threshold("analysis_min_sample", 10)), 1)


def analysis_labels() -> dict[str, str]:
    """Display labels of stage, key-action and contact-method codes, merged (for sentences)."""
    labels = option_catalog().labels
    merged: dict[str, str] = {}
    for set_code in ("contact_method", "key_action", "stage"):
        merged.update(labels.get(set_code, {}))
    return merged


def is_rep_view(user: User) -> bool:
    """Reps see their own deals beside their team's totals; managers see their whole scope."""
    return not can_see_dashboards(user)


def may_see_deal_analysis(user: User) -> bool:
    """Funnel and cycle time: reps (their own beside the team's) and supervisors and above."""
    return user.is_active and (can_see_dashboards(user) or user.role == Role.REP)


@dataclass(frozen=True)
class DealFunnelBoard:
    """The 漏斗 tab: the scope's funnel (a rep's team), a rep's own, and the open pipeline by month."""

    stages: tuple[str, ...]
    labels: dict[str, str]
    scope: FunnelResult
    mine: FunnelResult | None
    pipeline: list[tuple[date | None, int, Decimal]]
    min_sample: int


def _population_for(user: User, team_id: int | None) -> tuple[Population, int | None]:
    """(the deals to count, the rep whose own figures go beside them or None): a rep's scope is
    their team, for totals."""
    if is_rep_view(user):
        return team_population(user.team_id, user), user.pk
    return population_of(user, team_id=team_id), None


def pipeline_by_month(population: Population) -> list[tuple[date | None, int, Decimal]]:
    """Open deals of a population by month of expected close (None: not set): count and value; one query."""
    if not catalog_snapshot().uses_deals:
        return []
    rows = (
        Deal.objects.filter(population.deal_filter(), outcome=Deal.Outcome.OPEN)
        .annotate(month=TruncMonth("expected_close"))
        .values("month")
        .annotate(n=Count("pk"), value=Sum("amount"))
        .order_by(F("month").asc(nulls_last=True))
    )
    return [(r["month"], r["n"], r["value"] or Decimal(0)) for r in rows]


def deal_funnel_board(*, user: User, period: Period, team_id: int | None = None) -> DealFunnelBoard:
    """The funnel of the deals in `user`'s scope over the period (a rep: the team's, and their own
    beside it)."""
    population, rep = _population_for(user, team_id)
    return funnel_board(population=population, period=period, rep=rep)


def funnel_board(*, population: Population, period: Period, rep: int | None = None) -> DealFunnelBoard:
    """The funnel of a population's deals over the period, and `rep`'s own beside it when given
    (then without the pipeline), tallied by the database (analytics.tallies)."""
    stages = deal_stages()
    threshold = min_sample()
    deals = period_deals(population, since=period.since, until=period.until)

    def board_of(owner_id: int | None) -> FunnelResult:
        tally = funnel_tally_sql(deals, stage_order=stages, owner_id=owner_id)
        return funnel_from_tally(tally, stages, min_sample=threshold)

    return DealFunnelBoard(
        stages=stages,
        labels=option_catalog().labels.get("stage", {}),
        scope=board_of(None),
        mine=board_of(rep) if rep is not None else None,
        pipeline=[] if rep is not None else pipeline_by_month(population),
        min_sample=threshold,
    )


GROUP_KINDS = ("top_value", "top_count", "won_lost")


def top_reps(deals: Sequence[DealFacts], *, by: str, n: int) -> list[int]:
    """The `n` reps with the most won value (`by` top_value) or won deals (top_count); ties by rep id."""
    value: dict[int, Decimal] = defaultdict(Decimal)
    count: dict[int, int] = defaultdict(int)
    for deal in deals:
        value[deal.rep_id] += deal.amount if deal.outcome == WON else Decimal(0)
        count[deal.rep_id] += deal.outcome == WON
    reps = sorted(value, key=lambda r: (-(value[r] if by == "top_value" else count[r]), -count[r], r))
    return [r for r in reps[:n] if count[r]]


def split_groups(
    deals: Sequence[DealFacts], *, group: str, top_n: int
) -> tuple[list[DealFacts], list[DealFacts], list[int]]:
    """(group A, group B, the top reps): the top N reps' deals against the rest, or won against lost."""
    if group == "won_lost":
        return [d for d in deals if d.outcome == WON], [d for d in deals if d.outcome == LOST], []
    best = set(top_reps(deals, by=group, n=top_n))
    return [d for d in deals if d.rep_id in best], [d for d in deals if d.rep_id not in best], sorted(best)


def group_names(group: str, top_n: int) -> tuple[str, str]:
    """How sentences name group A and group B."""
    if group == "won_lost":
        return gettext("won deals"), gettext("lost deals")
    return gettext("TOP%(n)s") % {"n": top_n}, gettext("the rest of the team")


@dataclass(frozen=True)
class CycleGroup:
    key: str
    name: str
    cycle: CycleTime


def deal_cycle_board(
    *, user: User, period: Period, today: date, team_id: int | None = None, top_n: int = 3
) -> list[CycleGroup]:
    """Time to win in `user`'s scope (see `cycle_board`; a rep: the team and their own deals)."""
    population, rep = _population_for(user, team_id)
    return cycle_board(population=population, period=period, today=today, top_n=top_n, rep=rep)


def cycle_board(
    *, population: Population, period: Period, today: date, top_n: int = 3, rep: int | None = None
) -> list[CycleGroup]:
    """Time to win per group: the population and its top N reps by won value, unless they are the
    whole of it (with `rep`: the population and that rep's deals); tallied by the database."""
    threshold = min_sample()
    deals = period_deals(population, since=period.since, until=period.until)

    def cycle_of(owners: Sequence[int] | None) -> CycleTime:
        return cycle_from_tally(cycle_tally_sql(deals, today=today, owners=owners), min_sample=threshold)

    team = cycle_of(None)
    groups = [CycleGroup("team", gettext("Team"), team)]
    if rep is not None:
        groups.append(CycleGroup("mine", gettext("My deals"), cycle_of([rep])))
    else:
        best = top_reps_sql(deals, by="top_value", n=top_n)
        top = cycle_of(best)
        if top.n_deals < team.n_deals:  # with N reps or fewer, the top N are the team: one curve is enough
            groups.append(CycleGroup("top", group_names("top_value", top_n)[0], top))
    return groups


def top_performers_compute(
    *, population: Population, period: Period, group: str, top_n: int, threshold: int, seed: int = 0
) -> dict[str, Any]:
    """The top-performer analysis as JSON-able data (the findings, the speed gap, who is in which group).

    Sentences are made when shown, in the reader's language, from this payload. Its "deal_ids"
    ({"a": [...], "b": [...]}) are kept apart from the rest (AnalysisResult.deal_ids).
    """
    deals = facts_of(population, since=period.since, until=period.until)
    a, b, reps = split_groups(deals, group=group, top_n=top_n)
    actions = action_facts([d.deal_id for d in a + b])
    stages = deal_stages()
    findings = compare_groups(a, b, actions, stage_order=stages, min_sample=threshold)
    speed = speed_difference(a, b, seed=seed, min_sample=threshold) if group != "won_lost" else None
    return {
        "group": group,
        "top_n": top_n,
        "top_rep_ids": reps,
        "n_a": len(a),
        "n_b": len(b),
        "deal_ids": {"a": [d.deal_id for d in a], "b": [d.deal_id for d in b]},
        "speed": asdict(speed) if speed is not None else None,
        "findings": [asdict(f) for f in findings],
        "min_sample": threshold,
    }


@dataclass(frozen=True)
class FindingView:
    index: int
    finding: Finding
    sentence: str

    @property
    def q_text(self) -> str:
        """q as the sentences show it: "< 0.001" below that, three decimals otherwise."""
        q = self.finding.q_value
        return "–" if q is None else "< 0.001" if q < 0.001 else f"= {q:.3f}"


@dataclass(frozen=True)
class TopPerformersView:
    """The 高手做法 tab, read from a cached payload."""

    group: str
    a_name: str
    b_name: str
    n_a: int
    n_b: int
    speed: SpeedDifference | None
    speed_sentence: str
    findings: list[FindingView]
    top_reps: list[str]
    min_sample: int


def _speed_sentence(speed: SpeedDifference | None, a_name: str, b_name: str, threshold: int) -> str:
    if speed is None:
        return ""
    if not speed.enough or speed.difference_days is None:
        return gettext("Not enough data: %(n_a)s and %(n_b)s won deals, at least %(min)s needed in each group.") % {
            "n_a": speed.n_top,
            "n_b": speed.n_rest,
            "min": threshold,
        }
    values = {
        "a_name": a_name,
        "b_name": b_name,
        "days": f"{abs(speed.difference_days):.1f}",
        "low": f"{speed.ci_low:.1f}" if speed.ci_low is not None else "–",
        "high": f"{speed.ci_high:.1f}" if speed.ci_high is not None else "–",
        "n_a": speed.n_top,
        "n_b": speed.n_rest,
    }
    if speed.difference_days >= 0:
        template = gettext(
            "%(a_name)s win %(days)s days faster than %(b_name)s on average (95%% CI of the difference "
            "%(low)s to %(high)s days; n = %(n_a)s and %(n_b)s won deals). Correlation, not causation."
        )
    else:
        template = gettext(
            "%(a_name)s win %(days)s days slower than %(b_name)s on average (95%% CI of the difference "
            "%(low)s to %(high)s days; n = %(n_a)s and %(n_b)s won deals). Correlation, not causation."
        )
    return template % values


def top_performers_view(payload: dict[str, Any]) -> TopPerformersView:
    """Sentences for a computed payload, in the active language, with the catalog's labels."""
    group, top_n, threshold = payload["group"], payload["top_n"], payload["min_sample"]
    a_name, b_name = group_names(group, top_n)
    labels = analysis_labels()
    speed = SpeedDifference(**payload["speed"]) if payload.get("speed") else None
    findings = [Finding(**f) for f in payload["findings"]]
    names = (
        dict(User.objects.filter(pk__in=payload["top_rep_ids"]).values_list("pk", "display_name"))
        if payload["top_rep_ids"]
        else {}
    )
    usernames = dict(User.objects.filter(pk__in=payload["top_rep_ids"]).values_list("pk", "username"))
    return TopPerformersView(
        group=group,
        a_name=a_name,
        b_name=b_name,
        n_a=payload["n_a"],
        n_b=payload["n_b"],
        speed=speed,
        speed_sentence=_speed_sentence(speed, a_name, b_name, threshold),
        findings=[
            FindingView(i, f, finding_sentence(f, labels=labels, a_name=a_name, b_name=b_name))
            for i, f in enumerate(findings)
        ],
        top_reps=[names.get(pk) or usernames.get(pk, str(pk)) for pk in payload["top_rep_ids"]],
        min_sample=threshold,
    )


@dataclass(frozen=True)
class DrillAction:
    occurred_at: datetime
    key_action: str
    contact_method: str
    matches: bool


@dataclass(frozen=True)
class DrillDeal:
    deal_id: int
    title: str
    rep: str
    outcome: str
    in_a: bool
    actions: list[DrillAction]

    @property
    def shows_it(self) -> bool:
        return any(a.matches for a in self.actions)


def _matches(finding: Finding, key_action: str, contact_method: str) -> bool:
    if finding.kind == CONTACT_METHOD:
        return contact_method == finding.code
    return bool(finding.code) and key_action in (finding.code, finding.then_code)


def finding_deals(*, user: User, deal_ids: dict[str, list[int]], finding: Finding) -> list[DrillDeal]:
    """The deals behind a finding, within `user`'s scope: both groups' deals (`deal_ids` "a" and "b")
    with actions at its stage, those actions (before the deal closed), and whether each shows the
    finding's action or method; those that show it first, group A before B."""
    a_ids, b_ids = set(deal_ids["a"]), set(deal_ids["b"])
    ids = sorted(a_ids | b_ids)
    actions: dict[int, list[DrillAction]] = defaultdict(list)
    uses_deals = catalog_snapshot().uses_deals
    rows: Iterable[tuple[Any, ...]]
    if uses_deals:
        rows = Deal.objects.filter(deal_scope(user), pk__in=ids).values_list(
            "pk", "title", "owner__display_name", "owner__username", "outcome", "closed_on"
        )
    else:
        status = Case(
            When(status=Customer.Status.WON, then=Value(WON)),
            When(status=Customer.Status.LOST, then=Value(LOST)),
            default=Value(DEAL_OPEN),
        )
        rows = (
            Customer.objects.filter(customer_scope(user), pk__in=ids)
            .annotate(outcome=status, closed=Value(None, output_field=DateField()))
            .values_list("pk", "name", "owner__display_name", "owner__username", "outcome", "closed")
        )
    deals = {r[0]: r for r in rows}
    closed = {pk: r[5] for pk, r in deals.items()}
    for fact in action_facts(list(deals)):
        if fact.stage != finding.stage:
            continue
        closed_on = closed.get(fact.deal_id)
        if closed_on is not None and fact.occurred_at.date() >= closed_on:
            continue
        actions[fact.deal_id].append(
            DrillAction(
                fact.occurred_at,
                fact.key_action,
                fact.contact_method,
                _matches(finding, fact.key_action, fact.contact_method),
            )
        )
    result = [
        DrillDeal(pk, title, display or username, outcome, pk in a_ids, actions[pk])
        for pk, (_pk, title, display, username, outcome, _closed) in deals.items()
        if actions[pk]
    ]
    result.sort(key=lambda d: (not d.shows_it, not d.in_a, d.title))
    return result


TOP_PERFORMERS = "top_performers"


def scope_of(user: User) -> str:
    """Whose deals an analysis covers: 'all' for company-wide roles (shared by them), else the user's."""
    return "all" if user.role in COMPANY_WIDE or user.is_superuser else f"user:{user.pk}"


def top_performers_params(*, user: User, period: Period, team_id: int | None, group: str, top_n: int) -> dict[str, Any]:
    """The parameters that identify one top-performer analysis (the scope and threshold included)."""
    return {
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "team_id": team_id,
        "group": group,
        "top_n": top_n,
        "scope": scope_of(user),
        "min_sample": min_sample(),
    }


def params_key(params: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the parameters."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def analysis_cached(*, kind: str, params: dict[str, Any]) -> AnalysisResult | None:
    """The stored analysis for these parameters, if any (nothing is queued)."""
    return AnalysisResult.objects.filter(kind=kind, params_key=params_key(params)).defer("deal_ids").first()


MAX_PERIOD_DAYS = 731


def period_of(since: date | None, until: date | None, today: date, *, default_days: int = 90) -> Period:
    """The asked period (default: the `default_days` days up to `until`, or up to today); every problem
    with it at once."""
    end = until or today
    period = Period(since or default_period(end, days=default_days).since, end)
    errors = []
    if period.since > period.until:
        errors.append(FieldError("since", "after_until", gettext_lazy("The start of the period is after its end.")))
    elif (period.until - period.since).days > MAX_PERIOD_DAYS:
        errors.append(FieldError("since", "too_long", gettext_lazy("The period may span at most two years.")))
    if errors:
        raise InvalidInput(errors)
    return period


def teams_to_filter(user: User) -> list[tuple[int, str]]:
    """The teams a manager may narrow the deal pages to (their subtree; every team company-wide)."""
    if not can_see_dashboards(user):
        return []
    teams = Team.objects.order_by("name")
    if not (user.role in COMPANY_WIDE or user.is_superuser):
        if user.team_id is None:
            return []
        teams = teams.filter(pk__in=team_subtree_ids(user.team_id))
    return list(teams.values_list("pk", "name"))


# --- the funnel and cycle time as cached payloads (services.funnel_answer / cycle_answer) ---------


def funnel_payload(board: DealFunnelBoard) -> dict[str, Any]:
    """A funnel board as JSON-able data (labels are not kept: they follow the reader's language)."""

    def result(r: FunnelResult | None) -> dict[str, Any] | None:
        if r is None:
            return None
        data = asdict(r)
        data["won_value"] = str(r.won_value)
        return data

    return {
        "stages": list(board.stages),
        "scope": result(board.scope),
        "mine": result(board.mine),
        "pipeline": [[m.isoformat() if m else None, n, str(v)] for m, n, v in board.pipeline],
        "min_sample": board.min_sample,
    }


def funnel_from_payload(payload: dict[str, Any]) -> DealFunnelBoard:
    def result(data: dict[str, Any] | None) -> FunnelResult | None:
        if data is None:
            return None
        stages = tuple(FunnelStage(**s) for s in data["stages"])
        return FunnelResult(**{**data, "stages": stages, "won_value": Decimal(data["won_value"])})

    scope = result(payload["scope"])
    assert scope is not None
    return DealFunnelBoard(
        stages=tuple(payload["stages"]),
        labels=option_catalog().labels.get("stage", {}),
        scope=scope,
        mine=result(payload["mine"]),
        pipeline=[(date.fromisoformat(m) if m else None, n, Decimal(v)) for m, n, v in payload["pipeline"]],
        min_sample=payload["min_sample"],
    )


def cycle_payload(groups: list[CycleGroup]) -> dict[str, Any]:
    """Cycle-time groups as JSON-able data; names are made again when read (the reader's language)."""
    return {"groups": [{"key": g.key, "cycle": asdict(g.cycle)} for g in groups]}


def cycle_from_payload(payload: dict[str, Any], *, top_n: int) -> list[CycleGroup]:
    names = {"team": gettext("Team"), "mine": gettext("My deals"), "top": group_names("top_value", top_n)[0]}
    groups = []
    for g in payload["groups"]:
        data = g["cycle"]
        cycle = CycleTime(**{**data, "curve": tuple((float(d), float(s)) for d, s in data["curve"])})
        groups.append(CycleGroup(g["key"], names.get(g["key"], g["key"]), cycle))
    return groups
