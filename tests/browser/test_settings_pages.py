"""设置 in a real browser, as the admin of a small company uses it on a phone and on a desktop:
add an option and see it in a rep's form, change a threshold, read the history."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture
def loaded(personas: Any) -> None:
    from salestrace.catalog.services import template_load
    from salestrace.core import clock

    template_load(code="fmcg", now=clock.now())


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_an_admin_adds_an_option_changes_a_threshold_and_reads_the_history(
    page_as: Any, personas: Any, loaded: None, name: str, viewport: dict[str, int]
) -> None:
    from salestrace.catalog.models import Option, Threshold
    from salestrace.catalog.selectors import option_catalog

    page = page_as(personas.admin, viewport)
    # the option sets: open 障碍类型, add 账期太长 (no code typed: it is made from the name)
    page.goto("/settings/options/")
    assert no_horizontal_overflow(page)
    screenshot(page, f"settings-options-{name}")
    page.get_by_role("link", name="障碍类型").click()
    page.locator(".option-add input[name=label_zh]").fill("账期太长")
    page.locator(".option-add input[name=label_en]").fill("Credit terms too long")
    page.get_by_role("button", name="新增").click()
    expect(page.locator(".messages")).to_contain_text("已保存")
    code = Option.objects.get(option_set__code="obstacle", label_zh="账期太长").code
    assert code.startswith("zhang_qi_tai_")  # pinyin of the name (长 read either way)
    expect(page.locator("code", has_text=code)).to_have_count(1)
    screenshot(page, f"settings-option-set-{name}")
    assert code in dict(option_catalog().choices["obstacle"])
    # the thresholds: the wake-up after 10 days instead of 15
    page.get_by_role("link", name="阈值").click()
    expect(page.locator("legend", has_text="线索活力")).to_have_count(1)
    assert no_horizontal_overflow(page)
    page.locator("#t-vitality_wakeup_days").fill("10")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".messages")).to_contain_text("修改了 1 个阈值")
    assert Threshold.objects.get(code="vitality_wakeup_days").value == 10
    # an orange limit below yellow is refused next to the field
    page.locator("#t-vitality_orange_days").fill("5")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#e-vitality_orange_days")).to_contain_text("必须大于")
    screenshot(page, f"settings-thresholds-{name}")
    # the history lists both changes, newest first, each with a rollback
    page.get_by_role("link", name="变更记录").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("连续无动作多少天后推送线索唤醒任务")
    expect(rows.nth(1)).to_contain_text("账期太长 / Credit terms too long")
    assert no_horizontal_overflow(page)
    screenshot(page, f"settings-history-{name}")


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_an_admin_sets_a_teams_robot_and_tests_it(
    page_as: Any, personas: Any, loaded: None, settings: Any, name: str, viewport: dict[str, int]
) -> None:
    from salestrace.notify.tests.vendors import WECOM_KEY, VendorServer

    for env in ("WECOM_WEBHOOK_URL", "WECOM_CORP_SECRET", "DINGTALK_WEBHOOK_URL", "FEISHU_WEBHOOK_URL"):
        setattr(settings, env, "")
    with VendorServer() as vendor:
        settings.NOTIFY_ALLOWED_HOSTS = [vendor.base]
        page = page_as(personas.admin, viewport)
        page.goto("/settings/channels/")
        assert no_horizontal_overflow(page)
        screenshot(page, f"settings-channels-{name}")
        page.get_by_role("link", name="East-1").click()
        page.locator("#c-wecom_webhook_url").fill(vendor.wecom_webhook)
        page.locator("#c-wecom_webhook_url").press("Enter")  # Enter saves (it does not send a test)
        expect(page.locator(".messages")).to_contain_text("已保存")
        # the key is shown back masked only, and the test button says what the vendor answered
        assert WECOM_KEY not in page.content()
        page.locator('[data-channel="wecom_group"]').get_by_role("button", name="发送测试消息").click()
        expect(page.locator("[data-test-result]")).to_contain_text("已送达")
        assert WECOM_KEY not in page.content()
        assert no_horizontal_overflow(page)
        screenshot(page, f"settings-channel-{name}")


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_an_admin_adds_a_rep_and_lets_a_leaver_go_with_her_customers(
    page_as: Any, personas: Any, loaded: None, name: str, viewport: dict[str, int]
) -> None:
    from salestrace.core import clock
    from salestrace.customers.models import Customer
    from salestrace.customers.services import CustomerInput, customer_create
    from salestrace.org.models import User

    for i in range(3):
        customer_create(
            user=personas.alice, data=CustomerInput(name=f"联华超市({i}号店)", kind="store"), now=clock.now()
        )
    page = page_as(personas.admin, viewport)
    page.goto("/settings/people/")
    page.locator("input[name=username]").fill("zhangsan")
    page.locator("input[name=display_name]").fill("张三")
    page.locator(".people-form select[name=team_id]").first.select_option(label="Company › East › East-1")
    page.get_by_role("button", name="新增").first.click()
    expect(page.locator("[data-one-time]")).to_contain_text("张三 可用登录名 zhangsan")
    password = page.locator("[data-secret]").inner_text()
    assert User.objects.get(username="zhangsan").check_password(password)
    assert no_horizontal_overflow(page)
    screenshot(page, f"settings-people-{name}")
    # alice leaves; her three customers go to 张三 in one step
    page.get_by_role("link", name="alice").first.click()
    page.locator("select[name=to_user_id]").select_option(label="张三 · East-1")
    page.get_by_role("button", name="停用账号并移交客户").click()
    expect(page.locator(".messages")).to_contain_text("3 个客户已移交")
    assert Customer.objects.filter(owner__username="zhangsan").count() == 3
    assert no_horizontal_overflow(page)
    screenshot(page, f"settings-person-{name}")


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_an_admin_previews_and_applies_a_template(
    page_as: Any, personas: Any, loaded: None, name: str, viewport: dict[str, int]
) -> None:
    from salestrace.catalog.models import SettingChange

    page = page_as(personas.admin, viewport)
    page.goto("/settings/templates/")
    page.locator(".rule-list li", has_text="b2b_industrial").get_by_role("link", name="预览改动").click()
    expect(page.locator("[data-preview-pack=b2b_industrial]")).to_contain_text("新增")
    assert no_horizontal_overflow(page)
    screenshot(page, f"settings-templates-{name}")
    page.get_by_role("button", name="应用此模板").click()
    expect(page.locator(".messages")).to_contain_text("已应用模板 b2b_industrial")
    assert SettingChange.objects.filter(area="pack", key="b2b_industrial").exists()


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_every_settings_page_fits_and_is_looked_at(
    page_as: Any, personas: Any, loaded: None, name: str, viewport: dict[str, int]
) -> None:
    page = page_as(personas.admin, viewport)
    pages = {
        "options": "/settings/options/",
        "rules": "/settings/rules/",
        "rule-edit": "/settings/rules/price_negotiation_requires_obstacle/",
        "follow-ups": "/settings/follow-ups/",
        "channels": "/settings/channels/",
        "people": "/settings/people/",
        "team": f"/settings/teams/{personas.east1.pk}/",
        "calendar": "/settings/calendar/",
        "thresholds": "/settings/thresholds/",
        "templates": "/settings/templates/",
        "history": "/settings/history/",
    }
    for label, path in pages.items():
        response = page.goto(path)
        assert response is not None, path
        assert response.status == 200, path
        expect(page.locator("nav.tabs [aria-current=page]")).to_have_count(1)
        assert no_horizontal_overflow(page), path
        screenshot(page, f"settings-all-{label}-{name}")


def test_options_are_reordered_by_dragging(page_as: Any, personas: Any, loaded: None) -> None:
    from salestrace.catalog.selectors import option_catalog

    page = page_as(personas.admin, DESKTOP)
    page.goto("/settings/options/emotion/")
    expect(page.locator("[data-drag-hint]")).to_be_visible()
    rows = page.locator("tbody tr")
    last = rows.last.get_attribute("data-code")
    rows.last.locator(".drag-handle").drag_to(rows.first.locator(".drag-handle"), target_position={"x": 2, "y": 1})
    expect(page.locator(".messages")).to_contain_text("已保存")
    assert option_catalog().choices["emotion"][0][0] == last
