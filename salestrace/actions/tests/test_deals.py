"""Deals (商机): where the template sells projects, actions work on a customer's deals; the deal's
stage and outcome follow its actions, and the customer shows its most advanced open deal."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from salestrace.actions.models import ActionLog
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.customers.models import Customer, Deal, StageHistory

pytestmark = pytest.mark.django_db


@pytest.fixture
def b2b(personas: Any, now: datetime) -> None:
    from salestrace.catalog.services import template_load

    template_load(code="b2b_industrial", now=now)


@pytest.fixture
def account(personas: Any, b2b: None) -> Customer:
    return make_customer(owner=personas.alice, name="三一重工(长沙)", kind=Customer.Kind.ACCOUNT)


def action(customer_id: int, at: datetime, stage: str, **overrides: Any) -> dict[str, Any]:
    """A B2B action by e-mail that passes every rule of the pack."""
    return valid_price_negotiation(customer_id, at, stage=stage, **overrides)


def new_deal(api: Any, customer_id: int, title: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/deals", {"customer_id": customer_id, "title": title, **fields})
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_the_first_action_opens_a_deal_that_its_stage_then_moves(personas, api_as, account, now):
    # given alice's account with no deal yet
    alice = api_as(personas.alice)
    # when she logs a needs-confirmed call on it without naming a deal
    response = alice.post("/actions", action(account.pk, now - timedelta(hours=2), "needs_confirmed"))
    # then a deal is opened for it, titled after the customer, engaged that day, at the action's stage
    assert response.status_code == 201, response.content
    deal = Deal.objects.get(customer=account)
    assert response.json()["deal_id"] == deal.pk
    assert (deal.title, deal.owner_id, deal.outcome) == ("三一重工(长沙)", personas.alice.pk, "open")
    assert deal.engaged_on == timezone.localdate(now - timedelta(hours=2))
    assert deal.stage == "needs_confirmed"
    # and its stage history is the deal's (opened at the first stage, then moved by the action)
    moves = list(StageHistory.objects.filter(deal=deal).order_by("pk").values_list("from_stage", "to_stage"))
    assert moves == [("", "lead"), ("lead", "needs_confirmed")]
    account.refresh_from_db()
    assert account.stage == "needs_confirmed"
    # and the next action, still without a deal named, works on that one open deal
    assert alice.post("/actions", action(account.pk, now - timedelta(hours=1), "solution_compare")).status_code == 201
    assert Deal.objects.filter(customer=account).count() == 1
    assert Deal.objects.get().stage == "solution_compare"


def test_with_several_open_deals_the_rep_must_choose_and_the_customer_shows_the_most_advanced(
    personas, api_as, account, now
):
    # given two open deals on alice's account
    alice = api_as(personas.alice)
    press = new_deal(alice, account.pk, "冲压线改造", amount="1280000.00")
    paint = new_deal(alice, account.pk, "涂装线", amount="560000")
    # when she logs without naming one, then she is asked to choose
    refused = alice.post("/actions", action(account.pk, now - timedelta(hours=3), "needs_confirmed"))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "deal_id"
    assert refused.json()["errors"][0]["code"] == "required"
    # when she moves one to price negotiation and the other to needs confirmed
    body = action(account.pk, now - timedelta(hours=2), "price_negotiation", deal_id=press["id"])
    assert alice.post("/actions", body).status_code == 201
    body = action(account.pk, now - timedelta(hours=1), "needs_confirmed", deal_id=paint["id"])
    assert alice.post("/actions", body).status_code == 201
    # then each deal has its own stage and the customer shows the most advanced open one
    assert Deal.objects.get(pk=press["id"]).stage == "price_negotiation"
    assert Deal.objects.get(pk=paint["id"]).stage == "needs_confirmed"
    account.refresh_from_db()
    assert account.stage == "price_negotiation"
    assert account.last_active_at == now - timedelta(hours=1)


def test_won_and_lost_close_the_deal_on_the_day_and_a_closed_deal_takes_no_more_actions(personas, api_as, account, now):
    # given two open deals
    alice = api_as(personas.alice)
    press = new_deal(alice, account.pk, "冲压线改造", amount="1280000.00")
    paint = new_deal(alice, account.pk, "涂装线")
    won_at = now - timedelta(days=2)
    # when one is won
    assert alice.post("/actions", action(account.pk, won_at, "won", deal_id=press["id"])).status_code == 201
    # then it is closed won on the day of the action (Shanghai), and the customer shows the other
    deal = Deal.objects.get(pk=press["id"])
    assert (deal.outcome, deal.closed_on) == ("won", timezone.localdate(won_at))
    account.refresh_from_db()
    assert (account.stage, account.status) == ("lead", "active")
    # and an action on the closed deal is refused
    late = alice.post("/actions", action(account.pk, now - timedelta(hours=1), "contract_signing", deal_id=press["id"]))
    assert late.status_code == 422
    assert late.json()["errors"][0]["code"] == "deal_closed"
    # when the other is lost, then the customer has no open deal and shows the latest outcome
    body = action(account.pk, now - timedelta(hours=1), "lost", deal_id=paint["id"])
    assert alice.post("/actions", body).status_code == 201
    account.refresh_from_db()
    assert (account.stage, account.status) == ("lost", "lost")
    assert alice.get(f"/deals/{paint['id']}").json()["outcome"] == "lost"


def test_a_back_dated_action_does_not_move_the_deal_and_an_edit_recomputes_it(personas, api_as, account, now):
    # given a deal at price negotiation
    alice = api_as(personas.alice)
    first = alice.post("/actions", action(account.pk, now - timedelta(hours=1), "price_negotiation")).json()
    deal_id = first["deal_id"]
    # when an older needs-confirmed visit is logged late
    old = action(account.pk, now - timedelta(days=3), "needs_confirmed", deal_id=deal_id)
    assert alice.post("/actions", old).status_code == 201
    # then the deal stays where its latest action put it
    assert Deal.objects.get(pk=deal_id).stage == "price_negotiation"
    # when the latest action's stage is corrected to contract signing
    assert alice.patch(f"/actions/{first['id']}", {"stage": "contract_signing"}).status_code == 200
    # then the deal and the customer follow it, and the move is in the deal's history
    assert Deal.objects.get(pk=deal_id).stage == "contract_signing"
    account.refresh_from_db()
    assert account.stage == "contract_signing"
    assert StageHistory.objects.filter(deal_id=deal_id, to_stage="contract_signing").exists()


def test_deals_are_in_the_same_scope_as_customers(personas, api_as, account, now):
    # given alice's deal
    alice, bob, sam, fay = (api_as(p) for p in (personas.alice, personas.bob, personas.sam, personas.fay))
    deal = new_deal(alice, account.pk, "冲压线改造")
    # then bob (another team) neither sees it nor can open one on her customer, nor log on her deal
    assert bob.get(f"/deals/{deal['id']}").status_code == 404
    assert bob.get("/deals").json()["items"] == []
    assert bob.post("/deals", {"customer_id": account.pk, "title": "x"}).status_code == 404
    body = action(account.pk, now - timedelta(hours=1), "needs_confirmed", deal_id=deal["id"])
    assert bob.post("/actions", body).status_code == 404
    # and her supervisor sees it; the assistant reads it but may not change it
    assert sam.get(f"/deals/{deal['id']}").status_code == 200
    assert [d["id"] for d in fay.get("/deals").json()["items"]] == [deal["id"]]
    assert fay.patch(f"/deals/{deal['id']}", {"amount": "1"}).status_code == 404
    # and a deal of another customer cannot be named on hers
    other = make_customer(owner=personas.alice, name="徐工集团", kind=Customer.Kind.ACCOUNT)
    body = action(other.pk, now - timedelta(hours=1), "needs_confirmed", deal_id=deal["id"])
    response = alice.post("/actions", body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unknown_deal"


def test_money_is_decimal_and_bad_deal_input_is_refused_with_its_reason(personas, api_as, account, now):
    alice = api_as(personas.alice)
    # given a deal with a value in yuan and fen
    deal = new_deal(
        alice,
        account.pk,
        "冲压线改造",
        amount="1280000.05",
        expected_close=(now + timedelta(days=30)).date().isoformat(),
    )
    # then it comes back exactly, as a string, in CNY
    assert (deal["amount"], deal["currency"]) == ("1280000.05", "CNY")
    assert Deal.objects.get().amount == Decimal("1280000.05")
    # and it can be changed
    changed = alice.patch(f"/deals/{deal['id']}", {"amount": "99.90", "product": "冲压机 x2"})
    assert changed.status_code == 200
    assert changed.json()["amount"] == "99.90"
    # and wrong values are refused, each with its field
    assert alice.post("/deals", {"customer_id": account.pk, "title": "x", "amount": "-1"}).status_code == 400
    assert alice.post("/deals", {"customer_id": account.pk, "title": "x", "amount": "1.234"}).status_code == 400
    bad = alice.post("/deals", {"customer_id": account.pk, "title": "x", "currency": "rmb"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "currency"
    early = alice.post(
        "/deals",
        {"customer_id": account.pk, "title": "x", "engaged_on": "2026-11-20", "expected_close": "2026-11-01"},
    )
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "expected_close"
    assert Deal.objects.count() == 1


def test_a_template_without_deals_keeps_the_customer_stage_and_refuses_a_deal(personas, api_as, now):
    # given the FMCG template (stores carry their own stage) and alice's store
    alice = api_as(personas.alice)
    store = make_customer(owner=personas.alice, name="联华超市(浦东3号店)")
    # when she logs an action, then no deal is made and the store moves
    assert alice.post("/actions", valid_price_negotiation(store.pk, now - timedelta(hours=1))).status_code == 201
    assert Deal.objects.count() == 0
    store.refresh_from_db()
    assert store.stage == "price_negotiation"
    assert ActionLog.objects.get().deal_id is None
    # and naming a deal, or opening one, is refused
    body = valid_price_negotiation(store.pk, now - timedelta(minutes=30), deal_id=1)
    assert alice.post("/actions", body).json()["errors"][0]["code"] == "deals_not_used"
    assert alice.post("/deals", {"customer_id": store.pk, "title": "x"}).status_code == 422


def test_existing_b2b_customers_become_one_deal_each_with_their_actions_and_history(personas, b2b, now):
    # given customers from before deals existed: one in progress with actions, one won
    import importlib

    from django.apps import apps

    migration = importlib.import_module("salestrace.actions.migrations.0007_fill_deals")

    open_one = make_customer(
        owner=personas.alice, name="中联重科", kind=Customer.Kind.ACCOUNT, stage="solution_compare"
    )
    won_one = make_customer(owner=personas.bob, name="徐工集团", kind=Customer.Kind.ACCOUNT, stage="won")
    won_one.status = Customer.Status.WON
    won_one.save()
    won_at = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.get_default_timezone())
    StageHistory.objects.create(customer=won_one, from_stage="contract_signing", to_stage="won", changed_at=won_at)
    for hours in (5, 3):
        ActionLog.objects.create(
            customer=open_one,
            rep=personas.alice,
            occurred_at=now - timedelta(hours=hours),
            logged_at=now,
            updated_at=now,
            contact_method="email",
            stage="solution_compare",
        )
    # when the migration runs
    migration.fill_deals(apps, None)
    # then each is one deal, titled after it, with its actions, outcome and history
    deal = Deal.objects.get(customer=open_one)
    assert (deal.title, deal.stage, deal.outcome, deal.owner_id) == (
        "中联重科",
        "solution_compare",
        "open",
        personas.alice.pk,
    )
    assert set(ActionLog.objects.values_list("deal_id", flat=True)) == {deal.pk}
    won = Deal.objects.get(customer=won_one)
    assert (won.outcome, won.closed_on) == ("won", date(2026, 11, 20))
    assert StageHistory.objects.get(customer=won_one).deal_id == won.pk
    # and a rerun makes nothing new
    migration.fill_deals(apps, None)
    assert Deal.objects.count() == 2


def form_post(at: datetime, stage: str, **overrides: str) -> dict[str, str]:
    return {
        "occurred_at": at.astimezone(timezone.get_default_timezone()).strftime("%Y-%m-%dT%H:%M"),
        "contact_method": "email",
        "stage": stage,
        "key_action": "send_quote",
        "obstacle": "budget_shortage",
        "next_step_plan": "按新账期重新报价",
        "next_step_date": (at + timedelta(days=2)).date().isoformat(),
        "emotion": "neutral",
        "idempotency_key": f"k-{stage}",
        **overrides,
    }


def test_the_phone_form_picks_the_one_open_deal_and_asks_when_there_are_several(client, personas, api_as, account, now):
    # given alice's account with one open deal
    client.force_login(personas.alice)
    alice = api_as(personas.alice)
    press = new_deal(alice, account.pk, "冲压线改造", amount="1280000")
    # when she opens the form, then that deal is already chosen: no extra tap
    html = client.get(f"/customers/{account.pk}/actions/new/").content.decode()
    assert f'<option value="{press["id"]}" selected>冲压线改造' in html
    # given a second open deal, then the form asks which one
    paint = new_deal(alice, account.pk, "涂装线")
    html = client.get(f"/customers/{account.pk}/actions/new/").content.decode()
    assert 'name="deal_id" id="id_deal_id" required' in html
    assert " selected>" not in html.split('id="id_deal_id"')[1].split("</select>")[0]
    # when she saves without choosing, then the form says so by the deal field and saves nothing
    response = client.post(
        f"/customers/{account.pk}/actions/new/", form_post(now - timedelta(hours=1), "needs_confirmed")
    )
    assert response.status_code == 422
    assert 'id="deal_id-error"' in response.content.decode()
    assert ActionLog.objects.count() == 0
    # when she chooses the second deal, then that one moves and the customer page lists both
    body = form_post(now - timedelta(hours=1), "solution_compare", deal_id=str(paint["id"]))
    assert client.post(f"/customers/{account.pk}/actions/new/", body).status_code == 302
    assert Deal.objects.get(pk=paint["id"]).stage == "solution_compare"
    page = client.get(f"/customers/{account.pk}/").content.decode()
    assert "冲压线改造" in page
    assert "涂装线" in page
