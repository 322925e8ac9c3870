"""设置 · 规则 through the Django test client: who may open it, what a draft rule would have refused
(read from the action log with its evidence, by the same evaluator as a save), saving with a
message by each field, and a concurrent edit caught."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.rules import ActionDraft
from salestrace.actions.selectors import rule_impact
from salestrace.actions.services import action_log
from salestrace.catalog.models import Rule
from salestrace.catalog.rules import RuleSpec, parse_condition, parse_requires
from salestrace.core.errors import RuleViolation
from salestrace.customers.services import CustomerInput, customer_create

pytestmark = pytest.mark.django_db

SEED_POST = {
    "join": "all",
    "cond-0-field": "stage",
    "cond-0-op": "equals",
    "cond-0-value": "contract_signing",
    "required": ["next_step_deliverable"],
    "message_auto": "1",
}


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def history(personas: Any, now: datetime) -> list[ActionLog]:
    """Four actions of the last 30 days and one older: two at 合同签署 without a deliverable, one
    with; one WeChat contact with a screenshot and one without."""
    customer = customer_create(
        user=personas.alice,
        data=CustomerInput(name="联华超市(江宁店)", kind="store", stage="lead"),
        now=now - timedelta(days=60),
    )
    made = []

    def log(days: float, **fields: Any) -> ActionLog:
        at = now - timedelta(days=days)
        values = {"occurred_at": at, "contact_method": "email", "stage": "contract_signing", "key_action": "restock_order",
                  "emotion": "neutral", **fields}  # fmt: skip
        action, _ = action_log(user=personas.alice, customer_id=customer.pk, draft=ActionDraft(**values), now=at)
        made.append(action)
        return action

    log(40)
    log(20)
    log(10, next_step_deliverable="签约确认单")
    log(5, contact_method="wechat", summary="老板同意下周签约")
    shot = log(2, contact_method="wechat", summary="已发合同")
    Evidence.objects.create(action=shot, customer=customer, uploaded_by=personas.alice, kind="screenshot",
                            original="evidence/x.png", sha256="0" * 64, mime_type="image/png", size=1,
                            created_at=now, updated_at=now)  # fmt: skip
    return made


def spec(condition: dict[str, Any], requires: list[Any]) -> RuleSpec:
    return RuleSpec("draft", parse_condition(condition), parse_requires(requires), "m", "m")


def test_the_impact_counts_the_last_30_days_by_the_same_evaluator(
    personas: Any, history: list[ActionLog], now: datetime
) -> None:
    seed = rule_impact(rule=spec({"field": "stage", "equals": "contract_signing"}, ["next_step_deliverable"]), now=now)
    assert (seed.checked, seed.refused) == (4, 3)  # the 40-day-old one is outside; the one with a deliverable passes
    assert [e.action_id for e in seed.examples] == [history[4].pk, history[3].pk, history[1].pk]  # newest first
    assert seed.examples[0].missing == ("next_step_deliverable",)
    assert seed.examples[0].customer == "联华超市(江宁店)"
    # evidence counts as a field: a WeChat contact must carry its screenshot
    shots = rule_impact(rule=spec({"field": "contact_method", "equals": "wechat"}, ["evidence_screenshot"]), now=now)
    assert (shots.refused, [e.action_id for e in shots.examples]) == (1, [history[3].pk])


def test_only_configurers_open_the_rule_pages(personas: Any, fmcg: None) -> None:
    for user in (personas.alice, personas.sam, personas.diana, personas.fay):
        assert as_user(user).get("/settings/rules/").status_code == 403
        assert as_user(user).post("/settings/rules/new/", {**SEED_POST, "do": "save"}).status_code == 403
        assert as_user(user).post("/settings/rules/preview/", SEED_POST).status_code == 403
    assert not Rule.objects.filter(pack="").exists()
    page = as_user(personas.admin).get("/settings/rules/")
    assert page.status_code == 200
    assert "当 客户阶段 等于 价格谈判 时，必须填写 障碍类型" in page.content.decode()


def test_the_preview_proposes_the_message_and_shows_the_impact(personas: Any, history: list[ActionLog]) -> None:
    page = as_user(personas.admin).post("/settings/rules/preview/", SEED_POST)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="合同签署阶段必须填写交付物"' in html
    assert "过去 30 天的 4 条动作中，有 3 条会被拒绝。" in html
    assert "field-error" not in html.split('class="phone-preview')[0]  # nothing called wrong while choosing
    # a message the manager wrote is kept while they go on choosing
    kept = as_user(personas.admin).post(
        "/settings/rules/preview/", {**SEED_POST, "message_auto": "0", "message_zh": "请写交付物"}
    )
    assert 'value="请写交付物"' in kept.content.decode()


def test_saving_an_incomplete_rule_says_what_is_missing_by_each_field(personas: Any, fmcg: None) -> None:
    post = {"join": "all", "cond-0-field": "stage", "cond-0-op": "equals", "do": "save", "message_auto": "0"}
    page = as_user(personas.admin).post("/settings/rules/new/", post)
    assert page.status_code == 422
    assert "请选择要比较的选项。" in page.content.decode()
    page = as_user(personas.admin).post("/settings/rules/new/", {**post, "cond-0-value": "won"})
    html = page.content.decode()
    assert page.status_code == 422
    assert "请至少勾选一个必须填写的字段。" in html
    assert "请填写销售看到的提示语（中文）。" in html
    assert not Rule.objects.filter(pack="").exists()


def test_a_rule_saved_here_refuses_the_next_save_and_an_edit_made_meanwhile_is_not_overwritten(
    personas: Any, fmcg: None, now: datetime
) -> None:
    admin = as_user(personas.admin)
    assert admin.post("/settings/rules/new/", {**SEED_POST, "do": "save"}).status_code == 302
    rule = Rule.objects.get(pack="")
    customer = customer_create(
        user=personas.alice, data=CustomerInput(name="好德便利店", kind="store", stage="lead"), now=now
    )
    draft = ActionDraft(
        occurred_at=now, contact_method="email", stage="contract_signing", key_action="restock_order", emotion="neutral"
    )
    with pytest.raises(RuleViolation) as refused:
        action_log(user=personas.alice, customer_id=customer.pk, draft=draft, now=now)
    assert "合同签署阶段必须填写交付物" in [str(e.message) for e in refused.value.errors]
    # two editors open the rule; the first saves, the second is told, not overwritten
    first, second = admin.get(f"/settings/rules/{rule.code}/"), admin.get(f"/settings/rules/{rule.code}/")
    seen = re.search(r'name="seen" value="(\w+)"', first.content.decode())
    assert seen is not None
    assert seen.group(1) in second.content.decode()
    edit = {
        **SEED_POST,
        "do": "save",
        "message_auto": "0",
        "message_zh": "签约前先确认交付物",
        "code": rule.code,
        "seen": seen.group(1),
    }
    assert admin.post(f"/settings/rules/{rule.code}/", edit).status_code == 302
    late = admin.post(f"/settings/rules/{rule.code}/", {**edit, "message_zh": "晚到的修改"})
    assert late.status_code == 409
    assert "在此期间已有其他人修改了这条规则" in late.content.decode()
    assert Rule.objects.get(pk=rule.pk).message_zh == "签约前先确认交付物"
