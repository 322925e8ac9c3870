"""The 今日 page and the action form, through the Django test client."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from salestrace.actions.models import ActionLog
from salestrace.actions.rules import ActionDraft
from salestrace.actions.services import action_log
from salestrace.customers.models import Customer
from salestrace.customers.services import CustomerInput, customer_create

pytestmark = pytest.mark.django_db


def make_customer(owner: Any, name: str, *, at: datetime, stage: str = "lead") -> Customer:
    return customer_create(user=owner, data=CustomerInput(name=name, kind="store", stage=stage), now=at)


def log(rep: Any, customer: Customer, *, at: datetime, **fields: Any) -> ActionLog:
    values: dict[str, Any] = {
        "occurred_at": at,
        "contact_method": "email",
        "stage": "needs_confirmed",
        "key_action": "send_brochure",
        "emotion": "positive",
        **fields,
    }
    action, _ = action_log(user=rep, customer_id=customer.pk, draft=ActionDraft(**values), now=at)
    return action


def price_negotiation_post(now: datetime, **overrides: str) -> dict[str, str]:
    """What the form posts for a valid 价格谈判 by e-mail."""
    return {
        "occurred_at": (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        "contact_method": "email",
        "stage": "price_negotiation",
        "key_action": "send_quote",
        "obstacle": "budget_shortage",
        "next_step_plan": "按新账期重新报价",
        "next_step_date": (now + timedelta(days=1)).date().isoformat(),
        "next_step_deliverable": "报价单",
        "emotion": "neutral",
        "summary": "",
        "idempotency_key": "k-1",
        **overrides,
    }


def field_errors(html: str, field: str) -> list[str]:
    return re.findall(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)


@pytest.fixture
def store(personas: Any, now: datetime) -> Customer:
    return make_customer(personas.alice, "联华超市(浦东3号店)", at=now - timedelta(days=10), stage="solution_compare")


def test_the_form_has_customer_rep_time_and_the_customers_stage_filled_in(
    client: Any, personas: Any, now: Any, store: Any
) -> None:
    # given
    client.force_login(personas.alice)
    # when
    response = client.get(f"/customers/{store.pk}/actions/new/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "联华超市(浦东3号店)" in html
    assert "alice" in html
    assert 'value="2026-11-26T10:00"' in html
    assert re.search(r'name="stage" value="solution_compare" checked', html)
    assert re.search(r'name="contact_method" value="visit" checked', html)
    assert 'data-rules-url="/api/v1/rules"' in html
    # every text input has a label tied to it
    for field in ("occurred_at", "next_step_plan", "next_step_date", "next_step_deliverable", "summary"):
        assert f'<label for="id_{field}"' in html
        assert f'id="id_{field}"' in html


def test_a_valid_price_negotiation_is_saved_and_the_rep_is_back_on_the_customer_page(
    client: Any, personas: Any, now: Any, store: Any
) -> None:
    # given
    client.force_login(personas.alice)
    # when
    response = client.post(f"/customers/{store.pk}/actions/new/", price_negotiation_post(now))
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{store.pk}/#timeline"
    action = ActionLog.objects.get()
    assert (action.rep, action.stage, action.obstacle) == (personas.alice, "price_negotiation", "budget_shortage")
    assert action.occurred_at == now - timedelta(minutes=30)
    assert action.logged_at == now
    store.refresh_from_db()
    assert store.stage == "price_negotiation"
    page = client.get(response["Location"]).content.decode()
    assert "已记录" in page
    assert "按新账期重新报价" in page


def test_a_refused_save_shows_every_violation_next_to_its_field_and_writes_nothing(
    client: Any, personas: Any, now: Any, store: Any
) -> None:
    # given a price negotiation by phone without obstacle, next step or summary
    client.force_login(personas.alice)
    data = price_negotiation_post(
        now, contact_method="phone", obstacle="", next_step_plan="", next_step_date="", emotion=""
    )
    # when
    response = client.post(f"/customers/{store.pk}/actions/new/", data)
    # then
    html = response.content.decode()
    assert response.status_code == 422
    assert field_errors(html, "obstacle") == ["价格谈判阶段必须填写障碍类型"]
    assert field_errors(html, "next_step_plan") == ["价格谈判阶段必须填写下一步计划及日期"]
    assert field_errors(html, "next_step_date") == ["价格谈判阶段必须填写下一步计划及日期"]
    assert field_errors(html, "emotion") == ["请选择客户情绪"]
    assert field_errors(html, "summary") == ["电话沟通请填写沟通摘要，或上传通话录音自动转写"]
    assert "保存未成功" in html
    # what was typed and chosen is kept
    assert re.search(r'name="contact_method" value="phone" checked', html)
    assert 'value="报价单"' in html
    assert ActionLog.objects.count() == 0


def test_server_only_checks_are_shown_by_their_field_too(client: Any, personas: Any, now: Any, store: Any) -> None:
    # given an action dated 40 days back (the template allows 30) and a next step before it
    client.force_login(personas.alice)
    data = price_negotiation_post(
        now,
        occurred_at=(now - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M"),
        next_step_date=(now - timedelta(days=41)).date().isoformat(),
        key_action="no_such_action",
    )
    # when
    html = client.post(f"/customers/{store.pk}/actions/new/", data).content.decode()
    # then
    assert field_errors(html, "occurred_at") == ["动作发生时间早于允许补录的期限。"]
    assert field_errors(html, "next_step_date") == ["下一步日期不能早于本次动作日期。"]
    assert field_errors(html, "key_action") == ["不是可选的选项之一。"]


def test_malformed_input_is_shown_by_its_field(client: Any, personas: Any, now: Any, store: Any) -> None:
    client.force_login(personas.alice)
    data = price_negotiation_post(now, occurred_at="yesterday", next_step_date="32/13", stage="")
    html = client.post(f"/customers/{store.pk}/actions/new/", data).content.decode()
    assert field_errors(html, "occurred_at") == ["请输入有效的日期和时间。"]
    assert field_errors(html, "next_step_date") == ["请输入有效的日期。"]
    assert field_errors(html, "stage") == ["请选择客户阶段。"]
    assert ActionLog.objects.count() == 0


def test_posting_the_same_form_twice_logs_one_action(client: Any, personas: Any, now: Any, store: Any) -> None:
    client.force_login(personas.alice)
    data = price_negotiation_post(now)
    first = client.post(f"/customers/{store.pk}/actions/new/", data)
    second = client.post(f"/customers/{store.pk}/actions/new/", data)
    assert first.status_code == second.status_code == 302
    assert ActionLog.objects.count() == 1


def test_another_rep_cannot_open_or_post_the_form_of_alices_customer(
    client: Any, personas: Any, now: Any, store: Any
) -> None:
    client.force_login(personas.bob)
    assert client.get(f"/customers/{store.pk}/actions/new/").status_code == 404
    assert client.post(f"/customers/{store.pk}/actions/new/", price_negotiation_post(now)).status_code == 404
    assert ActionLog.objects.count() == 0


def test_the_finance_assistant_may_not_log_actions(client: Any, personas: Any, now: Any, store: Any) -> None:
    client.force_login(personas.fay)
    assert client.get(f"/customers/{store.pk}/actions/new/").status_code == 403
    assert client.post(f"/customers/{store.pk}/actions/new/", price_negotiation_post(now)).status_code == 403
    assert "新增动作日志" not in client.get(f"/customers/{store.pk}/").content.decode()


def test_the_form_stays_within_its_query_budget(
    client: Any, personas: Any, now: Any, store: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(personas.alice)
    client.get("/")
    with django_assert_max_num_queries(7):
        assert client.get(f"/customers/{store.pk}/actions/new/").status_code == 200
    with django_assert_max_num_queries(16):
        assert client.post(f"/customers/{store.pk}/actions/new/", price_negotiation_post(now)).status_code == 302
    with django_assert_max_num_queries(16):
        bad = price_negotiation_post(now, obstacle="", idempotency_key="k-2")
        assert client.post(f"/customers/{store.pk}/actions/new/", bad).status_code == 422


def test_form_errors_are_in_english_after_the_switch(client: Any, personas: Any, now: Any, store: Any) -> None:
    client.force_login(personas.alice)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.post(f"/customers/{store.pk}/actions/new/", price_negotiation_post(now, obstacle="")).content.decode()
    assert field_errors(html, "obstacle") == ["At the price negotiation stage the obstacle is required"]
    assert "Log an action" in html
    assert "Price negotiation" in html


def test_today_lists_open_next_steps_due_today_and_overdue_and_counts_them(
    client: Any, personas: Any, now: Any
) -> None:
    # given: one next step due today, one overdue, one answered by a newer action, one later, one of bob's
    today = now.date()
    due = make_customer(personas.alice, "今天到期客户", at=now - timedelta(days=20))
    log(personas.alice, due, at=now - timedelta(days=2), next_step_plan="送样品", next_step_date=today)
    late = make_customer(personas.alice, "逾期客户", at=now - timedelta(days=20))
    log(
        personas.alice,
        late,
        at=now - timedelta(days=5),
        next_step_plan="催款",
        next_step_date=today - timedelta(days=2),
    )
    answered = make_customer(personas.alice, "已跟进客户", at=now - timedelta(days=20))
    log(personas.alice, answered, at=now - timedelta(days=5), next_step_plan="旧计划", next_step_date=today)
    log(
        personas.alice,
        answered,
        at=now - timedelta(hours=1),
        next_step_plan="新计划",
        next_step_date=today + timedelta(days=3),
    )
    later = make_customer(personas.alice, "以后客户", at=now - timedelta(days=20))
    log(
        personas.alice,
        later,
        at=now - timedelta(days=1),
        next_step_plan="下周计划",
        next_step_date=today + timedelta(days=5),
    )
    others = make_customer(personas.bob, "别人的客户", at=now - timedelta(days=20))
    log(personas.bob, others, at=now - timedelta(days=1), next_step_plan="鲍勃计划", next_step_date=today)
    client.force_login(personas.alice)
    # when
    response = client.get("/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "送样品" in html
    assert "催款" in html
    assert "旧计划" not in html
    assert "下周计划" not in html
    assert "鲍勃计划" not in html
    assert html.index("催款") < html.index("送样品")  # overdue first
    stats = {label: int(n) for n, label in re.findall(r"<strong>(\d+)</strong><span>([^<]+)</span>", html)}
    assert stats["今日到期的下一步"] == 1
    assert stats["已逾期的下一步"] == 1
    assert stats["今日已记录动作"] == 1  # the newer action on 已跟进客户, an hour ago


def test_today_lists_my_customers_longest_idle_first(client: Any, personas: Any, now: Any) -> None:
    for name, days in (("三天客户", 3), ("二十天客户", 20), ("十天客户", 10)):
        customer = make_customer(personas.alice, name, at=now - timedelta(days=40))
        log(personas.alice, customer, at=now - timedelta(days=days))
    client.force_login(personas.alice)
    html = client.get("/").content.decode()
    assert html.index("二十天客户") < html.index("十天客户") < html.index("三天客户")
    stats = {label: int(n) for n, label in re.findall(r"<strong>(\d+)</strong><span>([^<]+)</span>", html)}
    assert stats["正在变冷的客户"] == 1  # idle 20 days: orange


def test_today_stays_within_its_query_budget(
    client: Any, personas: Any, now: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(15):
        customer = make_customer(personas.alice, f"门店{i}", at=now - timedelta(days=40))
        log(personas.alice, customer, at=now - timedelta(days=i), next_step_plan="回访", next_step_date=now.date())
    client.force_login(personas.alice)
    client.get("/customers/")
    with django_assert_max_num_queries(9):
        assert client.get("/").status_code == 200


def test_links_from_tasks_preset_choices_and_ignore_unknown_codes(client: Any, personas: Any) -> None:
    from salestrace.actions.tests.factories import make_customer

    store = make_customer(owner=personas.alice)
    client.force_login(personas.alice)
    page = client.get(
        f"/customers/{store.pk}/actions/new/?key_action=quick_diagnosis&obstacle=nonsense"
    ).content.decode()
    assert 'value="quick_diagnosis" checked' in page
    assert 'value="nonsense"' not in page
