"""The statistics of deals (商机): funnel, time to win, and what winners do differently.

Pure: dataclasses and primitives in, values out. No ORM, no clock (`today` is a parameter),
no I/O. The only Django import is gettext, for `finding_sentence`.

- `funnel`: per template stage, how many deals reached it, moved on, won; days spent there.
- `cycle_time`: engaged→won days of won deals, and a Kaplan–Meier time-to-win curve where lost
  and open deals are censored (an open deal counts until `today`, so sitting on deals is not
  flattering).
- `speed_difference`: "the top reps win X days faster (95% CI …)", a bootstrap of the
  difference of mean engaged→won days.
- `compare_groups`: which per-stage habits (key actions, their order, the action at the k-th
  contact, contact methods, response quality, pace) are more common in group A than in group B,
  with Fisher / Mann–Whitney p-values and Benjamini–Hochberg q-values over every test run.
- `finding_sentence`: one finding as a plain, translatable sentence.

Associations only: nothing here says an action *causes* a win, and the sentences say so.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

OPEN, WON, LOST = "open", "won", "lost"
HIGH_QUALITY_RESPONSES = frozenset({"active_question", "confirm_details"})

# Finding kinds
KEY_ACTION = "key_action"
PAIR = "pair"
KTH_CONTACT = "kth_contact"
CONTACT_METHOD = "contact_method"
HIGH_QUALITY = "high_quality"
DAYS_BETWEEN_CONTACTS = "days_between_contacts"
DAYS_TO_NEXT_STEP = "days_to_next_step"
INSUFFICIENT = "insufficient"
BINARY_KINDS = (KEY_ACTION, PAIR, KTH_CONTACT, CONTACT_METHOD, HIGH_QUALITY)
CONTINUOUS_KINDS = (DAYS_BETWEEN_CONTACTS, DAYS_TO_NEXT_STEP)

MAX_CURVE_POINTS = 200


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class StageEntry:
    """The deal entered `stage` (a template stage code, never won/lost) on `entered_on`."""

    stage: str
    entered_on: date


@dataclass(frozen=True)
class DealFacts:
    deal_id: int
    rep_id: int
    engaged_on: date
    outcome: str  # "open" | "won" | "lost"
    closed_on: date | None  # set when won/lost
    amount: Decimal
    stages: tuple[StageEntry, ...]  # the stages the deal entered, in order (not won/lost)


@dataclass(frozen=True)
class ActionFacts:
    deal_id: int
    occurred_at: datetime  # pass it in local time: its .date() is compared with closed_on
    stage: str
    key_action: str
    contact_method: str
    response_strength: str
    next_step_date: date | None


def _is_closed(deal: DealFacts) -> bool:
    return deal.outcome in (WON, LOST)


def _closed_on(deal: DealFacts) -> date:
    if deal.closed_on is None:
        raise ValueError(f"deal {deal.deal_id} is {deal.outcome} but has no closed_on")
    return deal.closed_on


def _finite(value: Any) -> float | None:
    """A float, or None for NaN / ±inf / missing."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------------------------
# 1. Funnel


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    reached: int  # deals that entered this stage or a later one, or won
    reached_next: int  # of those, deals that reached the next stage (for the last stage: won)
    conversion_to_next: float | None  # reached_next / reached; None when nothing reached it
    won: int  # won deals among those that reached it
    conversion_to_won: float | None  # won / reached
    median_days: float | None  # median days from entering the stage to leaving it (or closing)
    n_days: int  # how many deals the median is taken over
    open_here: int  # open deals sitting in this stage now (left out of the median)


@dataclass(frozen=True)
class FunnelResult:
    stages: tuple[FunnelStage, ...]
    won: int
    lost: int
    open: int
    win_rate: float | None  # won / (won + lost); None when nothing is closed
    won_value: Decimal
    stall_stage: str | None  # lowest conversion_to_next among stages reached by >= min_sample


@dataclass(frozen=True)
class FunnelTally:
    """What the funnel is computed from, as counts: built from DealFacts (`funnel_tally`) or by the
    database (analytics.tallies), so both give the same funnel.

    `top`: lost and open deals by the index in stage_order of the furthest stage they entered
    (-1: none); won deals are not in it (a won deal reached every stage). `open_here`: open deals
    by the index of the stage they sit in. `days`: per stage index, {days spent there by one deal
    (its spells summed): how many deals}.
    """

    won: int
    lost: int
    open: int
    won_value: Decimal
    top: Mapping[int, int]
    open_here: Mapping[int, int]
    days: Mapping[int, Mapping[int, int]]


