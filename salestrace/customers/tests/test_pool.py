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
from salestrace.core.errors import Conflict, NotFound, RuleViolation
from salestrace.customers.jobs import sweep_dormant
from salestrace.customers.models import Customer, PoolMove
from salestrace.customers.rules import ClaimRequest, IdleLimits, PoolPolicy, claim_refusals
from salestrace.customers.selectors import pool_policy
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
        "released": True,
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


def test_the_owner_of_a_lead_that_aged_into_the_pool_is_not_locked_out() -> None:
    # given a lead that aged into the pool (nobody released it)
    aged = request(claimer_id=1, released=False)
    # then its owner may take it back at once, unless the template keeps the lockout for aged leads too
    assert claim_refusals(aged, PoolPolicy(), now=T0 + timedelta(hours=1)) == []
    assert claim_refusals(aged, PoolPolicy(owner_revives_aged=False), now=T0 + timedelta(hours=1)) == ["locked_out"]


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


def test_the_owner_who_released_a_lead_is_locked_out_for_a_week(personas: Any, api_as: Any, lead: Customer) -> None:
    # given alice released her lead on day 2
    with at_day(2):
        assert api_as(personas.alice).post(f"/pool/{lead.pk}/release", {"reason": "暂不跟进"}).status_code == 200
    # when she wants it back on day 4
    with at_day(4):
        response = api_as(personas.alice).post(f"/pool/{lead.pk}/claim")
        # nor can she sneak it back by logging an action
        action = api_as(personas.alice).post("/actions", valid_price_negotiation(lead.pk, T0 + timedelta(days=4)))
    # then both are refused until the week is over
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "locked_out"
    assert action.status_code == 422
    assert action.json()["errors"][0]["code"] == "locked_out"
    with at_day(9):
        assert api_as(personas.alice).post(f"/pool/{lead.pk}/claim").status_code == 200


def test_an_owner_who_finally_visits_an_aged_lead_logs_it_and_revives_it(
    personas: Any, api_as: Any, pooled: Customer
) -> None:
    # given alice's lead aged into the pool on day 31 (she did not release it)
    # when she finally gets to it the same day and logs it
    with at_day(31.5):
        response = api_as(personas.alice).post("/actions", valid_price_negotiation(pooled.pk, T0 + timedelta(days=31)))
    # then it is logged, and the lead is hers and active again, the move recorded
    assert response.status_code == 201, response.content
    pooled.refresh_from_db()
    assert (pooled.status, pooled.owner, pooled.pool_entered_at) == (Customer.Status.ACTIVE, personas.alice, None)
    assert PoolMove.objects.filter(customer=pooled, kind=PoolMove.Kind.REACTIVATED, by=personas.alice).exists()


def test_an_owner_may_claim_back_a_lead_that_aged_into_the_pool(personas: Any, api_as: Any, pooled: Customer) -> None:
    with at_day(32):
        response = api_as(personas.alice).post(f"/pool/{pooled.pk}/claim")
    assert response.status_code == 200, response.content


def test_a_template_may_hold_aged_leads_to_the_lockout_too(personas: Any, api_as: Any, pooled: Customer) -> None:
    # given a template that does not let the owner revive an aged lead at once
    Policy.objects.update_or_create(code="pool_owner_revives_aged", defaults={"value": False})
    # when alice logs on it the day after it aged
    with at_day(32):
        response = api_as(personas.alice).post("/actions", valid_price_negotiation(pooled.pk, T0 + timedelta(days=32)))
    # then she waits out the lockout like after a release
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "locked_out"


def test_the_packs_let_the_owner_revive_an_aged_lead(personas: Any) -> None:
    assert Policy.objects.get(code="pool_owner_revives_aged").value is True
    assert pool_policy().owner_revives_aged is True


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


# --- editing old actions on pooled or given-away leads ---------------------------------------------


@pytest.fixture
def logged(personas: Any, api_as: Any, lead: Customer) -> int:
    """Alice logged a price negotiation on her lead on day 1; the action's id."""
    with at_day(1):
        response = api_as(personas.alice).post("/actions", valid_price_negotiation(lead.pk, T0 + timedelta(days=1)))
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def test_editing_an_old_action_does_not_take_a_released_lead_out_of_the_pool(
    personas: Any, api_as: Any, lead: Customer, logged: int
) -> None:
    # given alice released her lead on day 2
    with at_day(2):
        api_as(personas.alice).post(f"/pool/{lead.pk}/release", {"reason": "暂不跟进"})
    # when, the lockout over, she moves the time of her old action
    with at_day(10):
        later = (T0 + timedelta(days=1, hours=2)).isoformat()
        response = api_as(personas.alice).patch(f"/actions/{logged}", {"occurred_at": later})
    # then the edit is refused: only a new action takes the lead back
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "dormant"
    lead.refresh_from_db()
    assert (lead.status, lead.pool_entered_at) == (Customer.Status.DORMANT, T0 + timedelta(days=2))
    assert not PoolMove.objects.filter(customer=lead, kind=PoolMove.Kind.REACTIVATED).exists()


