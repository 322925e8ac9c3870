"""ORM -> frozen dataclasses for analytics.metrics: the deals of a period and their actions.

Where the template sells projects (policy `uses_deals`), a deal is a `Deal` row and its stages are
the StageHistory rows that name it. Where it does not (FMCG stores), each customer is one
implicit deal, so the FMCG demo still gets a funnel and cycle times: engaged on the local date
the customer was created, won/lost from its status, closed on the local date of its last move to
won/lost (its creation date when no move was recorded), its stages from its own StageHistory
rows (deal empty), amount 0, owned by its owner.
Dates are local (Asia/Shanghai). Each read is a fixed handful of queries, whatever the row count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from salestrace.actions.models import ActionLog
from salestrace.analytics.metrics import LOST, OPEN, WON, ActionFacts, DealFacts, StageEntry
from salestrace.catalog.selectors import catalog_snapshot
from salestrace.core.bulk import from_stored_datetime, raw_rows
from salestrace.customers.models import STAGE_LOST, STAGE_WON, Customer, Deal, StageHistory
from salestrace.org.models import User
from salestrace.org.selectors import customer_scope, deal_scope, team_subtree_ids

TERMINAL = frozenset({STAGE_WON, STAGE_LOST})
CHUNK = 900


@dataclass(frozen=True)
class Population:
    """Which deals to read: a filter on Deal, or on Customer for implicit deals; built when read
    (each may walk the team tree: only the one the template needs is built)."""

    deal_filter: Callable[[], Q]
    customer_filter: Callable[[], Q]


def population_of(user: User, *, team_id: int | None = None) -> Population:
    """The deals `user` may read, narrowed to a team's subtree (by the deal owner's team)."""
    return Population(lambda: deal_scope(user) & in_team(team_id), lambda: customer_scope(user) & in_team(team_id))


def everything(team_id: int | None = None) -> Population:
    """Every deal of the company (or of a team's subtree)."""
    return Population(lambda: in_team(team_id), lambda: in_team(team_id))


def in_team(team_id: int | None) -> Q:
    """Owned by someone in a team's subtree; no filter for None."""
    return Q() if team_id is None else Q(owner__team_id__in=team_subtree_ids(team_id))


def team_population(team_id: int | None, user: User) -> Population:
    """A rep's team as a whole (their own deals alone when they have no team), for totals only."""
    mine = Q(owner=user) if team_id is None else Q(owner__team_id=team_id)
    return Population(lambda: mine, lambda: mine)


def deal_stages() -> tuple[str, ...]:
    """The template's stages a deal passes through, in order (won and lost left out)."""
    return tuple(s for s in catalog_snapshot().stage_order if s not in TERMINAL)


def _local_dates() -> Callable[[datetime | str], date]:
    """Local dates of stored datetimes as `raw_rows` returns them, the zone looked up once (a
    history of a million rows would spend seconds in `timezone.localdate`'s lookups)."""
    zone = timezone.get_current_timezone()

    def local(value: datetime | str) -> date:
        return from_stored_datetime(value).astimezone(zone).date()

    return local


def deal_facts(*, user: User, since: date, until: date, team_id: int | None = None) -> list[DealFacts]:
    """Deals in `user`'s scope engaged or closed in [since, until], or engaged by `until` and still open."""
    return facts_of(population_of(user, team_id=team_id), since=since, until=until)


def facts_of(population: Population, *, since: date, until: date) -> list[DealFacts]:
    """DealFacts of a population over a period (see `deal_facts`); two queries plus the catalog's."""
    if catalog_snapshot().uses_deals:
        return _explicit(population.deal_filter(), since, until)
    return _implicit(population.customer_filter(), since, until)


def facts_count(population: Population, *, since: date, until: date) -> int:
    """How many deals `facts_of` would read (customers, for implicit deals: an upper bound); one query."""
    if catalog_snapshot().uses_deals:
        return Deal.objects.filter(population.deal_filter(), deal_period(since, until)).count()
    end = timezone.make_aware(datetime.combine(until, time.max))
    return Customer.objects.filter(population.customer_filter(), created_at__lte=end).count()


def deal_period(since: date, until: date) -> Q:
    """Deals of a period: engaged by its end, and open, engaged in it, or closed in it (as `_in_period`)."""
    return Q(engaged_on__lte=until) & (
        Q(outcome=Deal.Outcome.OPEN) | Q(engaged_on__gte=since) | Q(closed_on__range=(since, until))
    )


def _in_period(engaged: date, outcome: str, closed: date | None, since: date, until: date) -> bool:
    if engaged > until:
        return False
    if outcome == OPEN or since <= engaged:
        return True
    return closed is not None and since <= closed <= until


def _explicit(scope: Q, since: date, until: date) -> list[DealFacts]:
    period = deal_period(since, until)
    rows = list(
        Deal.objects.filter(scope, period)
        .order_by("pk")
        .values_list("pk", "owner_id", "engaged_on", "outcome", "closed_on", "amount")
    )
    stages: dict[int, list[StageEntry]] = defaultdict(list)
    if rows:
        history = (
            StageHistory.objects.filter(deal__in=Deal.objects.filter(scope, period).values("pk"))
            .exclude(to_stage__in=TERMINAL)
            .order_by("changed_at", "pk")
            .values_list("deal_id", "to_stage", "changed_at")
        )
        local = _local_dates()
        for deal_id, stage, changed_at in raw_rows(history):
            stages[deal_id].append(StageEntry(stage, local(changed_at)))
    return [
        DealFacts(pk, owner_id, engaged, outcome, closed, amount, tuple(stages[pk]))
        for pk, owner_id, engaged, outcome, closed, amount in rows
    ]


def _implicit(scope: Q, since: date, until: date) -> list[DealFacts]:
    end = timezone.make_aware(datetime.combine(until, time.max))
    customers = Customer.objects.filter(scope, created_at__lte=end)
    rows = list(customers.order_by("pk").values_list("pk", "owner_id", "created_at", "status"))
    stages: dict[int, list[StageEntry]] = defaultdict(list)
    closed_on: dict[int, date] = {}
    history = (
        StageHistory.objects.filter(customer__in=customers.values("pk"), deal=None)
        .order_by("changed_at", "pk")
        .values_list("customer_id", "to_stage", "changed_at")
    )
    local = _local_dates()
    for customer_id, stage, changed_at in raw_rows(history):
        if stage in TERMINAL:
            closed_on[customer_id] = local(changed_at)
        else:
            stages[customer_id].append(StageEntry(stage, local(changed_at)))
    facts = []
    for pk, owner_id, created_at, status in rows:
        outcome = WON if status == Customer.Status.WON else LOST if status == Customer.Status.LOST else OPEN
        engaged = local(created_at)
        closed = closed_on.get(pk, engaged) if outcome != OPEN else None
        if _in_period(engaged, outcome, closed, since, until):
            facts.append(DealFacts(pk, owner_id, engaged, outcome, closed, Decimal(0), tuple(stages[pk])))
    return facts


def action_facts(deal_ids: Iterable[int]) -> list[ActionFacts]:
    """The actions on these deals (customers, for implicit deals), occurred_at in local time; one query."""
    ids = list(deal_ids)
    if not ids:
        return []
    column = "deal_id" if catalog_snapshot().uses_deals else "customer_id"
    fields = (column, "occurred_at", "stage", "key_action", "contact_method", "response_strength", "next_step_date")
    tz = timezone.get_current_timezone()
    facts: list[ActionFacts] = []
    # In chunks: SQLite refuses statements with too many parameters.
    for start in range(0, len(ids), CHUNK):
        rows = ActionLog.objects.filter(**{f"{column}__in": ids[start : start + CHUNK]}).values_list(*fields)
        facts.extend(
            ActionFacts(deal_id, occurred_at.astimezone(tz), stage, key_action, method, response, next_step)
            for deal_id, occurred_at, stage, key_action, method, response, next_step in rows
        )
    facts.sort(key=lambda a: (a.occurred_at, a.deal_id))
    return facts
