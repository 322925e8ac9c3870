"""Evidence in the browser: a WeChat screenshot stands in for the summary, and the timeline shows
the text once the worker has read it, without a reload."""

from __future__ import annotations

from typing import Any

import pytest

from salestrace.actions.evidence_services import evidence_recognise
from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.tests.evidence_files import chat_screenshot_bytes
from salestrace.core import clock
from tests.browser.conftest import screenshot
from tests.browser.test_rep_phone import chip, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHAT = ["王店长您好，新品到货了吗", "到了，明天可以安排陈列"]


def test_a_wechat_screenshot_is_read_while_the_rep_watches_the_timeline(page_as: Any, personas: Any, shop: Any) -> None:
    # given alice on the form of a WeChat contact, with no summary: the rule asks for one
    page = page_as(personas.alice)
    page.goto(f"/customers/{shop.comparing.pk}/actions/new/")
    expect(page.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    chip(page, "contact_method", "微信").click()
    chip(page, "key_action", "发送产品手册").click()
    chip(page, "emotion", "积极").click()
    expect(page.locator("#summary-rule")).to_have_text("微信沟通请填写沟通摘要，或上传聊天截图自动识别")
    # when she adds the chat screenshot instead, the rule is met, and she saves
    page.locator("#evidence_screenshot").set_input_files(
        files=[{"name": "chat.png", "mimeType": "image/png", "buffer": chat_screenshot_bytes(CHAT)}]
    )
    expect(page.locator("#summary-rule")).to_have_text("")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"**/customers/{shop.comparing.pk}/#timeline")
    # then the timeline says the screenshot is being read
    first = page.locator(".timeline .entry").first
    expect(first.locator("[data-recognition=pending]")).to_be_visible()
    screenshot(page, "30-screenshot-pending")
    # when the worker reads it
    shot = Evidence.objects.get(kind=Evidence.Kind.SCREENSHOT)
    assert evidence_recognise(evidence_id=shot.pk, now=clock.now())
    # then the page shows the text as the summary by itself, within a few seconds
    expect(page.locator(".timeline .entry").first.locator(".summary")).to_contain_text("新品", timeout=15_000)
    expect(page.locator("[data-recognition=pending]")).to_have_count(0)
    screenshot(page, "31-screenshot-read")
    action = ActionLog.objects.get(customer=shop.comparing, contact_method="wechat")
    assert "新品" in action.summary
