"""The funnel and cycle time tallied by the database: a handful of GROUP BY rows instead of a
company's deals and stage history read into Python.

They give what `metrics.funnel_tally` / `metrics.cycle_tally` give over `fetch.facts_of` (the
same deals of the period, explicit or implicit), which the tests hold them to. Window functions
(LEAD, LAST_VALUE) order each deal's stage entries; both SQLite (3.25+) and PostgreSQL have them.

Local dates: PostgreSQL converts with AT TIME ZONE. SQLite stores UTC text and has no zones: when
the zone keeps one UTC offset over the years read (Asia/Shanghai has since 1991), the offset is
added in SQL; otherwise Django's own conversion function is called per row (slower, as correct).
Every piece of SQL text here is ours (table names, placeholders); values travel as parameters.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from salestrace.analytics.fetch import TERMINAL, Population, deal_period
from salestrace.analytics.metrics import LOST, OPEN, WON, FunnelTally
from salestrace.catalog.selectors import catalog_snapshot
from salestrace.customers.models import Customer, Deal, StageHistory

CENTS = Decimal("0.01")
HIST = "hist(deal, to_stage, changed_at, id, owner_id, outcome, closed_on)"


def _sql(queryset: QuerySet[Any, Any]) -> tuple[str, list[Any]]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


@cache
def _fixed_offset_seconds(zone_name: str, first_year: int, last_year: int) -> int | None:
    """The zone's UTC offset in seconds when it is the same all through these years, else None."""
    zone = ZoneInfo(zone_name)
    offsets = {
        datetime(year, month, 1, 12, tzinfo=zone).utcoffset()
        for year in range(first_year, last_year + 1)
        for month in (1, 4, 7, 10)
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds()) if offset is not None else None


class _Dialect:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, since: date, until: date) -> None:
        self.vendor = connection.vendor
        self.zone = timezone.get_current_timezone_name()
        # History may be years older than the period (a deal still open); ten years is plenty.
        self.offset = _fixed_offset_seconds(self.zone, since.year - 10, until.year + 1)

    def local_date(self, column: str) -> tuple[str, list[Any]]:
        if self.vendor == "postgresql":
            return f"(({column}) AT TIME ZONE %s)::date", [self.zone]
        if self.offset is not None:
            return f"date({column}, %s)", [f"{self.offset:+d} seconds"]
        return f"django_datetime_cast_date({column}, %s, 'UTC')", [self.zone]

    def days_between(self, later: str, earlier: str) -> str:
        if self.vendor == "postgresql":
            return f"(({later}) - ({earlier}))"
        return f"CAST(ROUND(julianday({later}) - julianday({earlier})) AS INTEGER)"

    def date_param(self, value: date) -> Any:
        return connection.ops.adapt_datefield_value(value)


@dataclass(frozen=True)
class PeriodDeals:
    """A population's deals over a period as SQL: `head` is `WITH dp(id, owner_id, engaged_on,
    outcome, closed_on, amount) AS (…), hist(deal, to_stage, changed_at, id, owner_id, outcome,
    closed_on) AS (…)` (the deals, and their stage entries but won/lost, each with its deal's
    owner, outcome and close; read from the deals, each deal's entries found by index), `params`
    its parameters. Built once, read by several
    statements (the population's filter and the catalog are looked up once)."""

    head: str
    params: tuple[Any, ...]
    dialect: _Dialect


def period_deals(population: Population, *, since: date, until: date) -> PeriodDeals:
    """The deals `fetch.facts_of` reads, as SQL (see PeriodDeals)."""
    dialect = _Dialect(since, until)
    head, params = _deals_cte(population, since, until, dialect)
    return PeriodDeals(head, tuple(params), dialect)


