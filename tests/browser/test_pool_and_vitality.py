"""The dormant pool and the vitality dashboard, in a real browser on a phone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from salestrace.actions.tests.factories import make_customer
from salestrace.core import clock
from salestrace.customers.jobs import sweep_dormant
from salestrace.customers.models import Customer
from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_rep_phone import expect, no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_claims_a_pooled_lead_on_the_phone(page_as: Any, personas: Any, fmcg: None) -> None:
    # given a lead of alice's that went quiet 40 days ago and was pooled, and carol in alice's team
    now = clock.now()
    lead = make_customer(
        owner=personas.alice,
        name="罗森(徐汇店)",
        last_active_at=now - timedelta(days=40),
        assigned_at=now - timedelta(days=40),
    )
    sweep_dormant(now=now - timedelta(days=9))
    carol = type(personas.alice).objects.create_user(username="carol", password="x", role="rep", team=personas.east1)
    page = page_as(carol, viewport=PHONE)
    # when she opens the pool and claims it
    page.goto("/pool/")
    expect(page.get_by_role("heading", name="线索池")).to_be_visible()
    expect(page.locator(".pool-entry")).to_contain_text("罗森(徐汇店)")
    assert no_horizontal_overflow(page)
    screenshot(page, "20-phone-pool")
    page.get_by_role("button", name="认领").click()
    # then she lands on the customer page, now hers
    expect(page.get_by_role("status")).to_contain_text("已认领")
    screenshot(page, "21-phone-claimed")
    lead.refresh_from_db()
    assert (lead.owner, lead.status) == (carol, Customer.Status.ACTIVE)


def test_a_director_reads_the_vitality_dashboard(page_as: Any, personas: Any, fmcg: None) -> None:
    now = clock.now()
    for days in (1, 3, 9, 12, 20, 25, 40):
        make_customer(
            owner=personas.alice if days % 2 else personas.bob,
            last_active_at=now - timedelta(days=days),
            created_at=now - timedelta(days=60),
        )
    page = page_as(personas.diana, viewport=PHONE)
    page.goto("/dashboard/vitality/")
    expect(page.get_by_role("heading", name="线索活力")).to_be_visible()
    expect(page.locator(".stats")).to_contain_text("绿")
    assert no_horizontal_overflow(page)
    screenshot(page, "22-phone-vitality")
    page.get_by_role("link", name="按阶段").click()
    page.locator("table.grid a").first.click()
    expect(page.get_by_role("heading", name="我的客户")).to_be_visible()
    assert "colour=" in page.url
