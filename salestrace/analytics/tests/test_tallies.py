"""The database's tallies give what the Python definitions give over the same deals.

`metrics.funnel` and `metrics.cycle_time` are defined (and tested by hand) over DealFacts; the pages
and the API count with SQL (analytics.tallies). Random books — repeated stages, stages outside the
funnel, moves late at night (another UTC date), deals engaged before the period and still open,
closed inside or outside it, cents in the amounts — must tally the same on both databases, for
explicit deals (B2B) and implicit ones (FMCG stores).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from salestrace.actions.tests.factories import make_customer
from salestrace.analytics.fetch import everything, facts_of, population_of
from salestrace.analytics.metrics import cycle_tally, funnel_tally
from salestrace.analytics.selectors import deal_stages, top_reps
from salestrace.analytics.tallies import cycle_tally_sql, funnel_tally_sql, period_deals, top_reps_sql
from salestrace.analytics.tests.factories import SHANGHAI, Plan, make_deals
from salestrace.customers.models import Customer, StageHistory

SINCE, UNTIL, TODAY = date(2026, 7, 1), date(2026, 9, 30), date(2026, 10, 15)
STAGES = ["lead", "needs_confirmed", "solution_compare", "price_negotiation", "contract_signing"]


def _moment(day: date, rng: random.Random) -> datetime:
    """A local moment on `day`, often just after midnight (the day before, in UTC)."""
    hour = rng.choice([0, 1, 7, 10, 15, 23])
    return datetime.combine(day, time(hour, rng.randrange(60)), tzinfo=SHANGHAI)


def _random_plans(owners: list[Any], rng: random.Random, n: int) -> list[Plan]:
    plans = []
    for _ in range(n):
        engaged = SINCE + timedelta(days=rng.randrange(-120, 100))
        day, stages = engaged, []
        for _step in range(rng.randrange(0, 7)):
            stages.append((rng.choice([*STAGES, *STAGES, "unknown_stage"]), day))
            day += timedelta(days=rng.randrange(0, 25))
        outcome = rng.choice(["open", "won", "lost"])
        plans.append(
            Plan(
                owner=rng.choice(owners),
                engaged=engaged,
                outcome=outcome,
                closed=day + timedelta(days=rng.randrange(0, 20)) if outcome != "open" else None,
                amount=Decimal(rng.randrange(0, 10_000_000)) / 100,
                stages=stages,
            )
        )
    return plans


def _jitter_history(rng: random.Random) -> None:
    """Moves each stage change to another hour of its local day (some land on the UTC day before)."""
    rows = list(StageHistory.objects.all())
    for row in rows:
        row.changed_at = _moment(row.changed_at.astimezone(SHANGHAI).date(), rng)
    StageHistory.objects.bulk_update(rows, ["changed_at"])


def _assert_same(population: Any, owners: list[int]) -> None:
    stages = deal_stages()
    facts = facts_of(population, since=SINCE, until=UNTIL)
    deals = period_deals(population, since=SINCE, until=UNTIL)
    expected = funnel_tally(facts, stages)
    # (a book worth comparing: every outcome, and days in several stages)
    assert min(expected.won, expected.lost, expected.open) >= 3
    assert len(expected.days) >= 3
    assert funnel_tally_sql(deals, stage_order=stages) == expected
    mine = [f for f in facts if f.rep_id == owners[0]]
    assert funnel_tally_sql(deals, stage_order=stages, owner_id=owners[0]) == funnel_tally(mine, stages)
    assert cycle_tally_sql(deals, today=TODAY) == cycle_tally(facts, today=TODAY)
    assert cycle_tally_sql(deals, today=TODAY, owners=owners[:2]) == cycle_tally(
        [f for f in facts if f.rep_id in owners[:2]], today=TODAY
    )
    for by in ("top_value", "top_count"):
        assert top_reps_sql(deals, by=by, n=2) == top_reps(facts, by=by, n=2)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_explicit_deals_tally_alike_in_sql_and_python(personas: Any, b2b: None, carol: Any, seed: int) -> None:
    rng = random.Random(seed)
    owners = [personas.alice, personas.bob, carol]
    make_deals(_random_plans(owners, rng, 120))
    _jitter_history(rng)
    _assert_same(everything(), [o.pk for o in owners])
    # and through a supervisor's scope (his team's subtree only)
    _assert_same(population_of(personas.sam), [personas.alice.pk, carol.pk])


@pytest.mark.parametrize("seed", [4, 5])
def test_implicit_deals_tally_alike_in_sql_and_python(personas: Any, seed: int) -> None:
    # given the FMCG template the personas come with: each store is one implicit deal
    rng = random.Random(seed)
    owners = [personas.alice, personas.bob]
    history = []
    for i in range(80):
        created = _moment(SINCE + timedelta(days=rng.randrange(-120, 100)), rng)
        status = rng.choice(list(Customer.Status))
        customer = make_customer(owner=rng.choice(owners), name=f"门店{i}")
        Customer.objects.filter(pk=customer.pk).update(created_at=created, status=status)
        day = created.date()
        for _step in range(rng.randrange(0, 5)):
            history.append(
                StageHistory(customer=customer, to_stage=rng.choice(deal_stages()), changed_at=_moment(day, rng))
            )
            day += timedelta(days=rng.randrange(0, 20))
        if status in (Customer.Status.WON, Customer.Status.LOST) and rng.random() < 0.8:
            history.append(StageHistory(customer=customer, to_stage=status.value, changed_at=_moment(day, rng)))
    StageHistory.objects.bulk_create(history)
    _assert_same(everything(), [o.pk for o in owners])
