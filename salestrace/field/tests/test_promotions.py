"""Promotions: the rule, reported execution vs till redemptions (the seed's 92 % vs 63.5 %), the card
at the till, store staff who see their store only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from salestrace.core.errors import NotFound, PermissionDenied, RuleViolation
from salestrace.field import compute
from salestrace.field.models import ExecutionReport, Member, Redemption, StockLevel, StoreStaff
from salestrace.field.promotion_selectors import store_facts
from salestrace.field.promotion_services import (
    PromotionInput,
    RedemptionRow,
    execution_report,
    promotion_create,
    redemption_record,
    redemptions_import_many,
    store_staff_assign,
)
from salestrace.field.tests.helpers import make_store
from salestrace.org.models import Role, User

THURSDAY = date(2026, 11, 26)


def facts(n: int, *, reported: int, redeemed: int, region: str = "华东") -> list[compute.StoreFacts]:
    return [
        compute.StoreFacts(
            i, f"店{i}", region, i < reported, 3 if i < redeemed else 0, Decimal(150) if i < redeemed else Decimal(0)
        )
        for i in range(n)
    ]


def test_the_rule_text_gives_the_numbers():
    assert compute.parse_rule("满299减50") == (Decimal(299), Decimal(50))
    assert compute.parse_rule("会员日 满 199 元 减 30，限一次") == (Decimal(199), Decimal(30))
    assert compute.parse_rule("第二件半价") is None
    assert compute.parse_rule("满50减80") is None  # a discount above the spend is a typo


def test_the_seeds_promotion_reported_92_percent_redeemed_63_5_percent():
    # given 200 stores: 184 reported as running, 127 with redemptions at the till (all of them among the reported)
    stores = facts(200, reported=184, redeemed=127)
    result = compute.reality(stores)
    assert result.reported_rate == pytest.approx(0.92)
    assert result.redeemed_rate == pytest.approx(0.635)
    assert result.gap == pytest.approx(0.285)
    assert result.unbacked == 57
    # the stores to visit first are the 57 whose report no till backs, then the 16 silent ones
    first = compute.visit_first(stores)
    assert len(first) == 73
    assert all(s.claim_unbacked for s in first[:57])
    assert not any(s.reported for s in first[57:])


def test_regions_are_compared_side_by_side():
    by_region = compute.reality_by_region(
        facts(10, reported=9, redeemed=9, region="A") + facts(10, reported=9, redeemed=3, region="B")
    )
    assert by_region["A"].gap == pytest.approx(0)
    assert by_region["B"].gap == pytest.approx(0.6)


@pytest.fixture
def stores(personas):
    return [make_store(personas.alice, f"孕婴店({n}号店)") for n in range(1, 4)]


@pytest.fixture
def promo(personas, stores, now):
    return promotion_create(
        user=personas.sam,
        data=PromotionInput(
            name="双十二",
            rule_text="满299减50",
            starts_on=THURSDAY - timedelta(days=3),
            ends_on=THURSDAY + timedelta(days=10),
            store_ids=[s.pk for s in stores],
            product="奶粉900g",
        ),
        now=now,
    )


@pytest.mark.django_db
def test_a_supervisor_creates_a_promotion_from_its_rule_and_a_rep_may_not(personas, stores, promo, now):
    assert (promo.threshold, promo.discount) == (Decimal("299.00"), Decimal("50.00"))
    assert set(promo.stores.values_list("pk", flat=True)) == {s.pk for s in stores}
    with pytest.raises(PermissionDenied):
        promotion_create(
            user=personas.alice, data=PromotionInput("x", "满1减0.5", THURSDAY, THURSDAY, [stores[0].pk]), now=now
        )
    bobs = make_store(personas.bob, "华润万家(滨江店)")
    with pytest.raises(RuleViolation) as refused:
        promotion_create(
            user=personas.sam,
            data=PromotionInput("x", "第二件半价", THURSDAY, THURSDAY - timedelta(days=1), [bobs.pk]),
            now=now,
        )
    assert {e.code for e in refused.value.errors} == {"required", "before_start", "not_allowed"}


@pytest.mark.django_db
def test_the_card_redeems_a_receipt_over_the_threshold_once_per_key(personas, stores, promo, now):
    Member.objects.create(phone="13800138000", level="金卡", updated_at=now)
    made, created = redemption_record(
        user=personas.alice,
        promotion_id=promo.pk,
        store_id=stores[0].pk,
        amount=Decimal("318.00"),
        now=now,
        member_phone="+86 138-0013-8000",
        key="till-1",
    )
    assert created
    assert (made.receipts, made.discount_total, made.member_phone, made.day) == (
        1,
        Decimal("50.00"),
        "13800138000",
        THURSDAY,
    )
    again, created_again = redemption_record(
        user=personas.alice,
        promotion_id=promo.pk,
        store_id=stores[0].pk,
        amount=Decimal("318.00"),
        now=now,
        key="till-1",
    )
    assert not created_again
    assert again.pk == made.pk
    with pytest.raises(RuleViolation) as below:
        redemption_record(
            user=personas.alice, promotion_id=promo.pk, store_id=stores[0].pk, amount=Decimal("298.99"), now=now
        )
    assert below.value.errors[0].code == "below_threshold"
    assert "299.00" in str(below.value.errors[0].message)
    with pytest.raises(RuleViolation) as over:
        redemption_record(
            user=personas.alice,
            promotion_id=promo.pk,
            store_id=stores[0].pk,
            amount=Decimal(500),
            now=now + timedelta(days=30),
        )
    assert over.value.errors[0].code == "not_running"
    with pytest.raises(NotFound):
        redemption_record(user=personas.bob, promotion_id=promo.pk, store_id=stores[0].pk, amount=Decimal(500), now=now)


@pytest.mark.django_db
def test_store_staff_see_their_stores_card_only_and_nothing_else(personas, stores, promo, now):
    # given a store-staff account placed in store 1
    clerk = User.objects.create_user(username="clerk", password="pw", role=Role.STORE_STAFF, team=personas.east1)
    store_staff_assign(by=personas.sam, user_id=clerk.pk, store_id=stores[0].pk)
    assert StoreStaff.objects.get(user=clerk).store == stores[0]
    # then the clerk redeems at store 1, not at store 2, and reports without a photo
    redemption_record(user=clerk, promotion_id=promo.pk, store_id=stores[0].pk, amount=Decimal(300), now=now)
    with pytest.raises(NotFound):
        redemption_record(user=clerk, promotion_id=promo.pk, store_id=stores[1].pk, amount=Decimal(300), now=now)
    execution_report(user=clerk, promotion_id=promo.pk, store_id=stores[0].pk, now=now)
    # and sees no customer, action, pool or page of the sales side
    client = Client()
    client.force_login(clerk)
    assert client.get("/").status_code == 302
    card = client.get("/field/card/")
    assert card.status_code == 200
    html = card.content.decode()
    assert "孕婴店(1号店)" in html
    assert "孕婴店(2号店)" not in html
    assert client.get(f"/customers/{stores[0].pk}/").status_code == 404
    assert client.get("/field/promotions/").status_code == 403
    assert client.get("/field/").status_code == 403
    assert "我的客户" not in html
    # a rep cannot be placed as staff, and a clerk owns no customers
    with pytest.raises(RuleViolation):
        store_staff_assign(by=personas.sam, user_id=personas.alice.pk, store_id=stores[0].pk)
    with pytest.raises(PermissionDenied):
        store_staff_assign(by=personas.alice, user_id=clerk.pk, store_id=stores[0].pk)
    # a supervisor places the staff of their own teams only
    west_clerk = User.objects.create_user(
        username="west-clerk", password="pw", role=Role.STORE_STAFF, team=personas.west1
    )
    with pytest.raises(RuleViolation):
        store_staff_assign(by=personas.sam, user_id=west_clerk.pk, store_id=stores[0].pk)
    sam = Client()
    sam.force_login(personas.sam)
    page = sam.get("/field/promotions/").content.decode()
    assert "clerk" in page.split('id="staff-posts"')[1]
    assert "west-clerk" not in page  # nor listed to him


@pytest.mark.django_db
def test_reality_compares_reports_with_pos_redemptions_and_lists_the_store_to_visit(personas, stores, promo, now):
    # given all three stores reported as running, but the POS export shows redemptions at two
    for store in stores:
        execution_report(user=personas.alice, promotion_id=promo.pk, store_id=store.pk, now=now)
    rows = [
        RedemptionRow(promo.pk, stores[0].pk, THURSDAY, 12, Decimal("600.00"), "pos-1"),
        RedemptionRow(promo.pk, stores[1].pk, THURSDAY, 4, Decimal("200.00"), "pos-2"),
    ]
    assert redemptions_import_many(user=personas.fay, rows=rows, now=now) == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    # a corrected export of the same rows updates, never doubles
    rows[1] = RedemptionRow(promo.pk, stores[1].pk, THURSDAY, 5, Decimal("250.00"), "pos-2")
    assert redemptions_import_many(user=personas.fay, rows=rows, now=now) == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    assert Redemption.objects.count() == 2
    with pytest.raises(PermissionDenied):
        redemptions_import_many(user=personas.alice, rows=rows, now=now)
    result = compute.reality(store_facts(user=personas.sam, promotion=promo))
    assert (result.stores, result.reported, result.redeemed, result.unbacked) == (3, 3, 2, 1)
    assert result.receipts == 17
    assert result.discount == Decimal("850.00")
    # the page says so, and the store to visit first is store 3
    sam = Client()
    sam.force_login(personas.sam)
    page = sam.get(f"/field/promotions/{promo.pk}/").content.decode()
    assert "33.3%" in page  # the gap: 100 % reported, 66.7 % redeemed
    assert "孕婴店(3号店)" in page.split('id="visit-first"')[1]
    assert ExecutionReport.objects.count() == 3
    assert sam.get(f"/field/promotions/{promo.pk}/?format=xlsx")["Content-Type"].startswith(
        "application/vnd.openxmlformats"
    )


@pytest.mark.django_db
def test_the_card_shows_the_rule_stock_and_member_level(personas, stores, promo, now):
    StockLevel.objects.create(store=stores[0], product="奶粉900g", quantity=37, as_of=now)
    Member.objects.create(phone="13800138000", level="金卡", name="王女士", updated_at=now)
    alice = Client()
    alice.force_login(personas.alice)
    html = alice.get(f"/field/card/?store={stores[0].pk}").content.decode()
    assert "满299减50" in html
    assert "37" in html
    level = alice.get("/field/card/member/?member_phone=138%200013%208000").content.decode()
    assert "金卡" in level
    assert "王*" in level
    assert "王女士" not in level  # the card shows the level, not the member's full name
    assert (
        "不是会员" in alice.get("/field/card/member/?member_phone=13900000000").content.decode()
        or "Not a member" in alice.get("/field/card/member/?member_phone=13900000000").content.decode()
    )
    done = alice.post(
        f"/field/promotions/{promo.pk}/redeem/", {"store": stores[0].pk, "amount": "￥318", "key": "k"}, follow=True
    )
    assert Redemption.objects.filter(source=Redemption.Source.CARD).count() == 1
    assert Redemption.objects.get().receipt_amount == Decimal("318.00")
    html = done.content.decode()
    assert "50.00" in html
    # the card lists today's redemptions at the store: the receipt, the discount, who recorded it
    today = html.split('id="card-today"')[1]
    assert "318.00" in today
    assert "alice" in today
