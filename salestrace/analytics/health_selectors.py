"""Action-health reads (issue 12): what analytics.health defines, counted by the database.

Every figure is a grouped query with conditional counts (GROUP BY rep or team, stage × obstacle,
week): nothing reads the action log row by row, whatever its size. The conditions mirror the
pure definitions in `analytics.health` (tests hold them to `health.counts_of`). Delays are
`logged_at − occurred_at` as a duration, which Django computes on SQLite and PostgreSQL alike.

Whose actions: a rep their own; a supervisor their own and their team subtree's reps'; directors
and admins everyone's; narrowed to a team's subtree on request. Assistants none.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Length, Trim, TruncWeek
from django.db.models.lookups import Exact, GreaterThan, LessThanOrEqual
from django.utils import timezone

from salestrace.actions.models import ActionLog
from salestrace.analytics.health import (
    DEFAULT_KEY_FIELDS,
    LINT_MENTIONS,
    CellCount,
    HealthCounts,
    HealthRules,
    Heatmap,
    Lines,
    LintRule,
    RepHealth,
    Share,
    Weights,
    audit_sample,
    blocking_sentence,
    expected_actions,
    lint_plan,
    rep_health,
    stage_obstacle_table,
    stage_ranks,
)
from salestrace.analytics.selectors import Period
from salestrace.catalog.packs import DATE_FIELDS
from salestrace.catalog.selectors import (
    active_plan_lint_rules,
    catalog_snapshot,
    effective_key_actions,
    option_catalog,
    policies,
)
from salestrace.customers.models import Customer, Deal, StageHistory
from salestrace.org.models import Role, User
from salestrace.org.selectors import COMPANY_WIDE, team_subtree_ids

PER_WEEK = "health_expected_actions_per_week"
MAX_LATE_LISTED = 100
DEFAULT_DAYS = 28  # the health pages' default period: the last four weeks
TREND_WEEKS = 8


def health_default_period(today: date) -> Period:
    """The last DEFAULT_DAYS days up to today."""
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today)


def trend_period(today: date) -> Period:
    """The last TREND_WEEKS weeks, Monday-based, this week included (the trend beside a score)."""
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(weeks=TREND_WEEKS - 1), today)


def meeting_period(today: date) -> Period:
    """Last week, Monday to Sunday (the weekly meeting's)."""
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(days=7), monday - timedelta(days=1))


def _number(thresholds: Mapping[str, Any], code: str, default: float) -> float:
    return float(thresholds.get(code, default))


def health_rules() -> HealthRules:
    """The template's action-health settings (defaults where a pack leaves one out); four queries."""
    snapshot = catalog_snapshot()
    t = snapshot.thresholds
    settings = policies()
    per_week: dict[str, float] = {"": _number(t, PER_WEEK, 1)}
    per_week.update({code.split("__", 1)[1]: float(v) for code, v in t.items() if code.startswith(PER_WEEK + "__")})
    key_fields = tuple(settings.get("health_key_fields") or DEFAULT_KEY_FIELDS)
    history = snapshot.key_fields_history
    # each earlier set judges the actions logged until the next one took over; the last is today's
    earlier = tuple((history[i + 1][0], fields) for i, (_at, fields) in enumerate(history[:-1]))
    return HealthRules(
        key_fields=key_fields,
        earlier_key_fields=earlier,
        late_hours=_number(t, "late_entry_hours", 2),
        effective=effective_key_actions(),
        moved_within_days=int(_number(t, "health_effective_within_days", 14)),
        stage_order=tuple(s for s in snapshot.stage_order if s != "lost"),
        high_value_responses=frozenset(settings.get("high_value_responses") or ("active_question", "confirm_details")),
        lint=tuple(
            LintRule(r.code, r.obstacle, r.kind, tuple(r.phrase_list), r.message) for r in active_plan_lint_rules()
        ),
        lines=Lines(
            completeness=_number(t, "health_completeness_line", 0.95),
            timeliness=_number(t, "health_timeliness_line", 0.80),
            effectiveness=_number(t, "health_effectiveness_line", 0.68),
            contact_quality=_number(t, "contact_quality_line", 0.60),
        ),
        weights=Weights(
            completeness=_number(t, "health_weight_completeness", 0.5),
            timeliness=_number(t, "health_weight_timeliness", 0.5),
        ),
        expected_per_week=per_week,
        min_sample=max(int(_number(t, "analysis_min_sample", 10)), 1),
        uses_deals=snapshot.uses_deals,
    )


