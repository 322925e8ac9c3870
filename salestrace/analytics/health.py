"""Action health (动作健康度, seed 五; issue 12): the definitions, pure.

Primitives and frozen dataclasses in, values out: no ORM, no clock, no I/O; the only Django import
is gettext, for the sentences. The selectors (`health_selectors`) count the same things in SQL;
`counts_of` is the reference they are tested against.

- completeness (完整性): an action is complete when every key field of the template is filled.
- timeliness (及时性): `logged_at − occurred_at`; in time when at most `late_hours`; its distribution.
- effectiveness (有效性): the key action is in the template's effective list for the action's stage;
  beside it, whether the customer (or deal) moved to a later stage within N days of the action.
- the personal score: the seed's [有效动作数 / 应完成动作数] × 权重系数, every input kept.
- the stage × obstacle table, with adjusted standardized residuals (statsmodels) marking the cells
  over-represented beyond chance; "not enough data" below the sample threshold.
- contact quality (沟通质量): high-value responses among the responses recorded.
- plan lint: next-step plans that do not fit the obstacle.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from salestrace.catalog.rules import is_blank

# The edges (hours) of the delay distribution; the template's late line is added when missing.
DELAY_EDGES_HOURS: tuple[float, ...] = (1, 2, 4, 8, 24, 72)
DEFAULT_KEY_FIELDS: tuple[str, ...] = ("stage", "obstacle", "next_step_plan")
DEFAULT_HIGH_VALUE: frozenset[str] = frozenset({"active_question", "confirm_details"})
LINT_MENTIONS, LINT_LACKS = "mentions", "lacks"
LOST = "lost"

# Flags a rep's row may carry, each a dimension under its line.
INCOMPLETE, LATE, INEFFECTIVE, LOW_CONTACT_QUALITY = "incomplete", "late", "ineffective", "low_contact_quality"


def flag_names() -> dict[str, str]:
    """What each flag of `RepHealth.flags` is called, in the active language (pages, digest, exports)."""
    return {
        INCOMPLETE: _("incomplete"),
        LATE: _("late"),
        INEFFECTIVE: _("ineffective"),
        LOW_CONTACT_QUALITY: _("low contact quality"),
    }


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class LintRule:
    """With `obstacle`, a plan that `kind` (mentions / lacks) the phrases does not fit."""

    code: str
    obstacle: str
    kind: str
    phrases: tuple[str, ...]
    message: str = ""


@dataclass(frozen=True)
class Lines:
    """The template's baseline lines, as shares (0.95 = 95%)."""

    completeness: float = 0.95
    timeliness: float = 0.80
    effectiveness: float = 0.68
    contact_quality: float = 0.60


@dataclass(frozen=True)
class Weights:
    """The weights of completeness and timeliness in the score's weighting coefficient (权重系数)."""

    completeness: float = 0.5
    timeliness: float = 0.5


@dataclass(frozen=True)
class HealthRules:
    """Everything of the template the definitions need."""

    key_fields: tuple[str, ...] = DEFAULT_KEY_FIELDS
    # The key fields of earlier periods, oldest first: (until, fields) judges the actions logged
    # before `until` (and not before the previous one's). Later actions: `key_fields`.
    earlier_key_fields: tuple[tuple[datetime, tuple[str, ...]], ...] = ()
    late_hours: float = 2
    effective: Mapping[str, frozenset[str]] = field(default_factory=dict)
    moved_within_days: int = 14
    stage_order: tuple[str, ...] = ()  # the template's stages in order, won last; lost left out
    high_value_responses: frozenset[str] = DEFAULT_HIGH_VALUE
    lint: tuple[LintRule, ...] = ()
    lines: Lines = Lines()
    weights: Weights = Weights()
    # Actions expected per open customer per week, by stage; "" is every other stage.
    expected_per_week: Mapping[str, float] = field(default_factory=lambda: {"": 1.0})
    min_sample: int = 10
    uses_deals: bool = False  # stage moves are the deal's, not the customer's

    def key_fields_at(self, logged_at: datetime) -> tuple[str, ...]:
        """The key fields in force when an action was logged."""
        for until, fields in self.earlier_key_fields:
            if logged_at < until:
                return fields
        return self.key_fields

    def delay_edges(self) -> tuple[float, ...]:
        return tuple(sorted({*DELAY_EDGES_HOURS, self.late_hours}))


