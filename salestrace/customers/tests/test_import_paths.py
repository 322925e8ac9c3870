"""The import paths of the customer services: history's dates, closed deals, the importer's permission."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from salestrace.core.errors import PermissionDenied, RuleViolation
from salestrace.customers.models import Customer, Deal, StageHistory
from salestrace.customers.services import (
    CustomerInput,
    DealRecord,
    customer_import,
    customer_import_update,
    deal_import,
    deal_import_update,
)


@pytest.fixture
def b2b(personas: Any, now: datetime) -> None:
    from salestrace.catalog.services import template_load

    template_load(code="b2b_industrial", now=now)


def test_only_admins_and_assistants_import_customers(personas: Any, now: datetime) -> None:
    data = CustomerInput(name="Acme", owner_id=personas.alice.pk)
    for user in (personas.alice, personas.sam, personas.diana):
        with pytest.raises(PermissionDenied):
            customer_import(user=user, data=data, now=now)
    assert customer_import(user=personas.fay, data=data, now=now).owner == personas.alice


def test_an_imported_customer_needs_an_owner_who_may_own_customers(personas: Any, now: datetime) -> None:
    with pytest.raises(RuleViolation) as caught:
        customer_import(user=personas.admin, data=CustomerInput(name="Acme", owner_id=personas.fay.pk), now=now)
    assert [(e.field, e.code) for e in caught.value.errors] == [("owner", "invalid")]


def test_a_new_owner_on_reimport_is_recorded_as_a_reassignment(personas: Any, now: datetime) -> None:
    customer = customer_import(
        user=personas.admin, data=CustomerInput(name="Acme", owner_id=personas.alice.pk), now=now
    )
    changed = customer_import_update(
        user=personas.admin, customer_id=customer.pk, data=CustomerInput(name="Acme", owner_id=personas.bob.pk), now=now
    )
    customer.refresh_from_db()
    assert changed
    assert customer.owner == personas.bob
    move = customer.pool_moves.get()
    assert (move.kind, move.from_owner_id, move.to_owner_id) == ("reassigned", personas.alice.pk, personas.bob.pk)


def test_a_lost_deal_comes_in_closed_on_its_own_date(personas: Any, b2b: None, now: datetime) -> None:
    customer = customer_import(
        user=personas.admin, data=CustomerInput(name="Acme", owner_id=personas.alice.pk), now=now
    )
    record = DealRecord(
        title="Line",
        owner_id=personas.alice.pk,
        engaged_on=date(2025, 1, 10),
        stage="lost",
        outcome="lost",
        closed_on=date(2025, 4, 1),
        amount=Decimal("0"),
        lost_reason="price",
    )
    deal = deal_import(user=personas.admin, customer_id=customer.pk, data=record, now=now)
    assert (deal.outcome, deal.closed_on, deal.lost_reason) == ("lost", date(2025, 4, 1), "price")
    assert list(StageHistory.objects.filter(deal=deal).order_by("changed_at").values_list("to_stage", flat=True)) == [
        "lead",
        "lost",
    ]
    assert Customer.objects.get().stage == "lost"


def test_a_deal_whose_outcome_contradicts_its_stage_is_refused(personas: Any, b2b: None, now: datetime) -> None:
    customer = customer_import(
        user=personas.admin, data=CustomerInput(name="Acme", owner_id=personas.alice.pk), now=now
    )
    record = DealRecord(title="Line", owner_id=personas.alice.pk, engaged_on=date(2025, 1, 10), stage="won")
    with pytest.raises(RuleViolation) as caught:
        deal_import(user=personas.admin, customer_id=customer.pk, data=record, now=now)
    assert {e.code for e in caught.value.errors} == {"stage_outcome"}
    assert Deal.objects.count() == 0


def test_a_reimported_deal_that_was_won_since_moves_on_its_closing_date(
    personas: Any, b2b: None, now: datetime
) -> None:
    customer = customer_import(
        user=personas.admin, data=CustomerInput(name="Acme", owner_id=personas.alice.pk), now=now
    )
    open_record = DealRecord(title="Line", owner_id=personas.alice.pk, engaged_on=date(2025, 1, 10), stage="lead")
    deal = deal_import(user=personas.admin, customer_id=customer.pk, data=open_record, now=now)
    won = DealRecord(
        title="Line",
        owner_id=personas.alice.pk,
        engaged_on=date(2025, 1, 10),
        stage="won",
        outcome="won",
        closed_on=date(2025, 3, 3),
        amount=Decimal("99.50"),
    )
    assert deal_import_update(user=personas.admin, deal_id=deal.pk, data=won, now=now)
    assert not deal_import_update(user=personas.admin, deal_id=deal.pk, data=won, now=now)
    deal.refresh_from_db()
    assert (deal.outcome, deal.stage, deal.amount) == ("won", "won", Decimal("99.50"))
    last = StageHistory.objects.filter(deal=deal).order_by("-changed_at").first()
    assert last is not None
    assert (last.to_stage, last.changed_at.date()) == (
        "won",
        date(2025, 3, 2),
    )  # 00:00 Shanghai is 16:00 UTC the day before


def test_deals_are_not_imported_where_the_template_has_none(personas: Any, now: datetime) -> None:
    customer = customer_import(
        user=personas.admin, data=CustomerInput(name="Acme", owner_id=personas.alice.pk), now=now
    )
    record = DealRecord(title="Line", owner_id=personas.alice.pk, engaged_on=date(2025, 1, 10), stage="lead")
    with pytest.raises(RuleViolation) as caught:
        deal_import(user=personas.admin, customer_id=customer.pk, data=record, now=now)
    assert caught.value.errors[0].code == "deals_not_used"