def test_an_edit_obeys_the_release_lockout_and_leaves_the_lead_pooled(
    personas: Any, api_as: Any, lead: Customer, logged: int
) -> None:
    # given alice released her lead on day 2
    with at_day(2):
        api_as(personas.alice).post(f"/pool/{lead.pk}/release", {"reason": "暂不跟进"})
    # when she edits her old action during the lockout, then after it
    with at_day(4):
        locked = api_as(personas.alice).patch(f"/actions/{logged}", {"summary": "客户说下月再谈"})
    with at_day(10):
        typo = api_as(personas.alice).patch(f"/actions/{logged}", {"summary": "客户说下月再谈"})
    # then the lockout holds like for a new action; a text fix afterwards keeps the lead pooled
    assert locked.status_code == 422
    assert locked.json()["errors"][0]["code"] == "locked_out"
    assert typo.status_code == 200, typo.content
    lead.refresh_from_db()
    assert lead.status == Customer.Status.DORMANT


def test_a_new_action_takes_a_released_lead_back_recorded_then_old_ones_may_be_corrected(
    personas: Any, api_as: Any, lead: Customer, logged: int
) -> None:
    # given alice released her lead on day 2 and took it back with a new action on day 10
    with at_day(2):
        api_as(personas.alice).post(f"/pool/{lead.pk}/release", {"reason": "暂不跟进"})
    with at_day(10):
        alice = api_as(personas.alice)
        assert alice.post("/actions", valid_price_negotiation(lead.pk, T0 + timedelta(days=10))).status_code == 201
        # when she corrects the old one
        response = alice.patch(f"/actions/{logged}", {"occurred_at": (T0 + timedelta(days=1, hours=2)).isoformat()})
    # then the edit goes through, and the way out of the pool is on record
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.status, lead.pool_entered_at) == (Customer.Status.ACTIVE, None)
    assert lead.last_active_at == T0 + timedelta(days=10)
    assert PoolMove.objects.filter(customer=lead, kind=PoolMove.Kind.REACTIVATED, by=personas.alice).count() == 1


def test_a_rep_who_no_longer_owns_a_customer_cannot_restage_it_by_editing_an_old_action(
    personas: Any, api_as: Any, lead: Customer, logged: int
) -> None:
    # given Sam gave alice's lead to carol on day 2
    carol = type(personas.alice).objects.create_user(username="carol", password="x", role="rep", team=personas.east1)
    with at_day(2):
        moved = api_as(personas.sam).patch(f"/customers/{lead.pk}", {"owner_id": carol.pk})
    assert moved.status_code == 200, moved.content
    # when alice edits the stage of her old action
    with at_day(3):
        response = api_as(personas.alice).patch(f"/actions/{logged}", {"stage": "contract_signing"})
    # then she is refused and carol's customer keeps its stage
    assert response.status_code == 403
    lead.refresh_from_db()
    assert (lead.owner, lead.stage) == (carol, "price_negotiation")


def test_a_reassignment_is_recorded_and_restarts_the_owner_spell(personas: Any, api_as: Any, lead: Customer) -> None:
    # given alice's active lead
    carol = type(personas.alice).objects.create_user(username="carol", password="x", role="rep", team=personas.east1)
    # when Sam gives it to carol
    with at_day(2):
        response = api_as(personas.sam).patch(f"/customers/{lead.pk}", {"owner_id": carol.pk})
    # then who moved it, from whom to whom and when is kept, and carol's idle clock starts now
    assert response.status_code == 200, response.content
    move = PoolMove.objects.get(customer=lead)
    assert (move.kind, move.by, move.from_owner, move.to_owner, move.at) == (
        PoolMove.Kind.REASSIGNED,
        personas.sam,
        personas.alice,
        carol,
        T0 + timedelta(days=2),
    )
    lead.refresh_from_db()
    assert lead.assigned_at == T0 + timedelta(days=2)


# --- the holding limit under concurrent claims ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_by_one_rep_never_exceed_the_holding_limit(personas: Any, fmcg: None) -> None:
    # given a limit of one lead from the pool, and four pooled leads of the team
    Threshold.objects.update_or_create(code="pool_max_held", defaults={"value": 1})
    leads = [make_customer(owner=personas.alice, last_active_at=T0, assigned_at=T0) for _ in range(4)]
    sweep_dormant(now=T0 + timedelta(days=31))
    carol = type(personas.alice).objects.create_user(username="carol", password="x", role="rep", team=personas.east1)
    barrier = threading.Barrier(len(leads))

    def claim(lead: Customer) -> str:
        try:
            Customer.objects.filter(pk=lead.pk).exists()  # connect first, so the claims truly overlap
            barrier.wait()
            pool_claim(user=carol, customer_id=lead.pk, now=T0 + timedelta(days=32))
            return "won"
        except RuleViolation as exc:
            return exc.errors[0].code
        finally:
            connections.close_all()

    # when carol claims all four at once (four phones, four taps)
    with ThreadPoolExecutor(max_workers=len(leads)) as pool:
        results = sorted(pool.map(claim, leads))
    # then exactly one claim wins; the others hit the limit
    assert results == ["limit_reached"] * 3 + ["won"]
    assert Customer.objects.filter(owner=carol, from_pool=True).count() == 1
