"""动作健康度 in a real browser: a heatmap bubble opens the customers behind it, and the weekly
meeting's screen, at 375 px and on a desktop."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
NOV = "since=2026-11-01&until=2026-11-26"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture
def team(personas: Any) -> dict[str, Any]:
    """East-1's generated November: a late rep, a sloppy rep, 37% of 方案对比 blocked by 决策链复杂."""
    from salestrace.analytics.tests.factories import generated_team

    return generated_team(personas)


def bubble_position(page: Any, stage: str, obstacle: str) -> tuple[float, float]:
    """Where on the page the chart draws the bubble of (stage, obstacle)."""
    point = page.evaluate(
        """([stage, obstacle]) => {
            const node = document.getElementById("heat-chart");
            const data = JSON.parse(document.getElementById("heat-data").textContent);
            const chart = echarts.getInstanceByDom(node);
            const xy = chart.convertToPixel({seriesIndex: 0},
                [data.stage_codes.indexOf(stage), data.obstacle_codes.indexOf(obstacle)]);
            const box = node.getBoundingClientRect();
            return [box.left + window.scrollX + xy[0], box.top + window.scrollY + xy[1]];
        }""",
        [stage, obstacle],
    )
    return float(point[0]), float(point[1])


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_a_heatmap_bubble_opens_the_customers_behind_it(
    page_as: Any, personas: Any, team: dict[str, Any], name: str, viewport: dict[str, int]
) -> None:
    # given Sam on the heatmap tab
    page = page_as(personas.sam, viewport)
    # the first heatmap of a server process imports scipy and statsmodels (several seconds)
    page.goto(f"/dashboard/health/?tab=heatmap&{NOV}", timeout=30000)
    expect(page.locator("#heat-chart canvas")).to_have_count(1)
    expect(page.locator(".finding-lead").first).to_contain_text("决策链复杂")
    assert no_horizontal_overflow(page)
    screenshot(page, f"health-heatmap-{name}")
    # when the marked bubble (方案对比 × 决策链复杂) is clicked
    x, y = bubble_position(page, "solution_compare", "complex_decision_chain")
    page.evaluate("([x, y]) => window.scrollTo(0, y - 200)", [x, y])
    scroll_y = page.evaluate("window.scrollY")
    page.mouse.click(x, y - scroll_y)
    # then its 37 customers and their actions appear below, the misfits first
    drill = page.locator("#cell-actions .heat-cell")
    expect(drill).to_be_visible()
    expect(drill.locator("h2")).to_contain_text(re.compile("方案对比 × 决策链复杂"))
    expect(drill.locator(".cell-actions li")).to_have_count(37)
    expect(drill.locator(".cell-actions li").first).to_contain_text("不匹配")
    assert no_horizontal_overflow(page)
    drill.scroll_into_view_if_needed()
    screenshot(page, f"health-heatmap-drill-{name}")


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_weekly_meeting_view_is_three_codes_in_large_type(
    page_as: Any, personas: Any, team: dict[str, Any], name: str, viewport: dict[str, int]
) -> None:
    # when
    page = page_as(personas.sam, viewport)
    page.goto(f"/dashboard/health/meeting/?{NOV}")
    # then codes A, B and C, each with completeness and timeliness in large type, and no names
    rows = page.locator(".meeting-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator(".meeting-code")).to_have_text("代号 A")
    expect(rows.nth(2).locator(".meeting-code")).to_have_text("代号 C")
    main = page.locator("main").inner_text()
    assert not any(n in main for n in ("alice", "carol", "lily", "sid"))
    size = float(page.locator(".meeting-figure strong").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert size >= (40 if name == "phone" else 64)
    assert no_horizontal_overflow(page)
    screenshot(page, f"health-meeting-{name}")


def test_a_rep_sees_their_own_health_on_a_phone(page_as: Any, personas: Any, team: dict[str, Any]) -> None:
    # when Lily, the late rep, opens her health
    page = page_as(team["lily"])
    page.goto(f"/dashboard/health/?{NOV}")
    # then her row, the why opened, her late entries flagged, the trend drawn
    expect(page.locator(".health-table tbody tr")).to_have_count(1)
    expect(page.locator("details.explain")).to_have_attribute("open", "")
    expect(page.locator(".late-row").first).to_contain_text("录入不及时")
    expect(page.locator("#trend-chart canvas")).to_have_count(1)
    assert no_horizontal_overflow(page)
    screenshot(page, "health-rep-phone")


def test_a_supervisor_walks_the_tabs_on_a_desktop(page_as: Any, personas: Any, team: dict[str, Any]) -> None:
    # given Sam on the health tab
    page = page_as(personas.sam, DESKTOP)
    page.goto(f"/dashboard/health/?{NOV}")
    expect(page.locator(".health-table tbody tr")).to_have_count(4)
    expect(page.locator("#trend-chart canvas")).to_have_count(1)
    screenshot(page, "health-team-desktop")
    # when he opens the contact-quality tab, then the audit, then re-runs it with its seed
    page.get_by_role("link", name=re.compile("沟通质量")).click()
    expect(page.locator("#quality-chart canvas")).to_have_count(1)
    expect(page.locator("#feedback-chart canvas")).to_have_count(1)
    screenshot(page, "health-quality-desktop")
    page.get_by_role("link", name=re.compile("^抽查$")).click()
    seed = page.locator(".audit-seed strong").inner_text()
    drawn = page.locator(".audit-table tbody").inner_text()
    page.get_by_role("link", name="用此种子重新抽查").click()
    expect(page.locator(".audit-seed strong")).to_have_text(seed)
    assert page.locator(".audit-table tbody").inner_text() == drawn
    screenshot(page, "health-audit-desktop")
