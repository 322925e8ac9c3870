"""Field data from files (issue 14): route plans, POS redemptions, members and stock, through the
import machinery: Chinese headers, row-level refusals, all or nothing, re-imports that change nothing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from salestrace.field.models import Member, Redemption, RouteStop, StockLevel
from salestrace.field.promotion_services import PromotionInput, promotion_create
from salestrace.imports.models import ImportJob
from salestrace.imports.services import import_job_create, import_run
from salestrace.imports.tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db


def run(user: Any, kind: str, content: bytes, now: datetime, **options: Any) -> ImportJob:
    job = import_job_create(
        user=user, kind=kind, filename=f"{kind}.csv", content=content, now=now, run_in_background=False, **options
    )
    return import_run(job_id=job.pk, now=now)


@pytest.fixture
def stores(personas: Any, now: datetime) -> list[Any]:
    rows = [["客户编号", "客户名称", "客户类型", "负责人"]] + [
        [f"S{n}", f"孕婴店({n}号店)", "门店", "alice"] for n in range(1, 4)
    ]
    job = run(personas.fay, "customers", csv_bytes(rows), now)
    assert job.status == ImportJob.Status.DONE, job.errors
    from salestrace.customers.models import Customer

    return list(Customer.objects.order_by("pk"))


def test_route_plans_from_a_chinese_sheet_replace_each_day_named(personas: Any, stores: Any, now: datetime) -> None:
    rows = [
        ["业务员", "拜访日期", "门店编号", "顺序"],
        ["alice", "2026/12/1", "S2", "2"],
        ["alice", "2026/12/1", "S1", "1"],
        ["alice", "2026年12月2日", "S3", ""],
    ]
    job = run(personas.fay, "routes", csv_bytes(rows, "gb18030"), now)
    assert job.status == ImportJob.Status.DONE, job.errors
    first = RouteStop.objects.filter(day=date(2026, 12, 1)).order_by("position")
    assert [s.customer.name for s in first] == ["孕婴店(1号店)", "孕婴店(2号店)"]
    assert RouteStop.objects.get(day=date(2026, 12, 2)).source == RouteStop.Source.IMPORTED
    # a store that is bob's is refused by row, naming the column and the value, and nothing is written
    from salestrace.customers.models import Customer

    Customer.objects.filter(name="孕婴店(3号店)").update(owner=personas.bob)
    again = run(
        personas.fay,
        "routes",
        csv_bytes([["业务员", "拜访日期", "门店编号"], ["alice", "2026-12-03", "S1"], ["alice", "2026-12-03", "S3"]]),
        now,
    )
    assert again.status == ImportJob.Status.FAILED
    (error,) = again.errors
    assert (error["row"], error["column"], error["value"], error["code"]) == (
        3,
        "customer_external_id",
        "S3",
        "not_allowed",
    )
    assert not RouteStop.objects.filter(day=date(2026, 12, 3)).exists()


def test_pos_redemptions_are_matched_to_the_promotion_running_at_the_store_and_reimport_changes_nothing(
    personas: Any, stores: Any, now: datetime
) -> None:
    promotion_create(
        user=personas.sam,
        data=PromotionInput("双十二", "满299减50", date(2026, 11, 20), date(2026, 12, 12), [s.pk for s in stores[:2]]),
        now=now,
    )
    rows = [
        ["流水号", "活动名称", "门店编号", "核销日期", "小票数", "优惠金额"],
        ["P1", "双十二", "S1", "2026-11-25", "12", "￥600.00"],
        ["P2", "双十二", "S2", "2026-11-25", "1,200", "60,000"],
    ]
    job = run(personas.fay, "redemptions", csv_bytes(rows), now)
    assert job.status == ImportJob.Status.DONE, job.errors
    assert job.created_count == 2
    assert Redemption.objects.get(external_id="P2").receipts == 1200
    assert Redemption.objects.get(external_id="P1").discount_total == Decimal("600.00")
    assert run(personas.fay, "redemptions", csv_bytes(rows), now).skipped_count == 2
    assert Redemption.objects.count() == 2
    # a store outside the promotion, a day outside it, an unknown name and a bad count: refused by row
    bad = [
        rows[0],
        ["P3", "双十二", "S3", "2026-11-25", "1", "50"],
        ["P4", "双十二", "S1", "2026-12-25", "1", "50"],
        ["P5", "618", "S1", "2026-11-25", "1", "50"],
        ["P6", "双十二", "S1", "2026-11-25", "两张", "50"],
    ]
    refused = run(personas.fay, "redemptions", csv_bytes(bad), now)
    assert refused.status == ImportJob.Status.FAILED
    assert {(e["row"], e["code"]) for e in refused.errors} == {
        (2, "not_running"),
        (3, "not_running"),
        (4, "unknown_promotion"),
        (5, "invalid_count"),
    }
    assert Redemption.objects.count() == 2
    # with "skip bad rows" nothing refused is written either, and the good rows are
    mixed = run(
        personas.fay,
        "redemptions",
        csv_bytes([rows[0], ["P7", "双十二", "S1", "2026-11-26", "3", "150"], bad[1]]),
        now,
        skip_bad_rows=True,
    )
    assert mixed.status == ImportJob.Status.DONE
    assert mixed.created_count == 1
    assert mixed.failed_count == 1


def test_members_and_stock_fill_the_promotion_card(personas: Any, stores: Any, now: datetime) -> None:
    members = run(
        personas.fay, "members", csv_bytes([["手机号", "会员等级", "姓名"], ["138 0013 8000", "金卡", "王女士"]]), now
    )
    assert members.status == ImportJob.Status.DONE, members.errors
    assert Member.objects.get().phone == "13800138000"
    bad = run(
        personas.fay,
        "members",
        csv_bytes([["手机号", "会员等级"], ["+86 138 0013 8001", "银卡"], ["12-34", "金卡"]]),
        now,
    )
    assert bad.status == ImportJob.Status.FAILED
    assert [(e["row"], e["column"], e["code"]) for e in bad.errors] == [(3, "phone", "invalid")]
    assert Member.objects.count() == 1  # nothing half-way
    stock = run(personas.fay, "stock", csv_bytes([["门店编号", "商品", "库存"], ["S1", "奶粉900g", "37"]]), now)
    assert stock.status == ImportJob.Status.DONE, stock.errors
    assert StockLevel.objects.get().quantity == 37
    newer = run(personas.fay, "stock", csv_bytes([["门店编号", "商品", "库存"], ["S1", "奶粉900g", "12"]]), now)
    assert newer.updated_count == 1
    assert StockLevel.objects.get().quantity == 12
