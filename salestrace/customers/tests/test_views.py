"""The 我的客户 list and the customer page, through the Django test client."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from salestrace.actions.rules import ActionDraft
from salestrace.actions.services import action_log
from salestrace.customers.models import Customer
from salestrace.customers.services import CustomerInput, customer_create

pytestmark = pytest.mark.django_db


def make_customer(owner: Any, name: str, *, at: datetime, stage: str = "lead") -> Customer:
    return customer_create(user=owner, data=CustomerInput(name=name, kind="store", stage=stage), now=at)


def log(rep: Any, customer: Customer, *, at: datetime, logged_at: datetime | None = None, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "occurred_at": at,
        "contact_method": "email",
        "stage": "needs_confirmed",
        "key_action": "send_brochure",
        "emotion": "positive",
        **fields,
    }
    action, _ = action_log(user=rep, customer_id=customer.pk, draft=ActionDraft(**values), now=logged_at or at)
    return action


def test_customer_page_shows_header_timeline_newest_first_and_stage_history(
    client: Any, personas: Any, now: Any
) -> None:
    # given a customer of alice with two actions, the later one moving it to price negotiation
    customer = make_customer(personas.alice, "联华超市(浦东3号店)", at=now - timedelta(days=5))
    log(personas.alice, customer, at=now - timedelta(days=2), summary="第一次拜访")
    log(
        personas.alice,
        customer,
        at=now - timedelta(hours=3),
        stage="price_negotiation",
        obstacle="budget_shortage",
        next_step_plan="按新账期重新报价",
        next_step_date=(now + timedelta(days=1)).date(),
        summary="第二次拜访",
    )
    client.force_login(personas.alice)
    # when
    response = client.get(f"/customers/{customer.pk}/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "联华超市(浦东3号店)" in html
    assert "价格谈判" in html
    assert "预算不足" in html
    assert "按新账期重新报价" in html
    assert html.index("第二次拜访") < html.index("第一次拜访")
    assert "需求确认 → " in html or "需求确认</span>" in html or "需求确认" in html
    assert f'href="/customers/{customer.pk}/actions/new/"' in html


def test_another_rep_gets_404_on_alices_customer_page(client: Any, personas: Any, now: Any) -> None:
    # given
    customer = make_customer(personas.alice, "好德便利店", at=now)
    client.force_login(personas.bob)
    # when
    response = client.get(f"/customers/{customer.pk}/")
    # then
    assert response.status_code == 404
    assert "好德便利店" not in response.content.decode()


@pytest.mark.parametrize("who", ["sam", "diana"])
def test_supervisor_and_director_see_a_reps_customer_with_her_actions_read_only(
    client: Any, personas: Any, now: Any, who: Any
) -> None:
    # given an action alice logged
    customer = make_customer(personas.alice, "罗森(徐汇店)", at=now - timedelta(days=1))
    log(personas.alice, customer, at=now - timedelta(hours=1), summary="店长同意试销")
    client.force_login(getattr(personas, who))
    # when
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    # then the entry is shown and marked as someone else's (no edit controls exist)
    assert "店长同意试销" in html
    assert "只读" in html
    assert 'class="entry others"' in html


def test_an_entry_logged_more_than_late_entry_hours_after_it_happened_is_marked_late(
    client: Any, personas: Any, now: Any
) -> None:
    # given one action logged 3 h after it happened (threshold 2 h) and one logged at once
    customer = make_customer(personas.alice, "全家(闵行店)", at=now - timedelta(days=3))
    log(personas.alice, customer, at=now - timedelta(days=1), logged_at=now - timedelta(days=1) + timedelta(hours=3))
    log(personas.alice, customer, at=now - timedelta(hours=1), logged_at=now - timedelta(minutes=50))
    client.force_login(personas.alice)
    # when
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    # then exactly one is marked
    assert html.count("延迟录入") == 1


def test_customer_page_query_count_does_not_grow_with_the_number_of_actions(
    client: Any, personas: Any, now: Any, django_assert_max_num_queries: Any
) -> None:
    # given two customers, one with a single action and one with 30
    few = make_customer(personas.alice, "客户甲", at=now - timedelta(days=20))
    many = make_customer(personas.alice, "客户乙", at=now - timedelta(days=20))
    log(personas.alice, few, at=now - timedelta(days=1))
    for i in range(30):
        log(personas.alice, many, at=now - timedelta(days=15) + timedelta(hours=i))
    client.force_login(personas.sam)
    client.get("/customers/")  # the session is warm
    # when / then both pages stay within one budget (one read says whether the template uses deals)
    for customer in (few, many):
        with django_assert_max_num_queries(11):
            assert client.get(f"/customers/{customer.pk}/").status_code == 200


def test_the_timeline_pages_older_actions_through_htmx(client: Any, personas: Any, now: Any) -> None:
    # given 25 actions (one page is 20)
    customer = make_customer(personas.alice, "客户丙", at=now - timedelta(days=20))
    for i in range(25):
        log(personas.alice, customer, at=now - timedelta(days=10) + timedelta(hours=i), summary=f"第{i}次")
    client.force_login(personas.alice)
    # when
    first = client.get(f"/customers/{customer.pk}/").content.decode()
    older = client.get(f"/customers/{customer.pk}/?offset=20", HTTP_HX_REQUEST="true").content.decode()
    # then the first page has the newest 20 and a button; the next holds the 5 oldest, alone
    assert "第24次" in first
    assert "第4次" not in first
    assert "更早的动作" in first
    assert "第4次" in older
    assert "第0次" in older
    assert "第5次" not in older
    assert "<html" not in older


def _names(html: str, candidates: list[str]) -> set[str]:
    return {name for name in candidates if name in html}


NAMES = ["张三超市", "李四便利店", "王五商行"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zs", {"张三超市"}),
        ("ZS", {"张三超市"}),
        ("zhangsan", {"张三超市"}),
        ("lisi", {"李四便利店"}),
        ("bld", {"李四便利店"}),
        ("王五", {"王五商行"}),
        ("", set(NAMES)),
        ("nothing", set()),
    ],
)
def test_my_customers_search_by_name_pinyin_or_initials(
    client: Any, personas: Any, now: Any, query: Any, expected: Any
) -> None:
    # given
    for name in NAMES:
        make_customer(personas.alice, name, at=now)
    make_customer(personas.bob, "张三烟酒店", at=now)  # bob's: never in alice's list
    client.force_login(personas.alice)
    # when
    html = client.get("/customers/", {"q": query}).content.decode()
    # then
    assert _names(html, NAMES) == expected
    assert "张三烟酒店" not in html


def test_my_customers_filter_by_stage_and_vitality_colour(client: Any, personas: Any, now: Any) -> None:
    # given a customer active 2 days ago (green, price negotiation), one idle 10 days (yellow),
    # one idle 20 days (orange) and one idle 40 days (red)
    fresh = make_customer(personas.alice, "新鲜客户", at=now - timedelta(days=50))
    log(
        personas.alice,
        fresh,
        at=now - timedelta(days=2),
        stage="price_negotiation",
        obstacle="budget_shortage",
        next_step_plan="报价",
        next_step_date=now.date(),
    )
    for name, days in (("黄色客户", 10), ("橙色客户", 20), ("红色客户", 40)):
        customer = make_customer(personas.alice, name, at=now - timedelta(days=days))
        Customer.objects.filter(pk=customer.pk).update(last_active_at=now - timedelta(days=days))
    client.force_login(personas.alice)
    names = ["新鲜客户", "黄色客户", "橙色客户", "红色客户"]

    def listed(**params: str) -> set[str]:
        return _names(client.get("/customers/", params).content.decode(), names)

    # when / then
    assert listed(stage="price_negotiation") == {"新鲜客户"}
    assert listed(colour="green") == {"新鲜客户"}
    assert listed(colour="yellow") == {"黄色客户"}
    assert listed(colour="orange") == {"橙色客户"}
    assert listed(colour="red") == {"红色客户"}
    assert listed(colour="purple") == set(names)


def test_each_row_shows_stage_last_action_and_colour(client: Any, personas: Any, now: Any) -> None:
    # given
    customer = make_customer(personas.alice, "永辉超市(鼓楼店)", at=now - timedelta(days=30))
    log(personas.alice, customer, at=now - timedelta(days=9), key_action="book_demo")
    client.force_login(personas.alice)
    # when
    html = client.get("/customers/").content.decode()
    # then
    assert "需求确认" in html
    assert "预约演示" in html
    assert 'class="vitality yellow"' in html
    assert "黄" in html


def test_my_customers_query_count_stays_within_budget_whatever_the_list_size(
    client: Any, personas: Any, now: Any, django_assert_max_num_queries: Any
) -> None:
    # given 40 customers with actions (more than a page)
    for i in range(40):
        customer = make_customer(personas.alice, f"门店{i}", at=now - timedelta(days=30))
        log(personas.alice, customer, at=now - timedelta(days=i % 20))
    client.force_login(personas.alice)
    client.get("/")
    # when / then
    with django_assert_max_num_queries(7):
        response = client.get("/customers/", {"q": "md", "colour": "green"})
    assert response.status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get("/customers/", {"offset": "30"}, HTTP_HX_REQUEST="true").status_code == 200


def test_search_through_htmx_answers_with_the_results_only(client: Any, personas: Any, now: Any) -> None:
    make_customer(personas.alice, "张三超市", at=now)
    client.force_login(personas.alice)
    html = client.get("/customers/", {"q": "zs"}, HTTP_HX_REQUEST="true").content.decode()
    assert "张三超市" in html
    assert "<html" not in html


def test_pages_need_a_signed_in_user(client: Any, personas: Any) -> None:
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_english_switch_shows_the_list_in_english(client: Any, personas: Any, now: Any) -> None:
    # given
    make_customer(personas.alice, "张三超市", at=now, stage="price_negotiation")
    client.force_login(personas.alice)
    assert "我的客户" in client.get("/customers/").content.decode()
    # when
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/customers/"})
    # then
    assert response.status_code == 302
    html = client.get("/customers/").content.decode()
    assert "My customers" in html
    assert "Price negotiation" in html
    assert "我的客户" not in html