def _deals_cte(population: Population, since: date, until: date, dialect: _Dialect) -> tuple[str, list[Any]]:
    terminal = sorted(TERMINAL)
    table = StageHistory._meta.db_table
    if catalog_snapshot().uses_deals:
        deals = Deal.objects.filter(population.deal_filter(), deal_period(since, until)).values_list(
            "pk", "owner_id", "engaged_on", "outcome", "closed_on", "amount"
        )
        deal_sql, params = _sql(deals.order_by())
        sql = (
            f"WITH dp(id, owner_id, engaged_on, outcome, closed_on, amount) AS MATERIALIZED ({deal_sql}), "  # noqa: S608
            f"{HIST} AS (SELECT dp.id, h.to_stage, h.changed_at, h.id, dp.owner_id, dp.outcome, dp.closed_on "
            f"FROM dp JOIN {table} h ON h.deal_id = dp.id WHERE h.to_stage NOT IN (%s, %s))"
        )
        return sql, [*params, *terminal]
    # Implicit deals: one per customer created by `until` (see fetch._implicit).
    end = timezone.make_aware(datetime.combine(until, time.max))
    customers = Customer.objects.filter(population.customer_filter(), created_at__lte=end).values_list(
        "pk", "owner_id", "created_at", "status"
    )
    customer_sql, params = _sql(customers.order_by())
    engaged, engaged_params = dialect.local_date("c.created_at")
    closed, closed_params = dialect.local_date("MAX(t.changed_at)")
    sql = (
        f"WITH c(id, owner_id, created_at, status) AS ({customer_sql}), "  # noqa: S608
        f"d(id, owner_id, engaged_on, outcome, closed_on, amount) AS ("
        f"SELECT c.id, c.owner_id, {engaged}, "
        f"CASE c.status WHEN %s THEN %s WHEN %s THEN %s ELSE %s END, "
        f"CASE WHEN c.status IN (%s, %s) THEN COALESCE("
        f"(SELECT {closed} FROM {table} t WHERE t.customer_id = c.id AND t.deal_id IS NULL "
        f"AND t.to_stage IN (%s, %s)), {engaged}) END, 0 FROM c), "
        f"dp AS (SELECT * FROM d WHERE d.engaged_on <= %s AND (d.outcome = %s OR d.engaged_on >= %s "
        f"OR d.closed_on BETWEEN %s AND %s)), "
        f"{HIST} AS (SELECT dp.id, h.to_stage, h.changed_at, h.id, dp.owner_id, dp.outcome, dp.closed_on "
        f"FROM dp JOIN {table} h ON h.customer_id = dp.id WHERE h.deal_id IS NULL AND h.to_stage NOT IN (%s, %s))"
    )
    won_status, lost_status = Customer.Status.WON.value, Customer.Status.LOST.value
    day_since, day_until = dialect.date_param(since), dialect.date_param(until)
    return (
        sql,
        [
            *params,
            *engaged_params,
            *[won_status, WON, lost_status, LOST, OPEN],
            won_status,
            lost_status,
            *closed_params,
            *terminal,
            *engaged_params,
            day_until,
            OPEN,
            day_since,
            day_since,
            day_until,
            *terminal,
        ],
    )


