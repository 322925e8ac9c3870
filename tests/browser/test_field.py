"""Field visits in a real browser: a rep's route and check-in with the location granted and denied,
the visit form opened from the check-in, and the supervisor's compliance page."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from salestrace.core import clock
from salestrace.field.models import CheckIn
from salestrace.field.services import route_plan_set
from salestrace.field.tests.helpers import METRES_PER_DEGREE, make_store
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture
def route(personas: Any) -> list[Any]:
    stores = [
        make_store(personas.alice, "联华超市(曹杨店)"),
        make_store(personas.alice, "好德便利店(长风店)", latitude="31.230000"),
    ]
    today = timezone.localdate(clock.now())
    route_plan_set(
        by=personas.sam, rep_id=personas.alice.pk, day=today, customer_ids=[s.pk for s in stores], now=clock.now()
    )
    return stores


def test_a_rep_checks_in_with_the_location_granted_then_logs_the_visit_from_it(
    page_as: Any, personas: Any, route: Any
) -> None:
    # given alice's phone at 50 m north of the first store, location allowed
    here = {"latitude": 31.24 + 50 / METRES_PER_DEGREE, "longitude": 121.41, "accuracy": 12}
    page = page_as(personas.alice, geolocation=here, permissions=["geolocation"])
    page.goto("/field/")
    expect(page.get_by_role("heading", level=1)).to_have_text("今日路线")
    expect(page.locator(".route-stop")).to_have_count(2)
    screenshot(page, "field-01-route")
    # when she taps 签到 on the first store, then 签到 on its page
    page.locator(".route-stop").first.get_by_role("link", name="签到").click()
    page.get_by_role("button", name="签到").click()
    # then the route says where she was, and the store is checked in
    expect(page.locator(".message")).to_contain_text("距门店 50 米")
    expect(page.locator(".route-stop").first.locator(".badge").first).to_contain_text("已签到")
    made = CheckIn.objects.get()
    assert made.distance_m == 50
    assert made.flags == []
    assert made.accuracy_m == 12
    screenshot(page, "field-02-checked-in")
    # and 记录拜访 opens the visit form at the check-in's time
    page.get_by_role("link", name="记录拜访").click()
    expect(page).to_have_url(re.compile(r"/customers/\d+/actions/new/\?contact_method=visit"))
    local = timezone.localtime(made.occurred_at).strftime("%Y-%m-%dT%H:%M")
    expect(page.locator('input[name="occurred_at"]')).to_have_value(local)


def test_a_rep_who_denies_the_location_still_checks_in_and_it_is_flagged(
    page_as: Any, personas: Any, route: Any
) -> None:
    page = page_as(personas.alice)  # no permission granted: the browser answers "denied"
    page.goto("/field/")
    page.locator(".route-stop").nth(1).get_by_role("link", name="签到").click()
    page.get_by_role("button", name="签到").click()
    expect(page.locator(".message")).to_contain_text("未提供位置")
    made = CheckIn.objects.get()
    assert made.flags == ["no_location"]
    assert made.latitude is None
    screenshot(page, "field-03-denied")


def test_the_supervisor_sees_the_days_compliance_and_the_flagged_check_in(
    page_as: Any, personas: Any, route: Any
) -> None:
    from salestrace.field.services import check_in

    far = Decimal("31.240000") + Decimal(800 / METRES_PER_DEGREE).quantize(Decimal("0.000001"))
    check_in(rep=personas.alice, customer_id=route[0].pk, now=clock.now(), latitude=far, longitude=Decimal("121.41"))
    page = page_as(personas.sam, viewport={"width": 1280, "height": 900})
    page.goto("/field/compliance/")
    expect(page.locator("#missing-rate")).to_have_text("100.0%")
    expect(page.locator("#compliance-reps")).to_contain_text("好德便利店(长风店)")
    expect(page.locator("#flagged-check-ins")).to_contain_text("距门店超出签到范围")
    screenshot(page, "field-04-compliance")


def test_without_signal_a_check_in_and_an_action_wait_on_the_phone_and_are_sent_once_when_it_returns(
    page_as: Any, personas: Any, route: Any
) -> None:
    from salestrace.actions.models import ActionLog

    here = {"latitude": 31.24 + 30 / METRES_PER_DEGREE, "longitude": 121.41, "accuracy": 10}
    page = page_as(personas.alice, geolocation=here, permissions=["geolocation"])
    context = page.context
    # given alice opened her route, the check-in page and the action form while there was signal
    page.goto("/field/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.goto(f"/field/check-in/{route[0].pk}/")
    page.goto(f"/customers/{route[1].pk}/actions/new/")
    expect(page.locator("#action-form[data-rules-ready=true]")).to_be_visible()
    # when the signal goes in the store
    context.set_offline(True)
    page.goto(f"/field/check-in/{route[0].pk}/")  # served by the service worker from what it kept
    page.get_by_role("button", name="签到").click()
    expect(page.locator("#offline-saved")).to_be_visible()
    expect(page.locator("#offline-queue [data-count]")).to_contain_text("1")
    tapped = timezone.now()
    # and she logs an e-mail contact on the other store, offline too
    page.goto(f"/customers/{route[1].pk}/actions/new/")
    page.locator('[data-field="contact_method"] label.chip', has_text=re.compile("^邮件$")).click()
    page.locator('[data-field="key_action"] label.chip', has_text=re.compile("^发送报价单$")).click()
    page.locator('[data-field="emotion"] label.chip', has_text=re.compile("^中性$")).click()
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#offline-queue [data-count]")).to_contain_text("2")
    screenshot(page, "field-05-offline-queue")
    assert not CheckIn.objects.exists()
    assert not ActionLog.objects.exists()
    # then, the signal back, both are sent, once each, the check-in with the time of the tap
    context.set_offline(False)
    expect(page.locator("#offline-queue")).to_be_hidden(timeout=15000)
    made = CheckIn.objects.get()
    assert made.occurred_at <= tapped
    assert made.distance_m == 30
    assert ActionLog.objects.filter(customer=route[1], contact_method="email").count() == 1
    page.evaluate("window.stOffline.sync()")
    page.goto("/field/")
    assert CheckIn.objects.count() == 1
    assert ActionLog.objects.count() == 1
    expect(page.locator(".route-stop").first.locator(".badge").first).to_contain_text("已签到")


def test_store_staff_record_a_redemption_on_the_card_in_three_interactions_and_well_under_30_seconds(
    page_as: Any, personas: Any
) -> None:
    import time
    from datetime import timedelta

    from salestrace.field.models import Member, Redemption, StockLevel
    from salestrace.field.promotion_services import PromotionInput, promotion_create, store_staff_assign
    from salestrace.org.models import Role, User
    from tests.browser.conftest import Interactions

    # given a mother-and-baby store running 满299减50, a gold member, the ERP's stock, and its clerk
    store = make_store(personas.alice, "爱婴室(徐汇店)")
    today = timezone.localdate(clock.now())
    promo = promotion_create(
        user=personas.sam,
        data=PromotionInput(
            "双十二", "满299减50", today - timedelta(days=1), today + timedelta(days=7), [store.pk], product="奶粉900g"
        ),
        now=clock.now(),
    )
    Member.objects.create(phone="13800138000", level="金卡", name="王女士", updated_at=clock.now())
    StockLevel.objects.create(store=store, product="奶粉900g", quantity=37, as_of=clock.now())
    clerk = User.objects.create_user(username="clerk", password="pw", role=Role.STORE_STAFF, team=personas.east1)
    store_staff_assign(by=personas.sam, user_id=clerk.pk, store_id=store.pk)
    page = page_as(clerk)
    page.goto("/")  # the clerk lands on the card
    expect(page.get_by_role("heading", level=1)).to_have_text("促销卡")
    expect(page.locator(f"#promo-{promo.pk}")).to_contain_text("满299减50")
    expect(page.locator(f"#promo-{promo.pk}")).to_contain_text("37")
    done = Interactions()
    started = time.monotonic()
    # when a member pays 318 at the till: type the phone (the level shows), type the amount, one tap
    page.get_by_label("会员手机号（可选）").fill("13800138000")
    expect(page.locator(f"#member-{promo.pk}")).to_contain_text("金卡")
    page.get_by_label("小票金额").fill("318")
    done.click(page.get_by_role("button", name="核销：减 50"), "redeem")
    expect(page.locator(".message")).to_contain_text("已核销")
    elapsed = time.monotonic() - started
    screenshot(page, "field-06-promotion-card")
    # then one redemption, recorded in ≤ 3 interactions and ≤ 30 s (the seed's 4 min 17 s across three systems)
    made = Redemption.objects.get()
    assert (made.member_phone, made.discount_total, made.recorded_by_id) == ("13800138000", Decimal("50.00"), clerk.pk)
    assert done.count <= 3, done.log
    assert elapsed <= 30
    expect(page.locator(f"#promo-{promo.pk}")).to_contain_text("今日卡上已核销 1 笔")


def test_two_check_ins_made_offline_from_one_kept_page_are_two_records(page_as: Any, personas: Any, route: Any) -> None:
    here = {"latitude": 31.24, "longitude": 121.41, "accuracy": 10}
    page = page_as(personas.alice, geolocation=here, permissions=["geolocation"])
    page.goto("/field/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.goto(f"/field/check-in/{route[0].pk}/")
    page.context.set_offline(True)
    # the same kept page, shown twice without signal: a morning visit and an afternoon visit
    for count in ("1", "2"):
        page.goto(f"/field/check-in/{route[0].pk}/")
        page.get_by_role("button", name="签到").click()
        expect(page.locator("#offline-queue [data-count]")).to_contain_text(count)
    page.context.set_offline(False)
    expect(page.locator("#offline-queue")).to_be_hidden(timeout=15000)
    assert CheckIn.objects.filter(customer=route[0]).count() == 2
    assert len(set(CheckIn.objects.values_list("key", flat=True))) == 2


def test_an_action_form_kept_offline_opens_at_the_phones_now_not_the_time_it_was_kept(
    page_as: Any, personas: Any, route: Any
) -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    # given a phone whose clock reads three hours after the server's page was made (a page kept
    # from the morning, opened in the afternoon without signal)
    page = page_as(personas.alice)
    later = datetime.now(UTC) + timedelta(hours=3)
    page.clock.set_fixed_time(later)
    page.goto(f"/customers/{route[1].pk}/actions/new/")
    # then the entry's time is the phone's now, on the site's clock (Asia/Shanghai)
    expected = later.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    expect(page.locator('input[name="occurred_at"]')).to_have_value(expected)