def tally_rules_key(rules: HealthRules) -> str:
    """A fingerprint of what the tallies count by (not the lines, weights or expected actions, which
    are applied to kept counts): a kept tally counted under other rules is not found by it."""
    counted = {
        "key_fields": list(rules.key_fields),
        "earlier_key_fields": [[until.isoformat(), list(fields)] for until, fields in rules.earlier_key_fields],
        "late_hours": rules.late_hours,
        "effective": {stage: sorted(actions) for stage, actions in sorted(rules.effective.items())},
        "moved_within_days": rules.moved_within_days,
        "stage_order": list(rules.stage_order),
        "high_value": sorted(rules.high_value_responses),
        "lint": [[r.code, r.obstacle, r.kind, list(r.phrases)] for r in rules.lint],
        "uses_deals": rules.uses_deals,
        "delay_edges": list(rules.delay_edges()),
    }
    canonical = json.dumps(counted, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --- whose actions ---------------------------------------------------------------------------------


def may_see_health(user: User) -> bool:
    """Reps (their own), supervisors and above; not assistants."""
    return user.is_active and (user.role in {Role.REP, Role.SUPERVISOR, *COMPANY_WIDE} or user.is_superuser)


@dataclass(frozen=True)
class Whose:
    """Whose health a reader may read: the reader (`self_id`), the people of `teams`, or every team;
    the team tree is walked once, then the filter serves actions and customers alike."""

    self_id: int | None = None
    teams: frozenset[int] = frozenset()
    every_team: bool = False

    @cached_property
    def people(self) -> list[int]:
        """The ids of everyone in scope but the company-wide case (one query, once)."""
        ids = (
            set(User.objects.filter(team_id__in=sorted(self.teams)).values_list("pk", flat=True))
            if self.teams
            else set()
        )
        if self.self_id is not None:
            ids.add(self.self_id)
        return sorted(ids)

    def q(self, via: str = "rep") -> Q:
        """As a filter through the user field `via` (rep on ActionLog, owner on Customer and Deal; "" on User).

        Through `via`, the people as one list of ids: an index on (rep, occurred_at) serves it on
        both databases (a join, or "self OR a subquery", had them scan the period's whole log)."""
        if self.every_team:
            return Q()
        if via:
            return Q(**{f"{via}_id__in": self.people})
        result = Q(pk__in=[])
        if self.self_id is not None:
            result |= Q(pk=self.self_id)
        if self.teams:
            result |= Q(team_id__in=sorted(self.teams))
        return result


def whose(user: User, *, team_id: int | None = None) -> Whose:
    """A rep: their own; a supervisor: theirs and their team subtree's people; directors and admins
    everyone's; narrowed to a team's subtree on request; assistants nobody's."""
    if not may_see_health(user):
        return Whose()
    asked = frozenset(team_subtree_ids(team_id)) if team_id is not None else None
    if user.role in COMPANY_WIDE or user.is_superuser:
        return Whose(every_team=True) if asked is None else Whose(teams=asked)
    me = user.pk if asked is None or user.team_id in asked else None
    if user.role == Role.SUPERVISOR and user.team_id is not None:
        own = frozenset(team_subtree_ids(user.team_id))
        return Whose(me, own if asked is None else own & asked)
    return Whose(me)


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """[first local midnight, the midnight after the last day) as aware datetimes."""
    start = timezone.make_aware(datetime.combine(period.since, time.min))
    end = timezone.make_aware(datetime.combine(period.until + timedelta(days=1), time.min))
    return start, end


def actions_in(scope: Whose, period: Period) -> QuerySet[ActionLog]:
    """The actions of the people in `scope` that occurred in the period (local days)."""
    start, end = period_bounds(period)
    return ActionLog.objects.filter(scope.q("rep"), occurred_at__gte=start, occurred_at__lt=end)


# --- the conditions, in SQL ------------------------------------------------------------------------


def filled(field: str) -> Q:
    """The field is filled: a date set, a text with more than blanks (as `catalog.rules.is_blank`)."""
    if field in DATE_FIELDS:
        return Q(**{f"{field}__isnull": False})
    return Q(GreaterThan(Length(Trim(field)), 0))


def _all_filled(fields: Sequence[str]) -> Q:
    result = Q()
    for field in fields:
        result &= filled(field)
    return result


def complete_q(rules: HealthRules) -> Q:
    """Every key field in force when the action was logged is filled (`HealthRules.key_fields_at`)."""
    if not rules.earlier_key_fields:
        return _all_filled(rules.key_fields)
    result = Q(pk__in=[])
    since: datetime | None = None
    for until, fields in rules.earlier_key_fields:
        window = Q(logged_at__lt=until) & (Q(logged_at__gte=since) if since is not None else Q())
        result |= window & _all_filled(fields)
        since = until
    return result | (Q(logged_at__gte=since) & _all_filled(rules.key_fields))


class SecondsBetween(Func):
    """`end − start` in seconds, by the database's own date arithmetic: SQLite's julianday() (Django's
    datetime subtraction on SQLite calls a Python function per row: most of a board's time), the
    epoch of PostgreSQL's interval."""

    output_field = FloatField()
    arity = 2
    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "

    def __init__(self, start: Any, end: Any) -> None:
        super().__init__(end, start)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "((julianday(%(expressions)s)) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


# julianday() is a double: a difference of two instants is exact to ~0.1 ms. Delays at a line (logged
# exactly 2 h later) are on the timely side of it, as `health.is_timely` says; this is the slack.
EDGE_SLACK_SECONDS = 0.001


def delay_at_most(hours: float) -> Q:
    """Logged at most `hours` after it occurred."""
    delay = SecondsBetween("occurred_at", "logged_at")
    return Q(LessThanOrEqual(delay, Value(hours * 3600 + EDGE_SLACK_SECONDS, output_field=FloatField())))


def effective_q(rules: HealthRules) -> Q:
    result = Q(pk__in=[])
    for stage, actions in sorted(rules.effective.items()):
        result |= Q(stage=stage, key_action__in=sorted(actions))
    return result


def moved_q(rules: HealthRules) -> Q:
    """The customer (a deal, where the template uses deals) entered a later stage after the action,
    within `moved_within_days` days of it (lost is no progress)."""
    ranks = stage_ranks(rules.stage_order)
    if not ranks:
        return Q(pk__in=[])
    to_rank = Case(
        *[When(to_stage=s, then=Value(r)) for s, r in ranks.items()], default=Value(-1), output_field=IntegerField()
    )
    from_rank = Case(
        *[When(Exact(OuterRef("stage"), Value(s)), then=Value(r)) for s, r in ranks.items()],
        default=Value(len(ranks)),
        output_field=IntegerField(),
    )
    since_action = SecondsBetween(OuterRef("occurred_at"), "changed_at")
    within = Value(rules.moved_within_days * 86400 + EDGE_SLACK_SECONDS, output_field=FloatField())
    moves = StageHistory.objects.filter(
        GreaterThan(to_rank, from_rank),
        changed_at__gt=OuterRef("occurred_at"),
    ).filter(LessThanOrEqual(since_action, within))
    if rules.uses_deals:
        moves = moves.filter(deal_id=OuterRef("deal_id"))
    else:
        moves = moves.filter(customer_id=OuterRef("customer_id"), deal=None)
    return Q(Exists(moves))


def mismatch_q(lint: Sequence[LintRule]) -> Q:
    """The plan breaks a lint rule (`health.lint_plan`)."""
    result = Q(pk__in=[])
    for rule in lint:
        mentions = Q(pk__in=[])
        for phrase in rule.phrases:
            mentions |= Q(next_step_plan__icontains=phrase)
        hit = mentions if rule.kind == LINT_MENTIONS else ~mentions
        result |= Q(obstacle=rule.obstacle) & filled("next_step_plan") & hit
    return result


def health_aggregates(rules: HealthRules, *, moved: bool = True) -> dict[str, Any]:
    """The conditional counts of `health.HealthCounts`, as aggregate expressions."""
    aggregates: dict[str, Any] = {
        "actions": Count("pk"),
        "complete": Count("pk", filter=complete_q(rules)),
        "timely": Count("pk", filter=delay_at_most(rules.late_hours)),
        "effective": Count("pk", filter=effective_q(rules)),
        "responses": Count("pk", filter=filled("response_strength")),
        "high_value": Count("pk", filter=Q(response_strength__in=sorted(rules.high_value_responses))),
        "mismatched": Count("pk", filter=mismatch_q(rules.lint)),
    }
    if moved:
        aggregates["moved"] = Count("pk", filter=moved_q(rules))
    for i, edge in enumerate(rules.delay_edges()):
        aggregates[f"delay_{i}"] = Count("pk", filter=delay_at_most(edge))
    return aggregates


def counts_from(row: Mapping[str, Any], rules: HealthRules) -> HealthCounts:
    return HealthCounts(
        actions=row["actions"],
        complete=row["complete"],
        timely=row["timely"],
        effective=row["effective"],
        moved=row.get("moved"),
        responses=row["responses"],
        high_value=row["high_value"],
        mismatched=row["mismatched"],
        delay_at_most=tuple(row[f"delay_{i}"] for i in range(len(rules.delay_edges()))),
    )


# --- the health board ------------------------------------------------------------------------------

# group -> (action key, its name, a fallback name, the same three through a customer's or deal's owner)
GROUPS = {
    "rep": ("rep_id", "rep__display_name", "rep__username", ("owner_id", "owner__display_name", "owner__username")),
    "team": ("rep__team_id", "rep__team__name", None, ("owner__team_id", "owner__team__name", None)),
}


@dataclass(frozen=True)
class HealthRow:
    key: int | None
    name: str
    health: RepHealth
    expected_from: tuple[tuple[str, int, float, float], ...]  # (stage, open customers, per week, expected)


@dataclass(frozen=True)
class WeekHealth:
    week_start: date
    health: RepHealth


@dataclass(frozen=True)
class HealthBoard:
    """The 动作健康度 figures of a scope over a period: rows per rep or team, the scope's total and weeks."""

    period: Period
    group: str
    rules: HealthRules
    rows: list[HealthRow]
    total: RepHealth
    weekly: list[WeekHealth]
    scope: Whose


@dataclass(frozen=True)
class OpenWork:
    """Open deals (active customers where the template has no deals) per person or team and stage."""

    by_key: dict[int | None, dict[str, int]]
    names: dict[int | None, str]


def open_work(scope: Whose, *, by: str, uses_deals: bool) -> OpenWork:
    """What each person (or team) has open, by stage, and their names; one query. The source of the
    score's expected actions, and of the rows of people who logged nothing."""
    key, name, fallback = GROUPS[by][3]
    rows: QuerySet[Deal] | QuerySet[Customer]
    if uses_deals:
        rows = Deal.objects.filter(scope.q("owner"), outcome=Deal.Outcome.OPEN)
    else:
        rows = Customer.objects.filter(scope.q("owner"), status=Customer.Status.ACTIVE)
    work = OpenWork(defaultdict(dict), {})
    # grouped by the key alone (names as aggregates): grouping by the names too had SQLite walk
    # every user of the company to serve the GROUP BY instead of the scope's few
    names = {"_name": Max(name), **({"_fallback": Max(fallback)} if fallback else {})}
    for row in rows.values(key, "stage").annotate(n=Count("pk"), **names).order_by():
        work.by_key[row[key]][row["stage"]] = row["n"]
        work.names[row[key]] = row["_name"] or row.get("_fallback") or "—"
    return work


def _days(period: Period) -> int:
    return (period.until - period.since).days + 1


def health_board(
    *,
    user: User,
    period: Period,
    team_id: int | None = None,
    group: str = "rep",
    rep_id: int | None = None,
    weeks: bool = True,
    scope: Whose | None = None,
) -> HealthBoard:
    """Completeness, timeliness, effectiveness, contact quality and the score per rep (or team) in
    `user`'s scope, or of one rep in it (`rep_id`); people with open work who logged nothing get a row
    too. A fixed handful of queries: the rules, one grouped count, open work, the weeks.
    `scope`: whose health instead of `user`'s reach (the weekly digest reads a team as nobody in it)."""
    rules = health_rules()
    scope = board_scope(user, team_id=team_id, rep_id=rep_id, scope=scope)
    tally = health_tally(scope=scope, period=period, group=group, weeks=weeks, rules=rules)
    return health_board_from_tally(tally, user=user, period=period, group=group, rules=rules, scope=scope)


def board_scope(user: User, *, team_id: int | None, rep_id: int | None, scope: Whose | None = None) -> Whose:
    """Whose actions a board counts: `scope`, else `user`'s reach (in a team); one rep of it when
    asked (nobody's when that rep is out of reach)."""
    scope = scope if scope is not None else whose(user, team_id=team_id)
    if rep_id is not None and rep_id != scope.self_id:
        visible = User.objects.filter(scope.q(""), pk=rep_id).exists()
        return Whose(self_id=rep_id) if visible else Whose()
    if rep_id is not None:
        return Whose(self_id=rep_id)
    return scope


def health_tally(*, scope: Whose, period: Period, group: str, weeks: bool, rules: HealthRules) -> dict[str, Any]:
    """A board's counts as plain data (what is kept for a large scope): the grouped counts per rep or
    team, the open work behind the expected actions, and (`weeks`) the counts week by week."""
    key, name, fallback, _owner = GROUPS[group]
    aggregates = health_aggregates(rules)
    qs: Any = actions_in(scope, period)  # Any: aggregates built at run time (as contact quality's)
    names = {"_name": Max(name), **({"_fallback": Max(fallback)} if fallback else {})}  # as open_work's
    rows = [
        {
            "key": row[key],
            "name": row["_name"] or row.get("_fallback") or "—",
            "counts": {k: row[k] for k in aggregates},
        }
        for row in qs.values(key).annotate(**aggregates, **names).order_by(key)
    ]
    work = open_work(scope, by=group, uses_deals=rules.uses_deals)
    weekly = []
    if weeks:
        week_aggregates = health_aggregates(rules, moved=False)
        weekly = [
            {"week": _week_start(row["week"]).isoformat(), "counts": {k: row[k] for k in week_aggregates}}
            for row in qs.annotate(week=local_week("occurred_at", period))
            .values("week")
            .annotate(**week_aggregates)
            .order_by("week")
        ]
    return {
        "rows": rows,
        "work": [[k, work.names[k], stages] for k, stages in work.by_key.items()],
        "weekly": weekly,
    }


def health_board_from_tally(
    tally: Mapping[str, Any], *, user: User, period: Period, group: str, rules: HealthRules, scope: Whose
) -> HealthBoard:
    """The board of `health_tally`'s counts under today's lines, weights and expected actions."""
    work = OpenWork(defaultdict(dict), {})
    for k, name, stages in tally["work"]:
        work.by_key[k] = dict(stages)
        work.names[k] = name
    days = _days(period)
    rows = []
    totals: dict[str, int] = defaultdict(int)
    for row in tally["rows"]:
        for k, n in row["counts"].items():
            totals[k] += n
        rows.append(_row(row["key"], row["name"], row["counts"], work, rules, days))
    seen = {r.key for r in rows}
    rows += [_row(k, work.names[k], None, work, rules, days) for k in work.by_key if k not in seen]
    if group == "rep" and user.role == Role.REP and scope.self_id == user.pk and user.pk not in seen | set(work.by_key):
        rows.append(_row(user.pk, user.display_name or user.username, None, work, rules, days))
    rows.sort(key=lambda r: (r.key is None, r.key or 0))
    expected_total = sum(r.health.score.expected for r in rows)
    zero = dict.fromkeys(health_aggregates(rules), 0)
    total = rep_health(counts_from({**zero, **totals}, rules), rules, expected=expected_total)
    return HealthBoard(period, group, rules, rows, total, _weekly(tally["weekly"], rules, work), scope)


def _row(
    key: int | None, name: str, row: Mapping[str, Any] | None, work: OpenWork, rules: HealthRules, days: int
) -> HealthRow:
    expected = expected_actions(work.by_key.get(key, {}), rules.expected_per_week, days=days)
    counts = counts_from(row, rules) if row is not None else HealthCounts()
    return HealthRow(
        key,
        str(name),
        rep_health(counts, rules, expected=expected.total),
        tuple((p.stage, p.customers, p.per_week, p.expected) for p in expected.parts),
    )


def _weekly(weeks: Sequence[Mapping[str, Any]], rules: HealthRules, work: OpenWork) -> list[WeekHealth]:
    """The scope's health week by week (Monday-based, local time) from the tally's weekly counts.
    Expected actions per week come from today's open work (the past's is not kept)."""
    open_by_stage: dict[str, int] = defaultdict(int)
    for stages in work.by_key.values():
        for stage, n in stages.items():
            open_by_stage[stage] += n
    per_week = expected_actions(open_by_stage, rules.expected_per_week, days=7).total
    return [
        WeekHealth(date.fromisoformat(w["week"]), rep_health(counts_from(w["counts"], rules), rules, expected=per_week))
        for w in weeks
    ]


def _week_start(value: date | datetime | int) -> date:
    if isinstance(value, int):  # `local_week`'s number
        return WEEK_ZERO + timedelta(weeks=value)
    return timezone.localdate(value) if isinstance(value, datetime) else value


WEEK_ZERO = date(2000, 1, 3)  # a Monday


class _WeekNumber(Func):
    """Local weeks (Monday-based) since WEEK_ZERO of a datetime column, for a fixed UTC offset: native
    arithmetic (TruncWeek calls a Python function per row on SQLite)."""

    output_field = IntegerField()
    arity = 1

    def __init__(self, field: str, offset_seconds: int) -> None:
        super().__init__(field)
        self.offset = offset_seconds

    def _shift(self) -> int:
        zero = datetime.combine(WEEK_ZERO, time.min, tzinfo=UTC)
        return self.offset - int(zero.timestamp())

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Whole seconds (strftime's %s floors), integer division: exact at midnight, unlike julianday's
        # double; shifted by 10⁵ weeks so that truncation toward zero floors dates before WEEK_ZERO too.
        far = 100000 * 604800
        # '%%%%s': one % is eaten by the template, one by the SQLite backend's placeholder conversion
        seconds = "CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        template = f"(({seconds} + {self._shift() + far}) / 604800 - 100000)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = f"FLOOR((EXTRACT(EPOCH FROM %(expressions)s) + {self._shift()}) / 604800)::integer"
        return self.as_sql(compiler, connection, template=template, **extra)


def local_week(field: str, period: Period) -> Func:
    """The local week of `field`: its number since WEEK_ZERO (`_week_start` turns it to the Monday)
    when the time zone keeps one UTC offset over the period (Asia/Shanghai always), else TruncWeek."""
    start, end = period_bounds(period)
    first, last = start.utcoffset(), end.utcoffset()
    if first is None or first != last:
        return TruncWeek(field)
    return _WeekNumber(field, int(first.total_seconds()))


def health_trend(
    *, user: User, today: date, weeks: int = 8, team_id: int | None = None, scope: Whose | None = None
) -> dict[int, list[WeekHealth]]:
    """Each rep's health in each of the last `weeks` weeks (Monday-based, this week included), for the
    8-week trend beside a score and the weekly digest; weeks without actions are left out. The rules,
    one query grouped by rep and week, open work. `scope` as in `health_board`."""
    rules = health_rules()
    scope = scope if scope is not None else whose(user, team_id=team_id)
    monday = today - timedelta(days=today.weekday())
    period = Period(monday - timedelta(weeks=weeks - 1), today)
    rows = (
        actions_in(scope, period)
        .annotate(week=local_week("occurred_at", period))
        .values("rep_id", "week")
        .annotate(**health_aggregates(rules, moved=False))
        .order_by("rep_id", "week")
    )
    work = open_work(scope, by="rep", uses_deals=rules.uses_deals)
    trend: dict[int, list[WeekHealth]] = defaultdict(list)
    for row in rows:
        expected = expected_actions(work.by_key.get(row["rep_id"], {}), rules.expected_per_week, days=7).total
        health = rep_health(counts_from(row, rules), rules, expected=expected)
        trend[row["rep_id"]].append(WeekHealth(_week_start(row["week"]), health))
    return dict(trend)


@dataclass(frozen=True)
class LateEntry:
    action_id: int
    customer_id: int
    customer: str
    occurred_at: datetime
    logged_at: datetime
    delay_hours: float


def late_entries(
    *,
    user: User,
    period: Period,
    rep_id: int,
    limit: int = MAX_LATE_LISTED,
    board: HealthBoard | None = None,
) -> list[LateEntry]:
    """A rep's entries logged after the late line, latest first (at most `limit`); one query when the
    `board` they go with lends its rules and scope. Empty when `user` may not read that rep's health."""
    rules = board.rules if board is not None else health_rules()
    scope = board.scope if board is not None else whose(user)
    rows = (
        actions_in(scope, period)
        .filter(~delay_at_most(rules.late_hours), rep_id=rep_id)
        .order_by("-occurred_at", "-pk")
        .values_list("pk", "customer_id", "customer__name", "occurred_at", "logged_at")[:limit]
    )
    return [
        LateEntry(pk, customer_id, name, occurred, logged, max((logged - occurred) / timedelta(hours=1), 0.0))
        for pk, customer_id, name, occurred, logged in rows
    ]


# --- stage × obstacle ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeatmapBoard:
    period: Period
    heatmap: Heatmap
    labels: dict[str, str]
    findings: list[tuple[str, str, str]]  # (stage, obstacle, sentence) of the marked cells
    lint: tuple[LintRule, ...]


def heatmap_board(*, user: User, period: Period, team_id: int | None = None) -> HeatmapBoard:
    """Actions with an obstacle by stage × obstacle in scope (count, distinct customers and their share
    of the stage's customers, plans that do not fit), adjusted residuals marking the over-represented
    cells, and the seed's sentence for each; two grouped queries plus the catalog's."""
    rules = health_rules()
    tally = heatmap_tally(scope=whose(user, team_id=team_id), period=period, rules=rules)
    return heatmap_board_from_tally(tally, period=period, rules=rules)


def heatmap_tally(*, scope: Whose, period: Period, rules: HealthRules) -> dict[str, Any]:
    """The heatmap's counts as plain data: per (stage, obstacle) actions, distinct customers and plans
    that do not fit; distinct customers per stage."""
    everything: Any = actions_in(scope, period)
    cells = [
        [r["stage"], r["obstacle"], r["actions"], r["customers"], r["mismatched"]]
        for r in everything.filter(filled("obstacle"))
        .values("stage", "obstacle")
        .annotate(
            actions=Count("pk"),
            customers=Count("customer_id", distinct=True),
            mismatched=Count("pk", filter=mismatch_q(rules.lint)),
        )
        .order_by("stage", "obstacle")
    ]
    # The seed's share is of every customer at the stage (37% of 方案对比 customers), obstacle or not.
    at_stage = dict(
        everything.values("stage")
        .annotate(n=Count("customer_id", distinct=True))
        .order_by("stage")
        .values_list("stage", "n")
    )
    return {"cells": cells, "at_stage": at_stage}


def heatmap_board_from_tally(tally: Mapping[str, Any], *, period: Period, rules: HealthRules) -> HeatmapBoard:
    """The heatmap of `heatmap_tally`'s counts: residuals, marks and sentences under today's catalog."""
    cells = [CellCount(*cell) for cell in tally["cells"]]
    catalog = option_catalog()
    obstacle_labels = catalog.labels.get("obstacle", {})
    stage_labels = catalog.labels.get("stage", {})
    stages = tuple(s for s in rules.stage_order if s != "won")
    heat = stage_obstacle_table(
        cells,
        stages=stages,
        obstacles=tuple(obstacle_labels),
        stage_customers=tally["at_stage"],
        min_sample=rules.min_sample,
    )
    labels = {**obstacle_labels, **stage_labels}
    findings = [
        (c.stage, c.obstacle, blocking_sentence(c, labels=labels, rules=rules.lint))
        for c in sorted(heat.cells, key=lambda c: -(c.residual or 0))
        if c.marked
    ]
    return HeatmapBoard(period, heat, labels, findings, rules.lint)


# --- contact quality -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityRow:
    rep_id: int
    name: str
    actions: int
    responses: int
    high_value: int
    by_response: dict[str, int]
    below_line: bool

    @property
    def ratio(self) -> float | None:
        return self.high_value / self.responses if self.responses else None

    @property
    def feedback_rate(self) -> float | None:
        """Actions with a customer response recorded (主动获取客户反馈率)."""
        return self.responses / self.actions if self.actions else None


@dataclass(frozen=True)
class QualityWeek:
    week_start: date
    actions: int
    responses: int
    high_value: int


@dataclass(frozen=True)
class ContactQualityBoard:
    period: Period
    line: float
    high_value_responses: frozenset[str]
    rows: list[QualityRow]
    weekly: list[QualityWeek]
    labels: dict[str, str]


def contact_quality_board(
    *, user: User, period: Period, team_id: int | None = None, scope: Whose | None = None
) -> ContactQualityBoard:
    """Per rep: high-value responses (主动提问, 确认细节) among those recorded, each response's count,
    and whether the ratio is under the template's line; the scope week by week. Two grouped queries.
    `scope` as in `health_board`."""
    rules = health_rules()
    scope = scope if scope is not None else whose(user, team_id=team_id)
    tally = contact_quality_tally(scope=scope, period=period, rules=rules)
    return contact_quality_from_tally(tally, period=period, rules=rules)


def _response_codes(rules: HealthRules) -> tuple[dict[str, str], list[str]]:
    labels = option_catalog().labels.get("response_strength", {})
    return labels, sorted(set(labels) | rules.high_value_responses)


def contact_quality_tally(*, scope: Whose, period: Period, rules: HealthRules) -> dict[str, Any]:
    """Contact quality's counts as plain data: per rep and per week, actions, responses recorded,
    high-value ones; per rep, each response's count."""
    _labels, codes = _response_codes(rules)
    # Any: the aggregates are built at run time, which the stubs' typed values() cannot follow
    qs: Any = actions_in(scope, period)
    per_code = {f"r_{i}": Count("pk", filter=Q(response_strength=code)) for i, code in enumerate(codes)}
    base = {
        "actions": Count("pk"),
        "responses": Count("pk", filter=filled("response_strength")),
        "high_value": Count("pk", filter=Q(response_strength__in=sorted(rules.high_value_responses))),
    }
    counted = qs.values("rep_id", "rep__display_name", "rep__username").annotate(**base, **per_code).order_by("rep_id")
    rows = [
        {
            "rep_id": r["rep_id"],
            "name": r["rep__display_name"] or r["rep__username"],
            **{k: r[k] for k in base},
            "by_response": {code: r[f"r_{i}"] for i, code in enumerate(codes) if r[f"r_{i}"]},
        }
        for r in counted
    ]
    weekly = [
        {"week": _week_start(w["week"]).isoformat(), **{k: w[k] for k in base}}
        for w in qs.annotate(week=local_week("occurred_at", period)).values("week").annotate(**base).order_by("week")
    ]
    return {"rows": rows, "weekly": weekly}


def contact_quality_from_tally(tally: Mapping[str, Any], *, period: Period, rules: HealthRules) -> ContactQualityBoard:
    """The board of `contact_quality_tally`'s counts under today's line."""
    labels, _codes = _response_codes(rules)
    line = rules.lines.contact_quality
    rows = [
        QualityRow(
            r["rep_id"],
            r["name"],
            r["actions"],
            r["responses"],
            r["high_value"],
            dict(sorted(r["by_response"].items())),  # (a JSONB column keeps its own key order)
            bool(r["responses"]) and r["high_value"] / r["responses"] < line,
        )
        for r in tally["rows"]
    ]
    weekly = [
        QualityWeek(date.fromisoformat(w["week"]), w["actions"], w["responses"], w["high_value"])
        for w in tally["weekly"]
    ]
    return ContactQualityBoard(period, line, rules.high_value_responses, rows, weekly, labels)


# --- behind a bubble, and the audit -----------------------------------------------------------------

MAX_CELL_ACTIONS = 200


@dataclass(frozen=True)
class CellAction:
    action_id: int
    customer_id: int
    customer: str
    rep: str
    occurred_at: datetime
    next_step_plan: str
    lint: tuple[str, ...]  # codes of the plan-lint rules its next step breaks


def heat_cell_actions(
    *,
    user: User,
    period: Period,
    stage: str,
    obstacle: str,
    team_id: int | None = None,
    limit: int = MAX_CELL_ACTIONS,
) -> list[CellAction]:
    """The actions behind one bubble of the heatmap, those whose plan does not fit first, then latest
    first (at most `limit`); the rules and one query."""
    rules = health_rules()
    rows = (
        actions_in(whose(user, team_id=team_id), period)
        .filter(stage=stage, obstacle=obstacle)
        .annotate(misfit=Count("pk", filter=mismatch_q(rules.lint)))
        .order_by("-misfit", "-occurred_at", "-pk")
        .values_list(
            "pk", "customer_id", "customer__name", "rep__display_name", "rep__username", "occurred_at", "next_step_plan"
        )[:limit]
    )
    return [
        CellAction(
            pk,
            customer_id,
            customer,
            display or username,
            occurred,
            plan,
            tuple(r.code for r in lint_plan(obstacle, plan, rules.lint)),
        )
        for pk, customer_id, customer, display, username, occurred, plan in rows
    ]


AUDIT_REPS = 10
AUDIT_DAYS = 7


@dataclass(frozen=True)
class AuditRow:
    rep_id: int
    name: str
    completeness: Share


@dataclass(frozen=True)
class CompletenessAudit:
    """The seed's audit (抽查随机10名销售近7天): which reps the seed drew, and their completeness."""

    seed: int
    period: Period
    drawn_from: int
    rows: list[AuditRow]
    total: Share
    line: float


def completeness_audit(
    *, user: User, seed: int, today: date, team_id: int | None = None, reps: int = AUDIT_REPS
) -> CompletenessAudit:
    """`reps` active reps in `user`'s scope drawn by `seed` (the same seed draws the same reps while the
    team is unchanged) and the completeness of their actions over the last 7 days; a few queries."""
    rules = health_rules()
    scope = whose(user, team_id=team_id)
    period = Period(today - timedelta(days=AUDIT_DAYS - 1), today)
    pool = list(User.objects.filter(scope.q(""), role=Role.REP, is_active=True).values_list("pk", flat=True))
    drawn = audit_sample(pool, n=reps, seed=seed)
    qs: Any = actions_in(scope, period).filter(rep_id__in=drawn)
    counted: dict[int, tuple[int, int]] = {
        r["rep_id"]: (r["complete"], r["actions"])
        for r in qs.values("rep_id").annotate(actions=Count("pk"), complete=Count("pk", filter=complete_q(rules)))
    }
    users = User.objects.filter(pk__in=drawn).values_list("pk", "display_name", "username")
    names = {pk: display or username for pk, display, username in users}
    rows = [AuditRow(pk, names.get(pk, str(pk)), Share(*counted.get(pk, (0, 0)))) for pk in drawn]
    total = Share(sum(r.completeness.numerator for r in rows), sum(r.completeness.denominator for r in rows))
    return CompletenessAudit(seed, period, len(pool), rows, total, rules.lines.completeness)


# --- low-value contacts, and the weekly meeting's anonymized bottom three ---------------------------

MAX_LOW_VALUE_LISTED = 50


@dataclass(frozen=True)
class LowValueContact:
    action_id: int
    customer_id: int
    customer: str
    occurred_at: datetime
    response_strength: str
    content_type: str
    channel: str


def low_value_contacts(
    *, user: User, period: Period, rep_id: int, limit: int = MAX_LOW_VALUE_LISTED, scope: Whose | None = None
) -> list[LowValueContact]:
    """A rep's actions whose recorded customer response is not a high-value one (要求延期, 明确拒绝 …),
    latest first (at most `limit`); empty when `user` may not read that rep's health. Two queries."""
    rules = health_rules()
    rows = (
        actions_in(scope if scope is not None else whose(user), period)
        .filter(filled("response_strength"), rep_id=rep_id)
        .exclude(response_strength__in=sorted(rules.high_value_responses))
        .order_by("-occurred_at", "-pk")
        .values_list(
            "pk", "customer_id", "customer__name", "occurred_at", "response_strength", "content_type", "channel"
        )[:limit]
    )
    return [LowValueContact(*row) for row in rows]


@dataclass(frozen=True)
class MeetingRow:
    """One of the weekly meeting's lowest scores, with no name: 代号 A/B/C, completeness and timeliness."""

    code: str
    completeness: Share
    timeliness: Share


@dataclass(frozen=True)
class MeetingView:
    period: Period
    lines: Lines
    rows: list[MeetingRow]
    reps_scored: int


MEETING_CODES = ("A", "B", "C")


def meeting_view(
    *, user: User, period: Period, team_id: int | None = None, board: HealthBoard | None = None
) -> MeetingView:
    """The weekly meeting (八.③): the reps in scope with the three lowest health scores, anonymized as
    代号 A/B/C (lowest first) and shown by completeness and timeliness only; reps without a score are
    left out. The board's queries plus one for the roles. Row order does not follow ids or names: ties
    go by completeness, then timeliness, so the codes say nothing about who is who. `board`: the
    period's board per rep when the caller has it (a company's is kept)."""
    board = board if board is not None else health_board(user=user, period=period, team_id=team_id, weeks=False)
    reps = set(User.objects.filter(pk__in=[r.key for r in board.rows], role=Role.REP).values_list("pk", flat=True))
    scored = [r for r in board.rows if r.key in reps and r.health.score.score is not None]
    scored.sort(
        key=lambda r: (
            r.health.score.score,
            r.health.completeness.value if r.health.completeness.value is not None else -1,
            r.health.timeliness.value if r.health.timeliness.value is not None else -1,
        )
    )
    rows = [
        MeetingRow(code, r.health.completeness, r.health.timeliness)
        for code, r in zip(MEETING_CODES, scored, strict=False)
    ]
    return MeetingView(period, board.rules.lines, rows, len(scored))
