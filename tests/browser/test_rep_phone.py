"""The rep's phone, in a real browser: login, 今日, search, the 价格谈判 flow, English, 375 px."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from salestrace.actions.demo import shelf_photo
from salestrace.actions.models import ActionLog
from salestrace.actions.tests.evidence_files import run_photo_worker
from salestrace.catalog.rules import RuleSpec, evaluate, parse_condition, parse_requires
from tests.browser.conftest import PHONE, Interactions, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def chip(page: Any, field: str, label: str) -> Any:
    """The tap target of one choice in a row of choices."""
    return page.locator(f'[data-field="{field}"] label.chip', has_text=re.compile(f"^{re.escape(label)}$"))


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_login_in_chinese_then_today(page_as: Any, personas: Any, shop: Any) -> None:
    # given a signed-out phone
    page = page_as(None)
    # when
    page.goto("/")
    screenshot(page, "01-login-zh")
    page.get_by_label("用户名").fill("alice")
    page.get_by_label("密码").fill("pw-alice")
    page.get_by_role("button", name="登录").click()
    # then 今日 shows the next step due today and the counts
    expect(page.get_by_role("heading", level=1)).to_contain_text("今日")
    expect(page.locator(".stat", has_text="今日到期的下一步").locator("strong")).to_have_text("1")
    expect(page.get_by_role("link", name=re.compile("联华超市\\(浦东3号店\\)")).first).to_be_visible()
    expect(page.get_by_text("约老板确认最终价格")).to_be_visible()
    assert no_horizontal_overflow(page)
    screenshot(page, "02-today")


def test_search_my_customers_by_pinyin_initials(page_as: Any, personas: Any, shop: Any) -> None:
    # given
    page = page_as(personas.alice)
    page.goto("/customers/")
    expect(page.locator("#customer-rows li")).to_have_count(3)
    # when typing the initials of 联华超市
    page.get_by_label("按名称、拼音或首字母搜索").fill("lhcs")
    # then only alice's 联华超市 is left (bob's is never shown)
    expect(page.locator("#customer-rows li")).to_have_count(1)
    expect(page.locator("#customer-rows")).to_contain_text("联华超市(浦东3号店)")
    expect(page.locator("#customer-rows")).not_to_contain_text("西湖店")
    assert "q=lhcs" in page.url
    page.get_by_label("阶段").select_option("solution_compare")
    expect(page.locator(".empty")).to_have_text("没有符合条件的客户。")
    page.get_by_label("按名称、拼音或首字母搜索").fill("")
    expect(page.locator("#customer-rows li")).to_have_count(1)
    expect(page.locator("#customer-rows")).to_contain_text("好德便利店")
    screenshot(page, "03-search")


def test_price_negotiation_visit_with_its_photo_in_the_form_takes_seven_interactions(
    page_as: Any, personas: Any, shop: Any
) -> None:
    # given alice on the page of a customer at 方案对比, whose visit today moved it to 价格谈判
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.comparing.pk}/")
    screenshot(page, "04-customer")
    done = Interactions()
    # when she logs it
    done.click(page.get_by_role("link", name="新增动作日志"), "open the form")
    form = page.locator("#action-form[data-rules-ready=true]")
    expect(form).to_be_visible()
    expect(page.locator("#field-stage input:checked")).to_have_value("solution_compare")
    expect(page.locator("#obstacle-rule")).to_have_text("")
    # choosing 价格谈判 applies the rule at once, with its message
    done.click(chip(page, "stage", "价格谈判"), "stage")
    expect(page.locator("#obstacle-rule")).to_have_text("价格谈判阶段必须填写障碍类型")
    expect(page.locator("#field-next_step_plan .required-mark")).to_be_visible()
    screenshot(page, "05-form-live-rule")
    done.click(chip(page, "key_action", "发送报价单"), "key action")
    done.click(chip(page, "obstacle", "预算不足"), "obstacle")
    expect(page.locator("#obstacle-rule")).to_have_text("")
    page.get_by_label("计划").fill("按新账期重新报价")
    # typing the plan proposes a date three days out; a shortcut would change it in one tap
    expect(page.locator('[name="next_step_date"]')).not_to_have_value("")
    page.get_by_label("交付物").fill("报价单")
    done.click(chip(page, "emotion", "中性"), "emotion")
    # a visit needs its on-site photo (template rule): the browser says so before saving
    expect(page.locator("#evidence_photo-rule")).to_have_text("面访必须上传现场照片（系统自动加时间水印）")
    taken = timezone.localtime(timezone.now()).replace(tzinfo=None) - timedelta(minutes=5)
    page.locator("#evidence_photo").set_input_files(
        files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": shelf_photo(taken_at=taken)}]
    )
    done.count += 1
    done.log.append("take the photo")
    expect(page.locator("#evidence_photo-rule")).to_have_text("")
    screenshot(page, "06-form-filled")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        done.click(page.get_by_role("button", name="保存"), "save")
    # then she is back on the customer page with the new entry on top
    # (sent by offline.js with fetch: the server names where to go instead of redirecting)
    assert posted.value.status == 204
    assert "/customers/" in posted.value.headers["x-salestrace-location"]
    page.wait_for_url(re.compile(rf"/customers/{shop.comparing.pk}/"))
    expect(page.get_by_role("status")).to_contain_text("动作日志已记录")
    first = page.locator(".timeline .entry").first
    expect(first).to_contain_text("预算不足")
    expect(first).to_contain_text("按新账期重新报价")
    # with her photo shown at once while the worker stamps it (盖章中)
    expect(first.locator(".evidence-item img")).to_have_attribute("src", re.compile(r"/original$"))
    expect(first.locator('[data-processing="pending"]')).to_have_text("盖章中")
    screenshot(page, "07-saved")
    # and once the worker has run, the stamped copy
    assert run_photo_worker() == 1
    page.reload()
    first = page.locator(".timeline .entry").first
    expect(first.locator(".evidence-item img")).to_have_attribute("src", re.compile(r"/watermarked$"))
    action = ActionLog.objects.order_by("-id").first()
    assert action is not None
    assert (action.stage, action.obstacle, action.next_step_deliverable) == (
        "price_negotiation",
        "budget_shortage",
        "报价单",
    )
    assert action.next_step_date == timezone.localtime(action.occurred_at).date() + timedelta(days=3)
    assert action.evidence.get().flags == []
    print(f"\ninteractions: {done.count} ({', '.join(done.log)})")
    assert done.count <= 7, done.log


def test_a_visit_started_from_the_camera_takes_at_most_six_interactions(page_as: Any, personas: Any, shop: Any) -> None:
    # given alice on the customer page, at the store
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.comparing.pk}/")
    done = Interactions()
    # when she starts with the photo: the camera opens, and the form opens with the picture in it
    taken = timezone.localtime(timezone.now()).replace(tzinfo=None) - timedelta(minutes=2)
    with page.expect_navigation():
        page.locator("#photo-start-file").set_input_files(
            files=[{"name": "IMG_2042.jpg", "mimeType": "image/jpeg", "buffer": shelf_photo(taken_at=taken, seed=8)}]
        )
    done.count += 1
    done.log.append("take the photo")
    expect(page.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    expect(page.locator("#field-contact_method input:checked")).to_have_value("visit")
    expect(page.locator(".kept-file")).to_have_count(1)
    expect(page.locator("#evidence_photo-rule")).to_have_text("")
    screenshot(page, "06b-camera-first")
    # and fills the rest of a 价格谈判
    done.click(chip(page, "stage", "价格谈判"), "stage")
    done.click(chip(page, "key_action", "发送报价单"), "key action")
    done.click(chip(page, "obstacle", "预算不足"), "obstacle")
    page.get_by_label("计划").fill("按新账期重新报价")
    done.click(chip(page, "emotion", "中性"), "emotion")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        done.click(page.get_by_role("button", name="保存"), "save")
    # then the visit is logged with its stamped photo
    # (sent by offline.js with fetch: the server names where to go instead of redirecting)
    assert posted.value.status == 204
    assert "/customers/" in posted.value.headers["x-salestrace-location"]
    page.wait_for_url(re.compile(rf"/customers/{shop.comparing.pk}/"))
    action = ActionLog.objects.order_by("-id").first()
    assert action is not None
    assert action.contact_method == "visit"
    assert run_photo_worker() == 1
    assert action.evidence.get().derivative
    print(f"\ninteractions: {done.count} ({', '.join(done.log)})")
    assert done.count <= 6, done.log


def test_next_step_shortcuts_set_the_date(page_as: Any, personas: Any, shop: Any) -> None:
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.negotiating.pk}/actions/new/")
    expect(page.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    occurred = page.locator('[name="occurred_at"]').input_value()[:10]
    page.get_by_role("button", name="明天").click()
    tomorrow = (date.fromisoformat(occurred) + timedelta(days=1)).isoformat()
    expect(page.locator('[name="next_step_date"]')).to_have_value(tomorrow)


def test_choosing_price_negotiation_marks_obstacle_and_next_step_required_live(
    page_as: Any, personas: Any, shop: Any
) -> None:
    # given the form of a customer at 方案对比
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.comparing.pk}/actions/new/")
    expect(page.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    expect(page.locator("#field-obstacle .required-mark")).to_be_hidden()
    # when 价格谈判 is chosen
    chip(page, "stage", "价格谈判").click()
    # then obstacle and next step are marked required at once, with the rule's message
    expect(page.locator("#field-obstacle .required-mark")).to_be_visible()
    expect(page.locator("#obstacle-rule")).to_have_text("价格谈判阶段必须填写障碍类型")
    expect(page.locator("#next_step_plan-rule")).to_have_text("价格谈判阶段必须填写下一步计划及日期")
    expect(page.locator("#next_step_date-rule")).to_have_text("价格谈判阶段必须填写下一步计划及日期")
    # and saving is stopped in the browser, focus on the first missing field
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#field-key_action")).to_have_class(re.compile("has-error"))
    assert page.evaluate("document.activeElement.name") == "key_action"
    assert page.url.endswith("/actions/new/")
    # when the stage goes back, the marks go too
    chip(page, "stage", "方案对比").click()
    expect(page.locator("#field-obstacle .required-mark")).to_be_hidden()
    expect(page.locator("#obstacle-rule")).to_have_text("")
    assert ActionLog.objects.filter(customer=shop.comparing).count() == 0


def test_the_server_refuses_what_the_browser_let_through_and_says_why_by_each_field(
    page_as: Any, personas: Any, shop: Any
) -> None:
    # given a browser that did not get the rules (the server stays the authority)
    page = page_as(personas.alice)
    page.route("**/api/v1/rules", lambda route: route.fulfill(status=200, content_type="application/json", body="[]"))
    page.goto(f"/customers/{shop.comparing.pk}/actions/new/")
    expect(page.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    # when a 价格谈判 by phone without obstacle, next step or summary is saved
    chip(page, "contact_method", "电话").click()
    chip(page, "stage", "价格谈判").click()
    chip(page, "key_action", "发送报价单").click()
    chip(page, "emotion", "抵触").click()
    page.get_by_role("button", name="保存").click()
    # then the server answers with every problem next to its field, and nothing is saved
    expect(page.locator("#form-errors")).to_contain_text("保存未成功")
    expect(page.locator("#obstacle-error")).to_have_text("价格谈判阶段必须填写障碍类型")
    expect(page.locator("#next_step_plan-error")).to_have_text("价格谈判阶段必须填写下一步计划及日期")
    expect(page.locator("#next_step_date-error")).to_have_text("价格谈判阶段必须填写下一步计划及日期")
    expect(page.locator("#summary-error")).to_have_text("电话沟通请填写沟通摘要，或上传通话录音自动转写")
    expect(page.locator("#field-stage input:checked")).to_have_value("price_negotiation")
    expect(page.locator("#field-emotion input:checked")).to_have_value("resistant")
    assert ActionLog.objects.filter(customer=shop.comparing).count() == 0
    screenshot(page, "08-server-refusal")


def test_the_english_switch_turns_pages_and_rule_messages_into_english(page_as: Any, personas: Any, shop: Any) -> None:
    # given
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.comparing.pk}/")
    # when
    page.get_by_role("button", name="English").click()
    # then
    expect(page.get_by_role("link", name="Log an action")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Log an action").click()
    expect(page.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    chip(page, "stage", "Price negotiation").click()
    expect(page.locator("#obstacle-rule")).to_have_text("At the price negotiation stage the obstacle is required")
    expect(page.get_by_role("button", name="Tomorrow")).to_be_visible()
    screenshot(page, "09-form-en")
    page.get_by_role("link", name="My customers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My customers")
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的客户")


def test_every_page_fits_a_375_px_phone_with_usable_tap_targets(page_as: Any, personas: Any, shop: Any) -> None:
    page = page_as(personas.alice, viewport=PHONE)
    for path, name in (
        ("/", "10-phone-today"),
        ("/customers/", "11-phone-customers"),
        (f"/customers/{shop.negotiating.pk}/", "12-phone-customer"),
        (f"/customers/{shop.negotiating.pk}/actions/new/", "13-phone-form"),
    ):
        page.goto(path)
        assert page.evaluate("window.innerWidth") == 375
        assert no_horizontal_overflow(page), path
        # every button, chip and link-button is at least 40 px high
        small = page.evaluate(
            """[...document.querySelectorAll('button, .chip span, .button, .nav a')]
                 .filter(e => e.offsetParent !== null)
                 .map(e => [e.textContent.trim(), e.getBoundingClientRect().height])
                 .filter(([, h]) => h < 40)"""
        )
        assert small == [], (path, small)
        screenshot(page, name)


def test_the_form_works_from_the_keyboard_with_a_visible_focus(page_as: Any, personas: Any, shop: Any) -> None:
    # given
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.comparing.pk}/actions/new/")
    expect(page.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    # when the rep tabs into the stage row and moves with the arrow keys
    page.locator('#field-stage input[value="solution_compare"]').focus()
    page.keyboard.press("ArrowRight")
    # then the next stage is chosen, the rule reacts, and the focused choice shows an outline
    expect(page.locator("#field-stage input:checked")).to_have_value("price_negotiation")
    expect(page.locator("#obstacle-rule")).to_have_text("价格谈判阶段必须填写障碍类型")
    outline = page.evaluate(
        "getComputedStyle(document.querySelector('#field-stage input:checked + span')).outlineStyle"
    )
    assert outline == "solid"
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.name")
    assert focused == "key_action"


CONDITIONS: list[dict[str, Any]] = [
    {},
    {"field": "stage", "equals": "price_negotiation"},
    {"field": "contact_method", "in": ["wechat", "phone"]},
    {"field": "obstacle", "is_empty": True},
    {"field": "obstacle", "is_empty": False},
    {"all": [{"field": "stage", "equals": "price_negotiation"}, {"field": "obstacle", "is_empty": True}]},
    {"any": [{"field": "stage", "equals": "lead"}, {"field": "contact_method", "equals": "email"}]},
    {"not": {"field": "contact_method", "in": ["visit"]}},
    {"all": []},
    {"any": []},
    {"field": "next_step_date", "is_empty": True},
    {"field": "next_step_date", "is_empty": False},
]
VALUES: list[dict[str, Any]] = [
    {"stage": "price_negotiation", "contact_method": "visit", "obstacle": "", "next_step_date": None},
    {"stage": "lead", "contact_method": "phone", "obstacle": "budget_shortage", "next_step_date": "2026-11-27"},
    {"stage": "won", "contact_method": "email", "obstacle": "   "},
    # characters one language calls whitespace and the other did not: blank on both sides now
    {"stage": "lead", "obstacle": "\ufeff", "next_step_date": "\u0085\u001f"},
    {"stage": "lead", "obstacle": "\u00a0\u3000", "next_step_date": "x\u3000"},
    {},
]


def test_the_browser_rule_language_agrees_with_the_server(page_as: Any, personas: Any, shop: Any) -> None:
    # given the form page, which loads static/js/rules.js
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.comparing.pk}/actions/new/")
    # when every condition is evaluated on every set of values by both
    browser = page.evaluate(
        "([conds, values]) => conds.map(c => values.map(v => window.SalesTraceRules.holds(c, v)))",
        [CONDITIONS, VALUES],
    )
    server = [[parse_condition(c).holds(v) for v in VALUES] for c in CONDITIONS]
    # then they agree everywhere
    assert browser == server


RULES: list[dict[str, Any]] = [
    {"code": "price", "condition": CONDITIONS[1], "requires": ["obstacle", "next_step_date"], "message": "p"},
    {
        "code": "talk",
        "condition": {"field": "contact_method", "in": ["phone", "wechat"]},
        "requires": [["summary", "evidence_screenshot", "evidence_audio"]],
        "message": "t",
    },
    {
        "code": "visit",
        "condition": {"field": "contact_method", "equals": "visit"},
        "requires": ["evidence_photo", "obstacle"],
        "message": "v",
    },
]
EVIDENCE_VALUES: list[dict[str, Any]] = [
    *VALUES,
    {"contact_method": "phone", "summary": "", "evidence_audio": ["audio"]},
    {"contact_method": "wechat", "summary": " ", "evidence_screenshot": []},
    {"contact_method": "visit", "evidence_photo": ["photo"], "obstacle": "budget_shortage"},
]


def test_the_browser_and_server_report_the_same_unmet_requirements(page_as: Any, personas: Any, shop: Any) -> None:
    # given the form page and rules with plain requirements, a choice of fields, and evidence
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.comparing.pk}/actions/new/")
    specs = [RuleSpec(r["code"], parse_condition(r["condition"]), parse_requires(r["requires"]), "", "") for r in RULES]
    # when both evaluate every set of values
    browser = page.evaluate(
        "([rules, values]) => values.map(v => ["
        "  window.SalesTraceRules.evaluate(v, rules).map(x => [x.field, x.rule]),"
        "  Object.keys(window.SalesTraceRules.requiredFields(v, rules)).sort()])",
        [RULES, EVIDENCE_VALUES],
    )
    server = [
        [
            [[x.field, x.rule] for x in evaluate(v, specs)],
            sorted(
                {req[0] for s in specs if s.condition.holds(v) for req in s.requires if len(req) == 1}
                | {x.field for x in evaluate(v, specs)}
            ),
        ]
        for v in EVIDENCE_VALUES
    ]
    # then they agree: the same violations, on the same fields, from the same rules
    assert browser == server
