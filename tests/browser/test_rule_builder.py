"""The rule builder in a real browser: a sales director adds the seed's kind of rule with dropdowns and
tick boxes only, sees what it would have refused, saves; the next save by a rep at that stage is
stopped by the phone form and refused by the server, with the rule's message."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import Interactions, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
MESSAGE = "合同签署阶段必须填写交付物"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def chip(page: Any, field: str, label: str) -> Any:
    return page.locator(f'[data-field="{field}"] label.chip', has_text=re.compile(f"^{re.escape(label)}$"))


def settled(page: Any) -> None:
    """The builder's preview request (sent on every change) has come back and been swapped in."""
    expect(page.locator("#rule-form.htmx-request")).to_have_count(0)


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture
def signing(personas: Any) -> Any:
    """A customer at 合同签署 whose last visit, a week ago, left no deliverable; directors configure."""
    from salestrace.actions.rules import ActionDraft
    from salestrace.actions.services import action_log
    from salestrace.catalog.models import Policy
    from salestrace.catalog.services import catalog_changed
    from salestrace.core import clock
    from salestrace.customers.services import CustomerInput, customer_create

    Policy.objects.update_or_create(code="directors_configure", defaults={"value": True})
    catalog_changed()
    now = clock.now()
    customer = customer_create(
        user=personas.alice,
        data=CustomerInput(name="华联超市(江宁店)", kind="store", stage="price_negotiation"),
        now=now - timedelta(days=20),
    )
    action_log(
        user=personas.alice,
        customer_id=customer.pk,
        draft=ActionDraft(
            occurred_at=now - timedelta(days=7),
            contact_method="email",
            stage="contract_signing",
            key_action="restock_order",
            emotion="neutral",
        ),
        now=now - timedelta(days=7),
    )
    return customer


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("tablet", {"width": 820, "height": 1180})])
def test_a_director_adds_a_stage_rule_in_a_few_taps_and_the_next_save_obeys_it(
    page_as: Any, personas: Any, signing: Any, name: str, viewport: dict[str, int]
) -> None:
    from salestrace.actions.models import ActionLog
    from salestrace.catalog.models import Rule, SettingChange

    page = page_as(personas.diana, viewport)
    done = Interactions()
    page.goto("/settings/")
    # when the director builds "当 客户阶段 等于 合同签署 时，必须填写 交付物" from dropdowns and a tick box
    done.click(page.get_by_role("link", name="规则"), "rules tab")
    expect(page.locator(".rule-list")).to_contain_text("当 客户阶段 等于 价格谈判 时，必须填写 障碍类型")  # in words
    done.click(page.get_by_role("link", name="新建规则"), "new rule")
    expect(page.locator("html[data-rule-builder-ready=true]")).to_have_count(1)
    done.select(page.locator("select[name=cond-0-field]"), "stage", "field")
    settled(page)
    done.select(page.locator("select[name=cond-0-value]"), "contract_signing", "option")
    settled(page)
    done.click(page.locator(".rule-must .rule-fields").first.get_by_label("交付物"), "required field")
    settled(page)
    # then the rule is said in words, its message is proposed, and its impact is shown before saving
    expect(page.locator("[data-sentence]")).to_contain_text("客户阶段 等于 合同签署")
    expect(page.locator("[data-sentence]")).to_contain_text("交付物")
    expect(page.locator("input[name=message_zh]")).to_have_value(MESSAGE)
    expect(page.locator("[data-impact]")).to_contain_text("1 条会被拒绝")
    expect(page.locator("[data-impact]")).to_contain_text("华联超市(江宁店)")
    # and the phone preview marks the deliverable as the rep will see it, live, by the same evaluator
    preview = page.locator('[data-preview] [data-field="next_step_deliverable"]')
    expect(preview.locator("[data-preview-error]")).to_have_text(MESSAGE)
    page.locator('[data-preview-input="next_step_deliverable"]').fill("签约确认单")
    expect(preview.locator("[data-preview-error]")).to_be_hidden()
    assert no_horizontal_overflow(page)
    screenshot(page, f"settings-rule-new-{name}")
    done.click(page.get_by_role("button", name="保存规则"), "save")
    expect(page.locator(".messages")).to_contain_text("已保存")
    assert done.count <= 10, done.log
    rule = Rule.objects.get(pack="")
    assert (rule.condition, rule.requires, rule.message_zh) == (
        {"field": "stage", "equals": "contract_signing"},
        ["next_step_deliverable"],
        MESSAGE,
    )
    assert SettingChange.objects.filter(area="rule", key=rule.code, changed_by=personas.diana).count() == 1
    screenshot(page, f"settings-rules-{name}")
    # and the history says the change in words, with who made it
    page.get_by_role("link", name="变更记录").click()
    expect(page.locator("tbody tr").first).to_contain_text("当 客户阶段 等于 合同签署 时，必须填写 交付物")
    expect(page.locator("tbody tr").first).to_contain_text("diana")

    # when a rep opens the form and chooses 合同签署, the form marks the deliverable at once
    rep = page_as(personas.alice, PHONE)
    rep.goto(f"/customers/{signing.pk}/actions/new/")
    expect(rep.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    chip(rep, "contact_method", "邮件").click()
    chip(rep, "stage", "合同签署").click()
    expect(rep.locator("#next_step_deliverable-rule")).to_have_text(MESSAGE)
    # and a browser that did not get the rules is refused by the server with the same message
    server = page_as(personas.alice, PHONE)
    server.route("**/api/v1/rules", lambda route: route.fulfill(status=200, content_type="application/json", body="[]"))
    server.goto(f"/customers/{signing.pk}/actions/new/")
    expect(server.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    chip(server, "contact_method", "邮件").click()
    chip(server, "stage", "合同签署").click()
    chip(server, "key_action", "补货下单").click()
    chip(server, "emotion", "中性").click()
    before = ActionLog.objects.filter(customer=signing).count()
    server.get_by_role("button", name="保存").click()
    expect(server.locator("#next_step_deliverable-error")).to_have_text(MESSAGE)
    assert ActionLog.objects.filter(customer=signing).count() == before


def test_the_rule_list_and_editor_fit_a_phone(page_as: Any, personas: Any, signing: Any) -> None:
    page = page_as(personas.diana, PHONE)
    page.goto("/settings/rules/")
    assert no_horizontal_overflow(page)
    screenshot(page, "settings-rules-phone")
    page.get_by_role("link", name="新建规则").click()
    expect(page.locator("html[data-rule-builder-ready=true]")).to_have_count(1)
    page.locator("select[name=cond-0-field]").select_option("contact_method")
    settled(page)
    page.locator("select[name=cond-0-op]").select_option("in")
    settled(page)
    page.locator(".rule-values").get_by_label("微信", exact=True).check()
    settled(page)
    page.locator(".rule-values").get_by_label("电话", exact=True).check()
    settled(page)
    page.locator(".rule-must .rule-fields").first.get_by_label("下一步", exact=True).check()
    settled(page)
    expect(page.locator("[data-sentence]")).to_contain_text("接触方式 属于 电话、微信")
    assert no_horizontal_overflow(page)
    screenshot(page, "settings-rule-new-phone")


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_a_director_sets_a_follow_up_from_dropdowns(
    page_as: Any, personas: Any, signing: Any, name: str, viewport: dict[str, int]
) -> None:
    from salestrace.todos.models import FollowUpRule

    page = page_as(personas.diana, viewport)
    page.goto("/settings/rules/")
    page.get_by_role("link", name="跟进", exact=True).click()
    page.get_by_role("link", name="新建跟进规则").click()
    expect(page.locator("html[data-rule-builder-ready=true]")).to_have_count(1)
    page.locator("select[name=cond-0-field]").select_option("key_action")
    settled(page)
    page.locator("select[name=cond-0-value]").select_option("restock_order")
    settled(page)
    expect(page.locator("[data-sentence]")).to_contain_text("在 关键动作 等于 补货下单 之后第 3 个工作日提醒")
    expect(page.locator("input[name=title_zh]")).to_have_value("补货下单 3 个工作日后，请跟进")
    expect(page.locator("[data-impact]")).to_contain_text("有 1 条会生成这条跟进")
    assert no_horizontal_overflow(page)
    screenshot(page, f"settings-follow-up-new-{name}")
    page.get_by_role("button", name="保存跟进规则").click()
    expect(page.locator(".messages")).to_contain_text("已保存")
    rule = FollowUpRule.objects.get(pack="")
    assert (rule.condition, rule.due_working_days) == ({"field": "key_action", "equals": "restock_order"}, 3)
    screenshot(page, f"settings-follow-ups-{name}")