def funnel_tally(deals: Iterable[DealFacts], stage_order: Sequence[str]) -> FunnelTally:
    """The tally of `funnel` over DealFacts (the definitions are in `funnel`)."""
    index = {stage: i for i, stage in enumerate(stage_order)}
    top: Counter[int] = Counter()
    open_here: Counter[int] = Counter()
    days: dict[int, Counter[int]] = defaultdict(Counter)
    won = lost = still_open = 0
    won_value = Decimal(0)

    for deal in deals:
        if deal.outcome == WON:
            won += 1
            won_value += deal.amount
        else:
            if deal.outcome == LOST:
                lost += 1
            else:
                still_open += 1
            top[max((index[e.stage] for e in deal.stages if e.stage in index), default=-1)] += 1

        current: int | None = None  # an open deal's current stage: its spell there is not over
        if deal.outcome == OPEN and deal.stages:
            current = index.get(deal.stages[-1].stage)
            if current is not None:
                open_here[current] += 1
        spent: dict[int, int] = defaultdict(int)
        for position, entry in enumerate(deal.stages):
            at = index.get(entry.stage)
            if at is None or at == current:
                continue
            if position + 1 < len(deal.stages):
                spent[at] += (deal.stages[position + 1].entered_on - entry.entered_on).days
            elif _is_closed(deal):
                spent[at] += (_closed_on(deal) - entry.entered_on).days
        for at, total in spent.items():
            days[at][total] += 1
    return FunnelTally(won, lost, still_open, won_value, top, open_here, days)


def weighted_median(counts: Mapping[int, int] | Mapping[float, int]) -> float | None:
    """The median of values given as {value: how many times} (the mean of the two middle values
    for an even count, as `statistics.median`); None when empty."""
    items = sorted((float(v), n) for v, n in counts.items() if n > 0)
    total = sum(n for _v, n in items)
    if not total:
        return None
    low_rank, high_rank = (total - 1) // 2, total // 2
    seen, low = 0, None
    for value, n in items:
        if low is None and seen + n > low_rank:
            low = value
        if seen + n > high_rank:
            return (low + value) / 2 if low is not None else value
        seen += n
    raise AssertionError("unreachable: the ranks are within the total")


def funnel(deals: Iterable[DealFacts], stage_order: Sequence[str], *, min_sample: int = 10) -> FunnelResult:
    """The deal funnel along `stage_order`.

    A deal *reached* stage s when it entered s or any later stage of `stage_order`, or won (a won
    deal passed every stage even if some were never recorded). `reached_next` counts those that
    also reached the next stage; for the last stage, "next" is winning. Stage codes of a deal
    that are not in `stage_order` are ignored for reaching.

    Days in a stage: for each time a deal entered s, from that entry to its next stage entry
    (whatever stage that is), or to closed_on when it was the deal's last entry and the deal is
    closed; a deal that entered s twice adds both spells. An open deal whose latest entry is s is
    still there: it is counted in `open_here` and left out of the median (its spell is not over).
    A won deal with no recorded stages reaches every stage but adds no days.

    `stall_stage`: among stages reached by at least `min_sample` deals, the one with the lowest
    conversion_to_next (the earliest on a tie); None when no stage qualifies.
    """
    return funnel_from_tally(funnel_tally(deals, stage_order), stage_order, min_sample=min_sample)


def funnel_from_tally(tally: FunnelTally, stage_order: Sequence[str], *, min_sample: int = 10) -> FunnelResult:
    """The funnel (see `funnel`) from its tally."""
    n_stages = len(stage_order)
    # Reached stage i: every won deal, and the others whose furthest stage is i or later.
    reached = [tally.won + sum(n for at, n in tally.top.items() if at >= i) for i in range(n_stages)]
    rows: list[FunnelStage] = []
    for i, stage in enumerate(stage_order):
        reached_next = reached[i + 1] if i + 1 < n_stages else tally.won
        spells = tally.days.get(i, {})
        rows.append(
            FunnelStage(
                stage=stage,
                reached=reached[i],
                reached_next=reached_next,
                conversion_to_next=reached_next / reached[i] if reached[i] else None,
                won=tally.won if reached[i] else 0,
                conversion_to_won=tally.won / reached[i] if reached[i] else None,
                median_days=weighted_median(spells),
                n_days=sum(spells.values()),
                open_here=tally.open_here.get(i, 0),
            )
        )

    candidates = [r for r in rows if r.reached >= min_sample and r.conversion_to_next is not None]
    stall = min(candidates, key=lambda r: r.conversion_to_next or 0.0).stage if candidates else None
    closed = tally.won + tally.lost
    return FunnelResult(
        stages=tuple(rows),
        won=tally.won,
        lost=tally.lost,
        open=tally.open,
        win_rate=tally.won / closed if closed else None,
        won_value=tally.won_value,
        stall_stage=stall,
    )


