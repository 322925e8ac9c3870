"""Follow-up rules a manager sets alone (设置 · 跟进): "在 关键动作 = 发送报价单 之后第 3 个工作日提醒",
built from dropdowns, checked, versioned and undoable from the settings history, and in force for
the next action."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from salestrace.catalog.models import SettingChange
from salestrace.catalog.services import setting_rollback
from salestrace.core.errors import Conflict, PermissionDenied, RuleViolation
from salestrace.todos.models import FollowUpRule
from salestrace.todos.services import (
    FollowUpDraft,
    follow_up_create,
    follow_up_fingerprint,
    follow_up_set_active,
    follow_up_update,
)

pytestmark = pytest.mark.django_db

DEMO = FollowUpDraft({"field": "key_action", "equals": "product_demo"}, 2, "演示后第2个工作日，请跟进", "")
POST = {
    "join": "all",
    "cond-0-field": "key_action",
    "cond-0-op": "equals",
    "cond-0-value": "product_demo",
    "due_working_days": "2",
    "title_auto": "1",
}


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def demo_option(fmcg: None, personas: Any, now: datetime) -> None:
    from salestrace.catalog.services import option_add

    option_add(
        user=personas.admin,
        set_code="key_action",
        label_zh="产品演示",
        label_en="Product demo",
        code="product_demo",
        now=now,
    )


def test_a_follow_up_rule_is_made_checked_recorded_and_undone(personas: Any, demo_option: None, now: datetime) -> None:
    rule = follow_up_create(user=personas.admin, draft=DEMO, now=now)
    assert (rule.code, rule.pack, rule.is_active) == ("key_action_product_demo_follow_up", "", True)
    change = SettingChange.objects.get(area="follow_up")
    assert (change.key, change.before) == (rule.code, None)
    # undone from the settings history (catalog's page, todos' rollback)
    setting_rollback(user=personas.admin, change_id=change.pk, now=now + timedelta(minutes=1))
    assert not FollowUpRule.objects.get(code=rule.code).is_active


def test_bad_follow_ups_are_refused_by_field(personas: Any, demo_option: None, now: datetime) -> None:
    with pytest.raises(RuleViolation) as refused:
        follow_up_create(user=personas.admin, draft=FollowUpDraft({}, 0, " ", "x" * 201), now=now)
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("condition", "required"),
        ("due_working_days", "invalid"),
        ("title_zh", "required"),
        ("title_en", "too_long"),
    }
    with pytest.raises(RuleViolation):
        follow_up_create(
            user=personas.admin, draft=FollowUpDraft({"field": "key_action", "equals": "nope"}, 3, "x", ""), now=now
        )
    for user in (personas.alice, personas.sam, personas.diana):
        with pytest.raises(PermissionDenied):
            follow_up_create(user=user, draft=DEMO, now=now)
    assert not FollowUpRule.objects.filter(pack="").exists()


def test_a_concurrent_edit_is_caught_and_switching_is_recorded(personas: Any, demo_option: None, now: datetime) -> None:
    rule = follow_up_create(user=personas.admin, draft=DEMO, now=now)
    seen = follow_up_fingerprint(rule)
    longer = FollowUpDraft(DEMO.condition, 4, "演示后第4个工作日，请跟进", "")
    assert follow_up_update(user=personas.admin, code=rule.code, draft=longer, seen=seen, now=now)
    with pytest.raises(Conflict):
        follow_up_update(user=personas.admin, code=rule.code, draft=DEMO, seen=seen, now=now)
    assert FollowUpRule.objects.get(pk=rule.pk).due_working_days == 4
    assert follow_up_set_active(user=personas.admin, code=rule.code, active=False, now=now)
    assert SettingChange.objects.filter(area="follow_up").count() == 3


def test_the_pages_propose_a_title_show_the_rule_in_words_and_save(personas: Any, demo_option: None) -> None:
    admin = as_user(personas.admin)  # the template's follow-ups show without waiting for the worker
    assert as_user(personas.alice).get("/settings/follow-ups/").status_code == 403
    listing = admin.get("/settings/follow-ups/").content.decode()
    assert "在 关键动作 等于 发送报价单 之后第 3 个工作日提醒：报价已发出3个工作日，请跟进客户反馈" in listing
    preview = admin.post("/settings/follow-ups/preview/", POST).content.decode()
    assert 'value="产品演示 2 个工作日后，请跟进"' in preview
    assert "在 关键动作 等于 产品演示 之后第 2 个工作日提醒" in preview
    assert "过去 30 天的 0 条动作中，有 0 条会生成这条跟进。" in preview
    bad = admin.post("/settings/follow-ups/new/", {**POST, "due_working_days": "99", "do": "save"})
    assert bad.status_code == 422
    assert "1 到 60 之间的整数个工作日。" in bad.content.decode()
    assert admin.post("/settings/follow-ups/new/", {**POST, "do": "save"}).status_code == 302
    rule = FollowUpRule.objects.get(pack="")
    assert (rule.condition, rule.due_working_days, rule.title_zh) == (
        {"field": "key_action", "equals": "product_demo"},
        2,
        "产品演示 2 个工作日后，请跟进",
    )
    history = admin.get("/settings/history/").content.decode()
    assert "在 关键动作 等于 产品演示 之后第 2 个工作日提醒：产品演示 2 个工作日后，请跟进" in history


def test_a_follow_up_made_in_settings_applies_to_the_next_action(personas: Any, demo_option: None) -> None:
    import time_machine

    from salestrace.todos.jobs import follow_ups
    from salestrace.todos.models import Task
    from salestrace.todos.tests.helpers import SHANGHAI, local, log, make_customer

    at = local(2026, 9, 30, 9)
    with time_machine.travel(at, tick=False):
        follow_up_create(user=personas.admin, draft=DEMO, now=at)
    shop = make_customer(personas.alice, "联华超市")
    log(personas.alice, shop, local(2026, 9, 30, 10), key_action="product_demo")
    with time_machine.travel(local(2026, 9, 30, 10, 5), tick=False):
        follow_ups(now=local(2026, 9, 30, 10, 5))
    task = Task.objects.get(source=Task.Source.FOLLOW_UP, rule_code="key_action_product_demo_follow_up")
    # the second working day after 30 September, across the National Day holiday: Friday 9 October
    assert task.due_at.astimezone(SHANGHAI).date().isoformat() == "2026-10-09"
    assert task.title.startswith("演示后第2个工作日")
