"""action_import: history keeps its times and is marked imported; the importer's and the pool's rules hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from salestrace.actions.models import ActionLog
from salestrace.actions.rules import ActionDraft
from salestrace.actions.services import action_import
from salestrace.core.errors import PermissionDenied, RuleViolation
from salestrace.customers.models import Customer
from salestrace.customers.services import CustomerInput, customer_import


@pytest.fixture
def customer(personas: Any, now: datetime) -> Customer:
    return customer_import(user=personas.admin, data=CustomerInput(name="Acme", owner_id=personas.alice.pk), now=now)


def draft(at: datetime, **values: Any) -> ActionDraft:
    return ActionDraft(**{"occurred_at": at, "contact_method": "visit", "stage": "lead", **values})


def test_an_action_from_a_year_ago_is_kept_with_its_times_and_marked(
    personas: Any, customer: Customer, now: datetime
) -> None:
    # given an action that happened a year ago and was logged two days later
    occurred = now - timedelta(days=365)
    # when it is imported
    action = action_import(
        user=personas.admin,
        rep=personas.alice,
        customer_id=customer.pk,
        draft=draft(occurred),
        logged_at=occurred + timedelta(days=2),
        now=now,
    )
    # then its own times are kept, it is marked imported, and the customer was active then
    assert (action.occurred_at, action.logged_at) == (occurred, occurred + timedelta(days=2))
    assert action.source == ActionLog.Source.IMPORTED
    customer.refresh_from_db()
    assert customer.last_active_at == occurred


def test_an_action_logged_in_the_app_is_marked_entered(personas: Any, customer: Customer, now: datetime) -> None:
    from salestrace.actions.services import action_log

    # a phone call (a visit would need its photo) with what the FMCG rules require of any action
    entry = draft(now, contact_method="phone", key_action="store_check", emotion="positive", summary="回访")
    action, _created = action_log(user=personas.alice, customer_id=customer.pk, draft=entry, now=now)
    assert action.source == ActionLog.Source.ENTERED


def test_history_in_the_future_or_with_unknown_options_is_refused(
    personas: Any, customer: Customer, now: datetime
) -> None:
    with pytest.raises(RuleViolation) as caught:
        action_import(
            user=personas.admin,
            rep=personas.alice,
            customer_id=customer.pk,
            draft=draft(now + timedelta(days=3), contact_method="pigeon"),
            logged_at=None,
            now=now,
        )
    assert {(e.field, e.code) for e in caught.value.errors} == {
        ("contact_method", "invalid_choice"),
        ("occurred_at", "in_future"),
    }
    assert ActionLog.objects.count() == 0


def test_only_importers_import_and_only_for_reps_who_log(personas: Any, customer: Customer, now: datetime) -> None:
    with pytest.raises(PermissionDenied):
        action_import(
            user=personas.alice, rep=personas.alice, customer_id=customer.pk, draft=draft(now), logged_at=None, now=now
        )
    with pytest.raises(RuleViolation) as caught:
        action_import(
            user=personas.admin, rep=personas.fay, customer_id=customer.pk, draft=draft(now), logged_at=None, now=now
        )
    assert caught.value.errors[0].field == "rep"


def test_a_pooled_lead_is_refused_until_claimed_or_reassigned(personas: Any, customer: Customer, now: datetime) -> None:
    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.DORMANT, pool_entered_at=now)
    with pytest.raises(RuleViolation) as caught:
        action_import(
            user=personas.admin, rep=personas.alice, customer_id=customer.pk, draft=draft(now), logged_at=None, now=now
        )
    assert caught.value.errors[0].code == "dormant"