# ---------------------------------------------------------------------------------------------
# 2. Cycle time


@dataclass(frozen=True)
class CycleTime:
    n_deals: int
    n_won: int
    n_censored: int  # lost + open
    mean_days: float | None  # engaged→won, won deals only
    median_days: float | None
    km_median_days: float | None  # Kaplan–Meier median time to win; None if the curve stays under 50%
    km_ci_low: float | None  # its 95% CI (None where lifelines gives none / infinity)
    km_ci_high: float | None
    curve: tuple[tuple[float, float], ...]  # (day, cumulative share won = 1 − S(day)), for charting
    enough: bool  # n_deals >= min_sample


def _days_to_end(deal: DealFacts, today: date) -> int:
    end = _closed_on(deal) if _is_closed(deal) else today
    return max((end - deal.engaged_on).days, 0)


def _thin(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most `limit` points, evenly spread, keeping the first and the last."""
    if len(points) <= limit:
        return points
    picks = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [points[int(i)] for i in picks]


# {(days from engaged to closed or today, won?): how many deals}: what `cycle_time` is computed
# from, built from DealFacts (`cycle_tally`) or by the database (analytics.tallies).
CycleTally = Mapping[tuple[int, bool], int]


def cycle_tally(deals: Iterable[DealFacts], *, today: date) -> Counter[tuple[int, bool]]:
    """The tally of `cycle_time` over DealFacts (the definitions are in `cycle_time`)."""
    return Counter((_days_to_end(deal, today), deal.outcome == WON) for deal in deals)


def cycle_time(deals: Iterable[DealFacts], *, today: date, min_sample: int = 10) -> CycleTime:
    """Engaged→won days, plain and with Kaplan–Meier.

    Plain: n_won, mean and median of closed_on − engaged_on over won deals.

    Kaplan–Meier (lifelines' KaplanMeierFitter), the event being a win: a won deal is an event
    at closed_on − engaged_on; a lost deal is censored at closed_on − engaged_on; an open deal is
    censored at today − engaged_on. Negative spans count as 0 days. The KM median is None when
    the cumulative share won never reaches 50%; its 95% CI comes from
    `median_survival_times(kmf.confidence_interval_)`, an infinite bound reported as None.
    `curve` is one (day, 1 − S(day)) point per distinct time of the fit (starting at day 0),
    thinned to at most 200 points. `enough` is False when fewer than `min_sample` deals.
    """
    return cycle_from_tally(cycle_tally(deals, today=today), min_sample=min_sample)


def cycle_from_tally(tally: CycleTally, *, min_sample: int = 10) -> CycleTime:
    """Cycle time (see `cycle_time`) from its tally: the fit weighs each distinct (days, won) by
    its count, the same fit as one row per deal."""
    rows = sorted((days, won, n) for (days, won), n in tally.items() if n > 0)
    n_deals = sum(n for _d, _w, n in rows)
    won_days = {days: n for days, won, n in rows if won}
    n_won = sum(won_days.values())
    km_median = ci_low = ci_high = None
    curve: list[tuple[float, float]] = []
    if n_deals:
        from lifelines import KaplanMeierFitter
        from lifelines.utils import median_survival_times

        kmf = KaplanMeierFitter().fit(
            [days for days, _w, _n in rows],
            event_observed=[won for _d, won, _n in rows],
            weights=[n for _d, _w, n in rows],
        )
        km_median = _finite(kmf.median_survival_time_)
        bounds = median_survival_times(kmf.confidence_interval_)
        ci_low = _finite(bounds.iloc[0, 0])
        ci_high = _finite(bounds.iloc[0, 1])
        survival = kmf.survival_function_.iloc[:, 0]
        curve = [(float(t), float(1.0 - s)) for t, s in zip(survival.index, survival.to_numpy(), strict=True)]
        curve = _thin(curve, MAX_CURVE_POINTS)

    return CycleTime(
        n_deals=n_deals,
        n_won=n_won,
        n_censored=n_deals - n_won,
        mean_days=sum(days * n for days, n in won_days.items()) / n_won if n_won else None,
        median_days=weighted_median(won_days),
        km_median_days=km_median,
        km_ci_low=ci_low,
        km_ci_high=ci_high,
        curve=tuple(curve),
        enough=n_deals >= min_sample,
    )


# ---------------------------------------------------------------------------------------------
# 3. Speed difference


@dataclass(frozen=True)
class SpeedDifference:
    n_top: int  # won deals in each group
    n_rest: int
    enough: bool  # both groups have >= min_sample won deals; otherwise the figures are None
    top_mean_days: float | None
    rest_mean_days: float | None
    difference_days: float | None  # rest mean − top mean: positive = top wins faster
    ci_low: float | None  # 95% percentile-bootstrap CI of the difference
    ci_high: float | None


def _won_days(deals: Iterable[DealFacts]) -> list[float]:
    return [float((_closed_on(d) - d.engaged_on).days) for d in deals if d.outcome == WON]


def speed_difference(
    top: Sequence[DealFacts],
    rest: Sequence[DealFacts],
    *,
    seed: int,
    n_resamples: int = 2000,
    min_sample: int = 10,
) -> SpeedDifference:
    """ "TOP3 wins X days faster than the rest (95% CI …)".

    Over won deals only: X = mean engaged→won days of `rest` − mean of `top` (positive: the top
    group is faster), with a 95% CI from scipy.stats.bootstrap over the two independent samples
    (percentile method, `n_resamples`, seeded with `seed` so a page shows the same CI twice).
    When either group has fewer than `min_sample` won deals: `enough` False and no figures.
    """
    from scipy.stats import bootstrap

    top_days, rest_days = _won_days(top), _won_days(rest)
    n_top, n_rest = len(top_days), len(rest_days)
    if n_top < min_sample or n_rest < min_sample:
        return SpeedDifference(n_top, n_rest, False, None, None, None, None, None)

    def difference(rest_sample: Any, top_sample: Any, axis: int = -1) -> Any:
        return np.mean(rest_sample, axis=axis) - np.mean(top_sample, axis=axis)

    top_mean, rest_mean = statistics.fmean(top_days), statistics.fmean(rest_days)
    if len(set(top_days)) == 1 and len(set(rest_days)) == 1:
        low = high = rest_mean - top_mean  # no spread at all: every resample is the same
    else:
        result = bootstrap(
            (np.asarray(rest_days), np.asarray(top_days)),
            difference,
            n_resamples=n_resamples,
            vectorized=True,
            method="percentile",
            confidence_level=0.95,
            rng=np.random.default_rng(seed),
        )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return SpeedDifference(
        n_top=n_top,
        n_rest=n_rest,
        enough=True,
        top_mean_days=top_mean,
        rest_mean_days=rest_mean,
        difference_days=rest_mean - top_mean,
        ci_low=low,
        ci_high=high,
    )


# ---------------------------------------------------------------------------------------------
# 4. What winners do differently


@dataclass(frozen=True)
class Finding:
    """One comparison of group A with group B at one stage.

    Feature codes by kind: key_action → `code` (the key action); pair → `code` before
    `then_code`; kth_contact → `code` at contact number `k`; contact_method → `code` (the
    method); high_quality, the continuous kinds and insufficient → no code.
    Binary kinds fill the counts, odds ratio (A's odds / B's odds) and its CI; continuous kinds
    fill the medians (a_n / b_n are the deals with a value); insufficient fills only the n's and
    `min_sample`.
    """

    stage: str
    kind: str
    code: str = ""
    then_code: str = ""
    k: int | None = None
    a_count: int | None = None
    a_n: int = 0
    b_count: int | None = None
    b_n: int = 0
    odds_ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    a_median: float | None = None
    b_median: float | None = None
    difference: float | None = None  # continuous: a_median − b_median
    p_value: float | None = None
    q_value: float | None = None
    significant: bool = False
    min_sample: int = 0

    @property
    def a_share(self) -> float | None:
        return self.a_count / self.a_n if self.a_count is not None and self.a_n else None

    @property
    def b_share(self) -> float | None:
        return self.b_count / self.b_n if self.b_count is not None and self.b_n else None


Feature = tuple[str, str, str, int]  # kind, code, then_code, k (0 when none)


def _binary_features(stage_actions: Sequence[ActionFacts], max_k: int) -> set[Feature]:
    """The binary features one deal shows at one stage (its actions there, in time order)."""
    features: set[Feature] = set()
    codes = [a.key_action for a in stage_actions]
    seen: set[str] = set()
    for code in codes:
        if not code:
            continue
        features.add((KEY_ACTION, code, "", 0))
        for earlier in seen:
            if earlier != code:
                features.add((PAIR, earlier, code, 0))
        seen.add(code)
    for k, code in enumerate(codes[:max_k], start=1):
        if code:
            features.add((KTH_CONTACT, code, "", k))
    for action in stage_actions:
        if action.contact_method:
            features.add((CONTACT_METHOD, action.contact_method, "", 0))
    strong = sum(a.response_strength in HIGH_QUALITY_RESPONSES for a in stage_actions)
    if strong / len(stage_actions) >= 0.5:
        features.add((HIGH_QUALITY, "", "", 0))
    return features


def _continuous_values(stage_actions: Sequence[ActionFacts]) -> dict[str, float]:
    values: dict[str, float] = {}
    if len(stage_actions) >= 2:
        gaps = [
            (later.occurred_at - earlier.occurred_at).total_seconds() / 86400
            for earlier, later in pairwise(stage_actions)
        ]
        values[DAYS_BETWEEN_CONTACTS] = float(statistics.median(gaps))
    first = stage_actions[0]
    if first.next_step_date is not None:
        values[DAYS_TO_NEXT_STEP] = float((first.next_step_date - first.occurred_at.date()).days)
    return values


def _odds_ratio(a_count: int, a_n: int, b_count: int, b_n: int) -> tuple[float | None, float | None, float | None]:
    from statsmodels.stats.contingency_tables import Table2x2

    table = np.array([[a_count, a_n - a_count], [b_count, b_n - b_count]], dtype=float)
    if (table == 0).any():
        table = table + 0.5  # Haldane–Anscombe, for the odds ratio and its CI only
    fitted = Table2x2(table)
    low, high = fitted.oddsratio_confint(alpha=0.05)
    return _finite(fitted.oddsratio), _finite(low), _finite(high)


def compare_groups(
    a_deals: Sequence[DealFacts],
    b_deals: Sequence[DealFacts],
    actions: Iterable[ActionFacts],
    *,
    stage_order: Sequence[str],
    min_sample: int = 10,
    max_k: int = 3,
    min_support: int = 3,
    alpha: float = 0.05,
) -> list[Finding]:
    """What group A's deals do differently from group B's, stage by stage.

    Actions count when they belong to a deal of A or B and, for a closed deal, happened strictly
    before its closed_on (`occurred_at.date() < closed_on`; an action on or after the outcome
    date is ignored); an open deal counts all its actions. A deal is in the comparison at stage
    s when it has at least one counted action at s; its actions there are ordered by occurred_at.

    Binary features per deal and stage (present / absent):
    - key_action X: some action at s had key_action X;
    - pair (X, Y), X ≠ Y: an action X came before an action Y at s;
    - kth_contact (k, X), k = 1..max_k: the k-th action at s had key_action X
      (a deal with fewer than k actions there does not have it);
    - contact_method M: some action at s used M;
    - high_quality: at least half of its actions at s got a response_strength of active_question
      or confirm_details.
    Each is tested when present in at least `min_support` deals of A and B together: A count / n
    against B count / n, odds ratio (A's odds over B's, 0.5 added to every cell when one is zero)
    with its 95% CI from statsmodels' Table2x2, two-sided Fisher exact p-value.

    Continuous features, Mann–Whitney U (two-sided), effect = A median − B median:
    - days_between_contacts: the median gap in days between consecutive actions at s (deals with
      at least 2 actions there);
    - days_to_next_step: days from the deal's first action at s to that action's next_step_date
      (deals whose first action has one).
    Each is tested when both groups have at least `min_support` values.

    A stage where A or B has fewer than `min_sample` deals is not tested: it yields one finding
    of kind "insufficient" (the n's and min_sample, no statistics). Every stage of `stage_order`
    yields either tests or that finding.

    q-values: Benjamini–Hochberg over all tests run (every stage, binary and continuous
    together); `significant` is q < alpha. Findings come sorted by q, then p; insufficient ones
    last, in stage order. A deal in both groups is an error.
    """
    from scipy.stats import fisher_exact, mannwhitneyu
    from statsmodels.stats.multitest import multipletests

    group: dict[int, str] = {}
    closing: dict[int, date | None] = {}
    for name, deals in (("a", a_deals), ("b", b_deals)):
        for deal in deals:
            if deal.deal_id in group:
                raise ValueError(f"deal {deal.deal_id} is in both groups")
            group[deal.deal_id] = name
            closing[deal.deal_id] = _closed_on(deal) if _is_closed(deal) else None

    by_stage: dict[str, dict[int, list[ActionFacts]]] = defaultdict(lambda: defaultdict(list))
    for action in actions:
        if action.deal_id not in group:
            continue
        closed_on = closing[action.deal_id]
        if closed_on is not None and action.occurred_at.date() >= closed_on:
            continue
        by_stage[action.stage][action.deal_id].append(action)

    stage_rank = {stage: i for i, stage in enumerate(stage_order)}
    tested: list[Finding] = []
    insufficient: list[Finding] = []
    for stage in stage_order:
        per_deal = by_stage.get(stage, {})
        n = {"a": 0, "b": 0}
        counts: dict[str, Counter[Feature]] = {"a": Counter(), "b": Counter()}
        values: dict[str, dict[str, list[float]]] = {"a": defaultdict(list), "b": defaultdict(list)}
        for deal_id, stage_actions in per_deal.items():
            side = group[deal_id]
            stage_actions.sort(key=lambda a: a.occurred_at)
            n[side] += 1
            counts[side].update(_binary_features(stage_actions, max_k))
            for kind, value in _continuous_values(stage_actions).items():
                values[side][kind].append(value)

        if n["a"] < min_sample or n["b"] < min_sample:
            insufficient.append(Finding(stage=stage, kind=INSUFFICIENT, a_n=n["a"], b_n=n["b"], min_sample=min_sample))
            continue

        for feature in sorted(set(counts["a"]) | set(counts["b"])):
            a_count, b_count = counts["a"][feature], counts["b"][feature]
            if a_count + b_count < min_support:
                continue
            kind, code, then_code, k = feature
            table = [[a_count, n["a"] - a_count], [b_count, n["b"] - b_count]]
            p_value = float(fisher_exact(table, alternative="two-sided")[1])
            odds, low, high = _odds_ratio(a_count, n["a"], b_count, n["b"])
            tested.append(
                Finding(
                    stage=stage,
                    kind=kind,
                    code=code,
                    then_code=then_code,
                    k=k or None,
                    a_count=a_count,
                    a_n=n["a"],
                    b_count=b_count,
                    b_n=n["b"],
                    odds_ratio=odds,
                    ci_low=low,
                    ci_high=high,
                    p_value=p_value,
                    min_sample=min_sample,
                )
            )

        for kind in CONTINUOUS_KINDS:
            a_values, b_values = values["a"][kind], values["b"][kind]
            if len(a_values) < min_support or len(b_values) < min_support:
                continue
            p_value = float(mannwhitneyu(a_values, b_values, alternative="two-sided").pvalue)
            a_median, b_median = float(statistics.median(a_values)), float(statistics.median(b_values))
            tested.append(
                Finding(
                    stage=stage,
                    kind=kind,
                    a_n=len(a_values),
                    b_n=len(b_values),
                    a_median=a_median,
                    b_median=b_median,
                    difference=a_median - b_median,
                    p_value=p_value if math.isfinite(p_value) else 1.0,
                    min_sample=min_sample,
                )
            )

    if tested:
        q_values = multipletests([f.p_value for f in tested], method="fdr_bh")[1]
        tested = [_with_q(finding, float(q), alpha) for finding, q in zip(tested, q_values, strict=True)]
    tested.sort(key=lambda f: (f.q_value, f.p_value, stage_rank[f.stage], f.kind, f.code, f.then_code, f.k or 0))
    return tested + insufficient


def _with_q(finding: Finding, q_value: float, alpha: float) -> Finding:
    return replace(finding, q_value=q_value, significant=q_value < alpha)


# ---------------------------------------------------------------------------------------------
# 5. Sentences


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{round(100 * share)}%"


def _ratio(value: float | None) -> str:
    """An odds ratio or CI bound as a director reads it: one decimal from 1 up, two significant
    digits below, and "<0.001" rather than scientific notation; very large ones as whole numbers."""
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    if value < 0.001:
        return "<0.001"
    return f"{value:.2g}"


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _q(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def finding_sentence(finding: Finding, *, labels: Mapping[str, str], a_name: str, b_name: str) -> str:
    """One finding as a plain sentence in the active language.

    `labels` maps stage, key-action and contact-method codes to display labels (a code without
    a label is shown as is). Shares are whole percents, odds ratios one decimal (two significant
    digits below 1), q "< 0.001" below that and "= 0.012" otherwise; n = A's n + B's n.
    """

    def label(code: str) -> str:
        return labels.get(code, code)

    if finding.kind == INSUFFICIENT:
        return _("At %(stage)s: not enough data (%(n)s deals, at least %(min)s needed).") % {
            "stage": label(finding.stage),
            "n": min(finding.a_n, finding.b_n),
            "min": finding.min_sample,
        }

    common = {
        "stage": label(finding.stage),
        "a_name": a_name,
        "b_name": b_name,
        "q": _q(finding.q_value),
        "n": finding.a_n + finding.b_n,
    }
    if finding.kind in CONTINUOUS_KINDS:
        values = common | {"a_median": _days(finding.a_median), "b_median": _days(finding.b_median)}
        if finding.kind == DAYS_BETWEEN_CONTACTS:
            template = _(
                "At %(stage)s, %(a_name)s had a median of %(a_median)s days between contacts, "
                "%(b_name)s %(b_median)s days (Mann–Whitney, q %(q)s, n = %(n)s). Correlation, not causation."
            )
        else:
            template = _(
                "At %(stage)s, %(a_name)s set the next step a median of %(a_median)s days after the first contact, "
                "%(b_name)s %(b_median)s days (Mann–Whitney, q %(q)s, n = %(n)s). Correlation, not causation."
            )
        return template % values

    values = common | {
        "a_share": _percent(finding.a_share),
        "b_share": _percent(finding.b_share),
        "or": _ratio(finding.odds_ratio),
        "low": _ratio(finding.ci_low),
        "high": _ratio(finding.ci_high),
        "action": label(finding.code),
        "then": label(finding.then_code),
        "k": finding.k,
        "method": label(finding.code),
    }
    if finding.kind == KEY_ACTION:
        template = _(
            "At %(stage)s, %(a_share)s of %(a_name)s did %(action)s, against %(b_share)s of %(b_name)s "
            "(OR %(or)s, 95%% CI %(low)s–%(high)s, q %(q)s, n = %(n)s). Correlation, not causation."
        )
    elif finding.kind == PAIR:
        template = _(
            "At %(stage)s, %(a_share)s of %(a_name)s did %(action)s before %(then)s, against %(b_share)s of "
            "%(b_name)s (OR %(or)s, 95%% CI %(low)s–%(high)s, q %(q)s, n = %(n)s). Correlation, not causation."
        )
    elif finding.kind == KTH_CONTACT:
        template = _(
            "At %(stage)s, %(a_share)s of %(a_name)s did %(action)s at contact no. %(k)s, against %(b_share)s of "
            "%(b_name)s (OR %(or)s, 95%% CI %(low)s–%(high)s, q %(q)s, n = %(n)s). Correlation, not causation."
        )
    elif finding.kind == CONTACT_METHOD:
        template = _(
            "At %(stage)s, %(a_share)s of %(a_name)s used %(method)s, against %(b_share)s of %(b_name)s "
            "(OR %(or)s, 95%% CI %(low)s–%(high)s, q %(q)s, n = %(n)s). Correlation, not causation."
        )
    elif finding.kind == HIGH_QUALITY:
        template = _(
            "At %(stage)s, %(a_share)s of %(a_name)s mostly got engaged responses (questions or confirmed "
            "details), against %(b_share)s of %(b_name)s (OR %(or)s, 95%% CI %(low)s–%(high)s, q %(q)s, "
            "n = %(n)s). Correlation, not causation."
        )
    else:
        raise ValueError(f"unknown finding kind {finding.kind!r}")
    return template % values