def funnel_tally_sql(deals_of: PeriodDeals, *, stage_order: Sequence[str], owner_id: int | None = None) -> FunnelTally:
    """`metrics.funnel_tally` of the period's deals (only `owner_id`'s when given), counted by the
    database: two statements."""
    dialect, head, params = deals_of.dialect, deals_of.head, list(deals_of.params)
    owner, owner_params = ("WHERE owner_id = %s", [owner_id]) if owner_id is not None else ("", [])
    day, day_params = dialect.local_date("changed_at")
    index = " ".join("WHEN %s THEN %s" for _ in stage_order)
    index_params = [value for i, stage in enumerate(stage_order) for value in (stage, i)]
    spell_next = dialect.days_between("x.next_day", "x.day")
    spell_close = dialect.days_between("x.closed_on", "x.day")
    sql = (
        f"{head}, "  # noqa: S608
        f"e AS (SELECT deal, to_stage, {day} AS day, "
        f"LEAD({day}) OVER entries AS next_day, LAST_VALUE(to_stage) OVER (entries ROWS BETWEEN "
        f"UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_stage, outcome, closed_on FROM hist {owner} "
        f"WINDOW entries AS (PARTITION BY deal ORDER BY changed_at, id)), "
        f"x AS (SELECT e.*, CASE e.to_stage {index} END AS idx FROM e) "
        # The furthest stage of each lost or open deal that entered one of stage_order.
        f"SELECT 'top', t.top, CAST(NULL AS INTEGER), COUNT(*) FROM "
        f"(SELECT deal, MAX(idx) AS top FROM x WHERE outcome <> %s AND idx IS NOT NULL GROUP BY deal) t "
        f"GROUP BY t.top "
        # Open deals by the stage they sit in (their last entry).
        f"UNION ALL SELECT 'here', idx, CAST(NULL AS INTEGER), COUNT(*) FROM x "
        f"WHERE outcome = %s AND next_day IS NULL AND idx IS NOT NULL GROUP BY idx "
        # Days each deal spent in each stage (an open deal's current stage left out), by stage and days.
        f"UNION ALL SELECT 'days', s.idx, s.total, COUNT(*) FROM "
        f"(SELECT deal, idx, SUM(CASE WHEN x.next_day IS NOT NULL THEN {spell_next} ELSE {spell_close} END) AS total "
        f"FROM x WHERE idx IS NOT NULL AND NOT (outcome = %s AND to_stage = last_stage) "
        f"GROUP BY deal, idx) s GROUP BY s.idx, s.total"
    )
    outcomes_sql = f"{head} SELECT outcome, COUNT(*), SUM(amount) FROM dp {owner} GROUP BY outcome"  # noqa: S608
    top: Counter[int] = Counter()
    here: Counter[int] = Counter()
    days: dict[int, Counter[int]] = defaultdict(Counter)
    with connection.cursor() as cursor:
        cursor.execute(outcomes_sql, [*params, *owner_params])
        by_outcome = {outcome: (n, value) for outcome, n, value in cursor.fetchall()}
        cursor.execute(sql, [*params, *day_params, *day_params, *owner_params, *index_params, WON, OPEN, OPEN])
        for kind, at, total, n in cursor.fetchall():
            if kind == "top":
                top[int(at)] += n
            elif kind == "here":
                here[int(at)] += n
            else:
                days[int(at)][int(total)] += n
    won, won_value = by_outcome.get(WON, (0, None))
    lost = by_outcome.get(LOST, (0, None))[0]
    still_open = by_outcome.get(OPEN, (0, None))[0]
    # Lost and open deals that entered none of stage_order reached nothing.
    top[-1] += lost + still_open - sum(top.values())
    if not top[-1]:
        del top[-1]
    return FunnelTally(won, lost, still_open, _money(won_value), top, here, days)


def cycle_tally_sql(
    deals_of: PeriodDeals, *, today: date, owners: Sequence[int] | None = None
) -> Counter[tuple[int, bool]]:
    """`metrics.cycle_tally` of the period's deals (only those owned by `owners` when given),
    counted by the database: one statement."""
    dialect, head, params = deals_of.dialect, deals_of.head, list(deals_of.params)
    span = dialect.days_between("CASE WHEN outcome IN (%s, %s) THEN closed_on ELSE %s END", "engaged_on")
    where = ""
    owner_params: list[Any] = []
    if owners is not None:
        if not owners:
            return Counter()
        where = f"WHERE owner_id IN ({', '.join(['%s'] * len(owners))})"
        owner_params = list(owners)
    sql = (
        f"{head} SELECT CASE WHEN s.days < 0 THEN 0 ELSE s.days END, s.won, COUNT(*) FROM "  # noqa: S608
        f"(SELECT {span} AS days, CASE WHEN outcome = %s THEN 1 ELSE 0 END AS won FROM dp {where}) s "
        f"GROUP BY 1, 2"
    )
    tally: Counter[tuple[int, bool]] = Counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, WON, LOST, dialect.date_param(today), WON, *owner_params])
        for days, won, n in cursor.fetchall():
            tally[(int(days), bool(won))] += n
    return tally


def top_reps_sql(deals_of: PeriodDeals, *, by: str, n: int) -> list[int]:
    """`selectors.top_reps` of the period's deals: the `n` reps with the most won value (`by`
    top_value) or won deals (top_count), ties by won count then rep id; one statement."""
    head, params = deals_of.head, list(deals_of.params)
    sql = f"{head} SELECT owner_id, SUM(amount), COUNT(*) FROM dp WHERE outcome = %s GROUP BY owner_id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, WON])
        rows = [(owner, _money(value), count) for owner, value, count in cursor.fetchall()]
    rows.sort(key=lambda r: (-(r[1] if by == "top_value" else r[2]), -r[2], r[0]))
    return [owner for owner, _value, count in rows[:n] if count]


def _money(value: Any) -> Decimal:
    """A SUM of amounts as Decimal (SQLite sums them as floats: rounded back to cents)."""
    if value is None:
        return Decimal(0).quantize(CENTS)
    if isinstance(value, Decimal):
        return value.quantize(CENTS)
    return Decimal(repr(value)).quantize(CENTS)