@dataclass(frozen=True)
class ActionRecord:
    """One logged action as the definitions read it (blank text is ""; a missing date None)."""

    rep_id: int
    customer_id: int
    occurred_at: datetime
    logged_at: datetime
    stage: str = ""
    key_action: str = ""
    obstacle: str = ""
    next_step_plan: str = ""
    next_step_date: date | None = None
    next_step_deliverable: str = ""
    contact_method: str = ""
    emotion: str = ""
    channel: str = ""
    content_type: str = ""
    response_strength: str = ""
    summary: str = ""


@dataclass(frozen=True)
class StageMove:
    """The customer (or deal) `customer_id` entered `stage` at `at`."""

    customer_id: int
    stage: str
    at: datetime


# ---------------------------------------------------------------------------------------------
# Per action


def missing_fields(action: ActionRecord, key_fields: Sequence[str]) -> list[str]:
    """The key fields `action` leaves blank, in the template's order."""
    return [f for f in key_fields if is_blank(getattr(action, f, None))]


def is_complete(action: ActionRecord, key_fields: Sequence[str]) -> bool:
    """Every key field is filled (seed 五①: 客户阶段、障碍类型、下一步计划 all filled)."""
    return not missing_fields(action, key_fields)


def delay_hours(occurred_at: datetime, logged_at: datetime) -> float:
    """Hours from the action to its entry; an entry logged before the moment it names counts as 0."""
    return max((logged_at - occurred_at) / timedelta(hours=1), 0.0)


def is_timely(hours: float, late_hours: float) -> bool:
    """Logged within `late_hours` (the limit itself is in time)."""
    return hours <= late_hours


def is_effective(stage: str, key_action: str, effective: Mapping[str, frozenset[str]]) -> bool:
    """The key action is in the template's effective list for the action's stage."""
    return bool(key_action) and key_action in effective.get(stage, frozenset())


def stage_ranks(stage_order: Sequence[str]) -> dict[str, int]:
    """Position of each stage (lost has none: moving to it is no progress)."""
    return {s: i for i, s in enumerate(s for s in stage_order if s != LOST)}


def moved_later(
    action: ActionRecord, moves: Iterable[StageMove], *, within_days: int, ranks: Mapping[str, int]
) -> bool:
    """The action's customer entered a later stage after the action, within `within_days` days of it."""
    rank = ranks.get(action.stage)
    if rank is None:
        return False
    end = action.occurred_at + timedelta(days=within_days)
    return any(
        m.customer_id == action.customer_id and action.occurred_at < m.at <= end and ranks.get(m.stage, -1) > rank
        for m in moves
    )


def _mentions(plan: str, phrase: str) -> bool:
    return phrase.casefold() in plan.casefold()


def lint_plan(obstacle: str, plan: str, rules: Sequence[LintRule]) -> list[LintRule]:
    """Every rule the plan breaks with this obstacle; a blank plan is completeness's concern, not lint's."""
    if is_blank(plan):
        return []
    broken = []
    for rule in rules:
        if rule.obstacle != obstacle:
            continue
        hit = any(_mentions(plan, p) for p in rule.phrases)
        if hit == (rule.kind == LINT_MENTIONS):
            broken.append(rule)
    return broken


# ---------------------------------------------------------------------------------------------
# Shares and distributions


