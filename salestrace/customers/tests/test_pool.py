"""Lead aging into the dormant pool (休眠线索池), and claiming, releasing and reassigning from it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connections

from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.catalog.models import Policy, Threshold
from salestrace.core.errors import Conflict, NotFound
from salestrace.customers.jobs import sweep_dormant
from salestrace.customers.models import Customer, PoolMove
from salestrace.customers.rules import ClaimRequest, IdleLimits, PoolPolicy, claim_refusals
from salestrace.customers.services import pool_claim

pytestmark = pytest.mark.django_db
T0 = datetime.fromisoformat("2026-10-01T10:00:00+08:00")


# --- pure rules ---------------------------------------------------------------------------------


def request(**changes: Any) -> ClaimRequest:
    base: dict[str, Any] = {
        "claimer_id": 2,
        "claimer_role": "rep",
        "claimer_team_ids": frozenset({10}),
        "previous_owner_id": 1,
        "previous_owner_team_id": 10,
        "pool_entered_at": T0,
        "held_from_pool": 0,
    }
    base.update(changes)
    return ClaimRequest(**base)


@pytest.mark.parametrize(
    ("changes", "refusals"),
    [
        ({}, []),
        ({"claimer_role": "assistant"}, ["role_not_allowed"]),
        ({"previous_owner_team_id": 11}, ["other_team"]),
        ({"claimer_id": 1}, ["locked_out"]),
        ({"held_from_pool": 20}, ["limit_reached"]),
        ({"claimer_role": "assistant", "previous_owner_team_id": 11}, ["role_not_allowed", "other_team"]),
    ],
)
def test_claim_rules_report_every_reason(changes: dict[str, Any], refusals: list[str]) -> None:
    assert claim_refusals(request(**changes), PoolPolicy(), now=T0 + timedelta(days=1)) == refusals


def test_the_previous_owner_may_reclaim_after_the_lockout() -> None:
    policy = PoolPolicy(lockout_days=7)
    assert claim_refusals(request(claimer_id=1), policy, now=T0 + timedelta(days=6, hours=23)) == ["locked_out"]
    assert claim_refusals(request(claimer_id=1), policy, now=T0 + timedelta(days=7)) == []


def test_any_scope_ignores_teams() -> None:
    assert claim_refusals(request(previous_owner_team_id=99), PoolPolicy(claim_scope="any"), now=T0) == []


def test_idle_limits_stage_beats_kind_beats_default() -> None:
    limits = IdleLimits.from_thresholds(
        {
            "vitality_dormant_days": Decimal(30),
            "vitality_dormant_days__store": Decimal(40),
            "vitality_dormant_days__contract_signing": Decimal(45),
            "vitality_wakeup_days": Decimal(15),
        }
    )
    assert limits.dormant("lead", "lead") == 30
    assert limits.dormant("store", "lead") == 40
    assert limits.dormant("store", "contract_signing") == 45
    assert limits.wakeup("store", "contract_signing") == 15


# --- the nightly sweep --------------------------------------------------------------------------


def at_day(days: float) -> Any:
    return time_machine.travel(T0 + timedelta(days=days), tick=False)


@pytest.fixture
def lead(personas: Any) -> Customer:
    with at_day(0):
        return make_customer(owner=personas.alice, kind="lead", last_active_at=T0, assigned_at=T0 - timedelta(days=60))


@pytest.mark.parametrize(
    ("day", "dormant"),
    [(6, False), (7, False), (8, False), (14, False), (15, False), (16, False), (29, False), (30, False), (31, True)],
)
def test_a_lead_goes_dormant_only_after_thirty_idle_days(lead: Customer, day: int, dormant: bool) -> None:
    with at_day(day):
        moved = sweep_dormant(now=T0 + timedelta(days=day, seconds=-1))
    lead.refresh_from_db()
    assert (lead.status == Customer.Status.DORMANT) is dormant
    assert moved == (1 if dormant else 0)


def test_the_sweep_is_idempotent_and_records_each_move_once(lead: Customer, personas: Any) -> None:
    now = T0 + timedelta(days=31)
    assert sweep_dormant(now=now) == 1
    assert sweep_dormant(now=now) == 0
    assert sweep_dormant(now=now + timedelta(days=1)) == 0
    move = PoolMove.objects.get(customer=lead)
    assert (move.kind, move.by, move.from_owner, move.at) == (PoolMove.Kind.ENTERED, None, personas.alice, now)
    lead.refresh_from_db()
    assert lead.owner == personas.alice  # frozen, not taken away
    assert lead.pool_entered_at == now


def test_won_lost_and_fresh_customers_stay_out_of_the_pool(personas: Any) -> None:
    old = T0 - timedelta(days=90)
    won = make_customer(owner=personas.alice, stage="won", status=Customer.Status.WON, last_active_at=old)
    new = make_customer(owner=personas.alice, last_active_at=None, created_at=T0 - timedelta(days=3), assigned_at=T0)
    claimed = make_customer(owner=personas.alice, last_active_at=old, assigned_at=T0 - timedelta(days=2))
    never = make_customer(owner=personas.alice, last_active_at=None, created_at=old, assigned_at=old)
    assert sweep_dormant(now=T0) == 1
    assert Customer.objects.get(status=Customer.Status.DORMANT) == never
    for c in (won, new, claimed):
        c.refresh_from_db()
        assert c.status != Customer.Status.DORMANT


def test_a_stage_with_its_own_limit_waits_longer(personas: Any) -> None:
    Threshold.objects.create(code="vitality_dormant_days__contract_signing", value=45)
    signing = make_customer(owner=personas.alice, stage="contract_signing", last_active_at=T0, assigned_at=T0)
    other = make_customer(owner=personas.alice, stage="lead", last_active_at=T0, assigned_at=T0)
    sweep_dormant(now=T0 + timedelta(days=40))
    signing.refresh_from_db()
    other.refresh_from_db()
    assert (signing.status, other.status) == (Customer.Status.ACTIVE, Customer.Status.DORMANT)
    sweep_dormant(now=T0 + timedelta(days=46))
    signing.refresh_from_db()
    assert signing.status == Customer.Status.DORMANT


# --- claiming, releasing, reassigning -------------------------------------------------------------


@pytest.fixture
def pooled(lead: Customer) -> Customer:
    sweep_dormant(now=T0 + timedelta(days=31))
    lead.refresh_from_db()
    return lead


def test_a_teammate_claims_a_pooled_lead(personas: Any, api_as: Any, pooled: Customer) -> None:
    carol = type(personas.alice).objects.create_user(username="carol", password="x", role="rep", team=personas.east1)
    with at_day(32):
        listed = api_as(carol).get("/pool").json()
        assert [c["id"] for c in listed["items"]] == [pooled.pk]
        response = api_as(carol).post(f"/pool/{pooled.pk}/claim")
    assert response.status_code == 200, response.content
    pooled.refresh_from_db()
    assert (pooled.owner, pooled.status, pooled.from_pool) == (carol, Customer.Status.ACTIVE, True)
    assert [m["kind"] for m in response.json()["pool_moves"]] == ["claimed", "entered"]


def test_a_rep_of_another_team_does_not_see_or_claim_it(personas: Any, api_as: Any, pooled: Customer) -> None:
    bob = api_as(personas.bob)
    assert bob.get("/pool").json()["count"] == 0
    assert bob.post(f"/pool/{pooled.pk}/claim").status_code == 404


def test_the_previous_owner_is_locked_out_for_a_week(personas: Any, api_as: Any, pooled: Customer) -> None:
    with at_day(33):
        response = api_as(personas.alice).post(f"/pool/{pooled.pk}/claim")
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "locked_out"
        # nor can she sneak it back by logging an action
        action = api_as(personas.alice).post("/actions", valid_price_negotiation(pooled.pk, T0 + timedelta(days=33)))
        assert action.status_code == 422
        assert action.json()["errors"][0]["code"] == "locked_out"
    with at_day(39):
        assert api_as(personas.alice).post(f"/pool/{pooled.pk}/claim").status_code == 200


def test_the_holding_limit_is_enforced(personas: Any, api_as: Any, pooled: Customer) -> None:
    Threshold.objects.update_or_create(code="pool_max_held", defaults={"value": 0})
    carol = type(personas.alice).objects.create_user(username="carol", password="x", role="rep", team=personas.east1)
    response = api_as(carol, language="en").post(f"/pool/{pooled.pk}/claim")
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "You already hold as many leads from the pool as the rules allow."


def test_a_supervisor_action_reactivates_a_pooled_lead(personas: Any, api_as: Any, pooled: Customer) -> None:
    with at_day(32):
        response = api_as(personas.sam).post("/actions", valid_price_negotiation(pooled.pk, T0 + timedelta(days=32)))
    assert response.status_code == 201
    pooled.refresh_from_db()
    assert (pooled.status, pooled.owner, pooled.pool_entered_at) == (Customer.Status.ACTIVE, personas.alice, None)
    assert PoolMove.objects.filter(customer=pooled, kind=PoolMove.Kind.REACTIVATED, by=personas.sam).exists()


def test_reactivation_restarts_the_clock(personas: Any, api_as: Any, pooled: Customer) -> None:
    with at_day(40):
        api_as(personas.alice).post("/actions", valid_price_negotiation(pooled.pk, T0 + timedelta(days=40)))
    assert sweep_dormant(now=T0 + timedelta(days=69)) == 0
    assert sweep_dormant(now=T0 + timedelta(days=71)) == 1


def test_release_and_reassign(personas: Any, api_as: Any, lead: Customer) -> None:
    with at_day(3):
        assert api_as(personas.bob).post(f"/pool/{lead.pk}/release", {"reason": "x"}).status_code == 404
        released = api_as(personas.alice).post(f"/pool/{lead.pk}/release", {"reason": "客户已转行"})
        assert released.status_code == 200
        assert released.json()["status"] == "dormant"
        assert api_as(personas.alice).patch(f"/customers/{lead.pk}", {"owner_id": personas.bob.pk}).status_code == 403
        assert (
            api_as(personas.alice).post(f"/pool/{lead.pk}/reassign", {"owner_id": personas.alice.pk}).status_code == 403
        )
        moved = api_as(personas.diana).post(
            f"/pool/{lead.pk}/reassign", {"owner_id": personas.bob.pk, "reason": "华西需要"}
        )
    assert moved.status_code == 200
    lead.refresh_from_db()
    assert (lead.owner, lead.status) == (personas.bob, Customer.Status.ACTIVE)
    assert list(PoolMove.objects.filter(customer=lead).order_by("id").values_list("kind", "reason")) == [
        ("released", "客户已转行"),
        ("reassigned", "华西需要"),
    ]


def test_any_scope_from_the_template_opens_the_pool_to_every_team(personas: Any, api_as: Any, pooled: Customer) -> None:
    Policy.objects.update_or_create(code="pool_claim_scope", defaults={"value": "any"})
    assert api_as(personas.bob).post(f"/pool/{pooled.pk}/claim").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_reps_racing_for_one_lead_exactly_one_wins(personas: Any, fmcg: None) -> None:
    lead = make_customer(owner=personas.alice, last_active_at=T0, assigned_at=T0)
    sweep_dormant(now=T0 + timedelta(days=31))
    User = type(personas.alice)
    racers = [
        User.objects.create_user(username=f"r{i}", password="x", role="rep", team=personas.east1) for i in range(2)
    ]
    barrier = threading.Barrier(2)

    def claim(user: Any) -> str:
        try:
            barrier.wait()
            pool_claim(user=user, customer_id=lead.pk, now=T0 + timedelta(days=32))
            return "won"
        except (Conflict, NotFound):
            # Conflict when both read it as pooled; NotFound when the winner committed first.
            return "lost"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(claim, racers))
    assert results == ["lost", "won"]
    assert PoolMove.objects.filter(customer=lead, kind=PoolMove.Kind.CLAIMED).count() == 1
