"""A supervisor's 商机分析 in a real browser: the top-performer tab at 375 px and on a desktop, the KM chart."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture
def deals(personas: Any, monkeypatch: Any) -> list[int]:
    """The B2B template; East-1: Alice wins fast after demos, Carol slower with brochures; the
    analysis queue recorded instead of sent to huey (the test runs it)."""
    from salestrace.analytics.tests.factories import OCT, make_deals, won
    from salestrace.catalog.services import template_load
    from salestrace.core import clock
    from salestrace.org.models import Role, User

    template_load(code="b2b_industrial", now=clock.now())
    carol = User.objects.create_user(username="carol", password="pw-carol", role=Role.REP, team=personas.east1)
    plans = []
    for i in range(14):
        day = OCT + timedelta(days=i)
        plans.append(won(personas.alice, day, days=15 + i % 5, amount="200000", lead_actions=[("book_demo", "visit")]))
        plan = won(carol, day, days=30 + i % 7, amount="50000", lead_actions=[("send_brochure", "phone")])
        if i % 3 == 0:
            plan.outcome, plan.closed, plan.amount = "lost", day + timedelta(days=25), Decimal("80000")
        plans.append(plan)
    make_deals(plans)
    queued: list[int] = []
    monkeypatch.setattr("salestrace.analytics.services.enqueue_analysis", queued.append)
    return queued


@pytest.mark.parametrize(("name", "viewport"), [("phone", {"width": 375, "height": 812}), ("desktop", DESKTOP)])
def test_top_performer_tab_on_a_phone_and_a_desktop(
    page_as: Any, personas: Any, deals: list[int], name: str, viewport: dict[str, int]
) -> None:
    from salestrace.analytics.services import analysis_compute
    from salestrace.core import clock

    # given the analysis queued by a first visit, then computed
    page = page_as(personas.sam, viewport)
    page.goto("/dashboard/deals/?tab=top&top_n=1")
    expect(page.locator("#top-performers .notice")).to_be_visible()
    assert len(deals) == 1
    analysis_compute(result_id=deals[0], now=clock.now())
    # when
    page.reload()
    # then
    expect(page.locator(".computed")).to_contain_text(re.compile("计算于|Computed at"))
    expect(page.locator(".finding").first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("重新计算|Recompute"))).to_be_enabled()
    assert no_horizontal_overflow(page)
    screenshot(page, f"deals-top-{name}")
    # and a finding opens the deals behind it
    page.locator(".finding a").first.click()
    expect(page.locator("table.grid tbody tr").first).to_be_visible()
    screenshot(page, f"deals-finding-{name}")


def test_cycle_tab_draws_the_km_chart_on_a_phone(page_as: Any, personas: Any, deals: list[int]) -> None:
    # when
    page = page_as(personas.sam)
    page.goto("/dashboard/deals/?tab=cycle")
    # then
    expect(page.locator("#km-chart canvas")).to_have_count(1)
    assert no_horizontal_overflow(page)
    screenshot(page, "deals-cycle-phone")
    page.goto("/dashboard/deals/?tab=funnel")
    expect(page.locator("tr.stall")).to_have_count(1)
    assert no_horizontal_overflow(page)
    screenshot(page, "deals-funnel-phone")