@dataclass(frozen=True)
class Share:
    """numerator / denominator; `value` None when the denominator is 0."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def below(self, line: float) -> bool:
        """Under the line (False when there is nothing to judge)."""
        value = self.value
        return value is not None and value < line


def completeness(actions: Iterable[ActionRecord], key_fields: Sequence[str]) -> Share:
    """Complete actions among all actions."""
    flags = [is_complete(a, key_fields) for a in actions]
    return Share(sum(flags), len(flags))


def effectiveness(actions: Iterable[ActionRecord], effective: Mapping[str, frozenset[str]]) -> Share:
    """Effective actions among all actions (有效动作数 / 总动作数)."""
    flags = [is_effective(a.stage, a.key_action, effective) for a in actions]
    return Share(sum(flags), len(flags))


def contact_quality(responses: Iterable[str], high_value: frozenset[str]) -> Share:
    """High-value responses (主动提问, 确认细节) among the responses recorded (blank ones left out)."""
    recorded = [r for r in responses if not is_blank(r)]
    return Share(sum(r in high_value for r in recorded), len(recorded))


@dataclass(frozen=True)
class DelayBucket:
    """Entries logged more than `low_hours` and at most `high_hours` (None: no upper end) after the action."""

    low_hours: float
    high_hours: float | None
    count: int
    late: bool  # the whole bucket is beyond the late line


def delay_buckets(at_most: Sequence[int], total: int, edges: Sequence[float], late_hours: float) -> list[DelayBucket]:
    """Buckets from cumulative counts: `at_most[i]` entries with a delay <= edges[i], of `total`."""
    buckets = []
    low, below = 0.0, 0
    for edge, cumulative in zip(edges, at_most, strict=True):
        buckets.append(DelayBucket(low, edge, cumulative - below, low >= late_hours))
        low, below = edge, cumulative
    buckets.append(DelayBucket(low, None, total - below, low >= late_hours))
    return buckets


def cumulative_delays(delays: Iterable[float], edges: Sequence[float]) -> list[int]:
    """For each edge, how many delays are at most it."""
    values = list(delays)
    return [sum(d <= e for d in values) for e in edges]


@dataclass(frozen=True)
class Timeliness:
    share: Share  # logged within the late line
    buckets: tuple[DelayBucket, ...]


def timeliness(delays: Iterable[float], *, late_hours: float, edges: Sequence[float] | None = None) -> Timeliness:
    """The share of entries logged within `late_hours`, and the delay distribution."""
    values = list(delays)
    cuts = tuple(sorted({*(edges or DELAY_EDGES_HOURS), late_hours}))
    at_most = cumulative_delays(values, cuts)
    timely = at_most[cuts.index(late_hours)]
    return Timeliness(Share(timely, len(values)), tuple(delay_buckets(at_most, len(values), cuts, late_hours)))


# ---------------------------------------------------------------------------------------------
# Counts per rep, and the score


@dataclass(frozen=True)
class HealthCounts:
    """What the selectors count per rep (or team) with SQL; `counts_of` counts them from records."""

    actions: int = 0
    complete: int = 0
    timely: int = 0
    effective: int = 0
    moved: int | None = 0  # None: not counted (the weekly trend leaves the costly stage check out)
    responses: int = 0
    high_value: int = 0
    mismatched: int = 0  # actions whose plan breaks a lint rule
    delay_at_most: tuple[int, ...] = ()  # cumulative counts per edge of `HealthRules.delay_edges()`


def counts_of(actions: Sequence[ActionRecord], rules: HealthRules, moves: Sequence[StageMove] = ()) -> HealthCounts:
    """The reference count of a set of actions (the selectors' SQL must agree with it)."""
    ranks = stage_ranks(rules.stage_order)
    delays = [delay_hours(a.occurred_at, a.logged_at) for a in actions]
    responses = contact_quality((a.response_strength for a in actions), rules.high_value_responses)
    return HealthCounts(
        actions=len(actions),
        complete=sum(is_complete(a, rules.key_fields_at(a.logged_at)) for a in actions),
        timely=sum(is_timely(d, rules.late_hours) for d in delays),
        effective=effectiveness(actions, rules.effective).numerator,
        moved=sum(moved_later(a, moves, within_days=rules.moved_within_days, ranks=ranks) for a in actions),
        responses=responses.denominator,
        high_value=responses.numerator,
        mismatched=sum(bool(lint_plan(a.obstacle, a.next_step_plan, rules.lint)) for a in actions),
        delay_at_most=tuple(cumulative_delays(delays, rules.delay_edges())),
    )


@dataclass(frozen=True)
class ExpectedPart:
    stage: str
    customers: int
    per_week: float
    expected: float


@dataclass(frozen=True)
class ExpectedActions:
    """应完成动作数: open customers × the stage's actions per week × weeks of the period, rounded up."""

    total: int
    weeks: float
    parts: tuple[ExpectedPart, ...]


def expected_actions(open_by_stage: Mapping[str, int], per_week: Mapping[str, float], *, days: int) -> ExpectedActions:
    """The actions a rep should have logged over `days` days, from their open customers by stage."""
    weeks = days / 7
    parts = tuple(
        ExpectedPart(stage, n, rate := per_week.get(stage, per_week.get("", 1.0)), n * rate * weeks)
        for stage, n in sorted(open_by_stage.items())
        if n
    )
    # a hair under a whole number is that number (0.5 × 14 × 2 weeks in floats)
    return ExpectedActions(math.ceil(round(sum(p.expected for p in parts), 6)), weeks, parts)


@dataclass(frozen=True)
class HealthScore:
    """个人动作健康度 = min(1, 有效动作数 / 应完成动作数) × 权重系数 × 100, with every input kept.

    权重系数 (the weighting coefficient) = the weighted mean of completeness and timeliness.
    `score` is None when nothing can be judged (no actions and nothing expected).
    """

    effective: int
    expected: int
    ratio: float | None
    completeness: float | None
    timeliness: float | None
    weights: Weights
    coefficient: float | None
    score: int | None


def health_score(
    *, effective: int, expected: int, completeness: Share, timeliness: Share, weights: Weights
) -> HealthScore:
    """The seed's formula (see `HealthScore`); effective actions beyond the expected ones do not raise it past 1."""
    if expected > 0:
        ratio: float | None = min(1.0, effective / expected)
    elif effective > 0:
        ratio = 1.0
    else:  # nothing expected: actions that were logged and none effective score 0; no actions, no score
        ratio = 0.0 if completeness.denominator else None
    c, t = completeness.value, timeliness.value
    total_weight = weights.completeness + weights.timeliness
    if c is None or t is None:
        coefficient = None
    elif total_weight <= 0:
        coefficient = (c + t) / 2
    else:
        coefficient = (weights.completeness * c + weights.timeliness * t) / total_weight
    if ratio == 0:  # nothing effective against something expected (even with nothing logged) is 0
        score: int | None = 0
    else:
        score = None if ratio is None or coefficient is None else round(100 * ratio * coefficient)
    return HealthScore(effective, expected, ratio, c, t, weights, coefficient, score)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def score_explanation(score: HealthScore) -> str:
    """ "Why is my score 71?": the formula with the rep's own numbers, in the active language."""
    if score.score is None or score.ratio is None:
        return _("No actions in this period and none expected: no score.")
    if score.coefficient is None:
        return _("No actions logged against %(expected)s expected: the score is 0.") % {"expected": score.expected}
    total = score.weights.completeness + score.weights.timeliness
    wc, wt = (score.weights.completeness / total, score.weights.timeliness / total) if total > 0 else (0.5, 0.5)
    return _(
        "Effective actions %(effective)s / expected actions %(expected)s = %(ratio)s; weighting coefficient = "
        "%(wc)s × completeness %(completeness)s + %(wt)s × timeliness %(timeliness)s = %(coefficient)s; "
        "%(ratio)s × %(coefficient)s = %(score)s."
    ) % {
        "effective": score.effective,
        "expected": score.expected,
        "ratio": _pct(score.ratio),
        "wc": f"{wc:.2f}",
        "wt": f"{wt:.2f}",
        "completeness": _pct(score.completeness),
        "timeliness": _pct(score.timeliness),
        "coefficient": f"{score.coefficient:.2f}",
        "score": score.score,
    }


@dataclass(frozen=True)
class RepHealth:
    """One rep's (or team's) health over a period: the dimensions, contact quality, the score, the flags."""

    counts: HealthCounts
    completeness: Share
    timeliness: Share
    effectiveness: Share
    moved: Share
    contact_quality: Share
    feedback: Share  # actions with a customer response recorded, among all (主动获取客户反馈率)
    mismatched: Share
    delays: tuple[DelayBucket, ...]
    score: HealthScore
    flags: tuple[str, ...]


def rep_health(counts: HealthCounts, rules: HealthRules, *, expected: int) -> RepHealth:
    """The dimensions and score of counted actions against the template's lines."""
    n = counts.actions
    complete, timely = Share(counts.complete, n), Share(counts.timely, n)
    effective, quality = Share(counts.effective, n), Share(counts.high_value, counts.responses)
    flags = tuple(
        flag
        for flag, share, line in (
            (INCOMPLETE, complete, rules.lines.completeness),
            (LATE, timely, rules.lines.timeliness),
            (INEFFECTIVE, effective, rules.lines.effectiveness),
            (LOW_CONTACT_QUALITY, quality, rules.lines.contact_quality),
        )
        if share.below(line)
    )
    edges = rules.delay_edges()
    at_most = counts.delay_at_most or (0,) * len(edges)
    return RepHealth(
        counts=counts,
        completeness=complete,
        timeliness=timely,
        effectiveness=effective,
        moved=Share(counts.moved, n) if counts.moved is not None else Share(0, 0),
        contact_quality=quality,
        feedback=Share(counts.responses, n),
        mismatched=Share(counts.mismatched, n),
        delays=tuple(delay_buckets(at_most, n, edges, rules.late_hours)),
        score=health_score(
            effective=counts.effective,
            expected=expected,
            completeness=complete,
            timeliness=timely,
            weights=rules.weights,
        ),
        flags=flags,
    )


def audit_sample(rep_ids: Iterable[int], *, n: int = 10, seed: int) -> list[int]:
    """The seed's audit (抽查随机10名销售): `n` reps drawn reproducibly by `seed`, in id order."""
    pool = sorted(set(rep_ids))
    return sorted(random.Random(seed).sample(pool, min(n, len(pool))))  # noqa: S311 (an audit draw, not a secret)


# ---------------------------------------------------------------------------------------------
# Stage × obstacle (阶段阻塞热力图)


@dataclass(frozen=True)
class CellCount:
    """What the selector counts per (stage, obstacle): actions, distinct customers, lint mismatches."""

    stage: str
    obstacle: str
    actions: int
    customers: int = 0
    mismatched: int = 0


@dataclass(frozen=True)
class HeatCell:
    stage: str
    obstacle: str
    actions: int
    customers: int
    mismatched: int
    share_of_stage: float | None  # customers here / customers with an action at this stage
    expected: float | None  # actions expected here if stage and obstacle were independent
    residual: float | None  # adjusted standardized residual; None when not enough data
    marked: bool  # over-represented beyond chance (residual above the critical value)


@dataclass(frozen=True)
class Heatmap:
    stages: tuple[str, ...]
    obstacles: tuple[str, ...]
    cells: tuple[HeatCell, ...]
    n: int
    enough: bool  # n >= min_sample with at least two stages and two obstacles in use
    critical: float  # residuals above this are marked (one-sided, Bonferroni over the cells tested)
    min_sample: int

    def cell(self, stage: str, obstacle: str) -> HeatCell | None:
        return next((c for c in self.cells if c.stage == stage and c.obstacle == obstacle), None)


def stage_obstacle_table(
    counts: Iterable[CellCount],
    *,
    stages: Sequence[str],
    obstacles: Sequence[str],
    stage_customers: Mapping[str, int] | None = None,
    min_sample: int = 10,
    alpha: float = 0.05,
) -> Heatmap:
    """The stage × obstacle counts with adjusted standardized residuals (statsmodels `Table`).

    Stages and obstacles with no actions are left out of the test (their residuals are None); a cell
    is marked when its residual exceeds the one-sided normal quantile at alpha / cells tested.
    `stage_customers`: distinct customers with an action at each stage, for `share_of_stage`.
    """
    import numpy as np
    from scipy.stats import norm
    from statsmodels.stats.contingency_tables import Table

    by_cell = {(c.stage, c.obstacle): c for c in counts}
    extra_stages = sorted({s for s, _o in by_cell} - set(stages))
    extra_obstacles = sorted({o for _s, o in by_cell} - set(obstacles))
    all_stages, all_obstacles = (*stages, *extra_stages), (*obstacles, *extra_obstacles)
    matrix = np.array(
        [[by_cell[(s, o)].actions if (s, o) in by_cell else 0 for s in all_stages] for o in all_obstacles], dtype=float
    ).reshape(len(all_obstacles), len(all_stages))
    n = int(matrix.sum())
    used_rows = [i for i in range(matrix.shape[0]) if matrix[i].sum() > 0]
    used_cols = [j for j in range(matrix.shape[1]) if matrix[:, j].sum() > 0] if matrix.size else []
    enough = n >= min_sample and len(used_rows) >= 2 and len(used_cols) >= 2
    cells_tested = len(used_rows) * len(used_cols)
    critical = float(norm.ppf(1 - alpha / max(cells_tested, 1)))
    residuals: dict[tuple[int, int], float] = {}
    expected: dict[tuple[int, int], float] = {}
    if enough:
        sub = matrix[np.ix_(used_rows, used_cols)]
        table = Table(sub, shift_zeros=False)  # the default adds 0.5 to every cell when one is 0
        resid, fitted = table.standardized_resids, table.fittedvalues
        for a, i in enumerate(used_rows):
            for b, j in enumerate(used_cols):
                residuals[(i, j)] = float(resid[a, b])
                expected[(i, j)] = float(fitted[a, b])
    per_stage = stage_customers or {}
    cells = []
    for i, o in enumerate(all_obstacles):
        for j, s in enumerate(all_stages):
            c = by_cell.get((s, o), CellCount(s, o, 0))
            residual = residuals.get((i, j))
            at_stage = per_stage.get(s, 0)
            cells.append(
                HeatCell(
                    stage=s,
                    obstacle=o,
                    actions=c.actions,
                    customers=c.customers,
                    mismatched=c.mismatched,
                    share_of_stage=c.customers / at_stage if at_stage else None,
                    expected=expected.get((i, j)),
                    residual=residual,
                    marked=residual is not None and c.actions > 0 and residual > critical,
                )
            )
    return Heatmap(tuple(all_stages), tuple(all_obstacles), tuple(cells), n, enough, critical, min_sample)


def blocking_sentence(cell: HeatCell, *, labels: Mapping[str, str], rules: Sequence[LintRule]) -> str:
    """The seed's finding: "方案对比阶段 37% 的客户障碍为决策链复杂，其中 N 条下一步为等待客户回复"."""
    values = {
        "stage": labels.get(cell.stage, cell.stage),
        "obstacle": labels.get(cell.obstacle, cell.obstacle),
        "share": _pct(cell.share_of_stage),
        "n": cell.mismatched,
    }
    if not cell.mismatched:
        return _("At %(stage)s, %(share)s of customers are blocked by %(obstacle)s.") % values
    mentions = [r for r in rules if r.obstacle == cell.obstacle and r.kind == LINT_MENTIONS]
    if len(mentions) == 1 and len([r for r in rules if r.obstacle == cell.obstacle]) == 1:
        return _(
            "At %(stage)s, %(share)s of customers are blocked by %(obstacle)s; %(n)s of these actions plan "
            "“%(phrase)s” as the next step."
        ) % {**values, "phrase": mentions[0].phrases[0]}
    return (
        _(
            "At %(stage)s, %(share)s of customers are blocked by %(obstacle)s; %(n)s of these actions have a next "
            "step that does not fit it."
        )
        % values
    )
