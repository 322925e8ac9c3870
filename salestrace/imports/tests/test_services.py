from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from salestrace.actions.models import ActionLog
from salestrace.core.errors import PermissionDenied, RuleViolation
from salestrace.customers.models import Customer, Deal, StageHistory
from salestrace.imports.models import ExternalRef, ImportJob
from salestrace.imports.selectors import failed_rows
from salestrace.imports.services import import_job_create, import_run
from salestrace.imports.tests.conftest import csv_bytes

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUSTOMER_HEADER = ["external_id", "name", "kind", "owner", "team", "region", "city", "industry"]


def run(user: Any, kind: str, content: bytes, now: datetime, **options: Any) -> ImportJob:
    job = import_job_create(
        user=user, kind=kind, filename=f"{kind}.csv", content=content, now=now, run_in_background=False, **options
    )
    return import_run(job_id=job.pk, now=now)


def customers_file(*rows: list[str], encoding: str = "utf-8") -> bytes:
    return csv_bytes([CUSTOMER_HEADER, *rows], encoding)


def test_customers_from_a_gb18030_file_are_created_with_their_ids(personas: Any, now: datetime) -> None:
    # given a file Chinese Excel saved, with labels instead of codes
    content = customers_file(
        ["C1", "联华超市(江宁店)", "门店", "alice", "", "华东", "南京", "零售"],
        ["C2", "苏果超市", "store", "bob", "", "华东", "南京", "零售"],
        encoding="gb18030",
    )
    # when an admin imports it
    job = run(personas.admin, "customers", content, now)
    # then both customers exist with their owners, and their ids are remembered
    assert (job.status, job.encoding, job.created_count, job.failed_count) == ("done", "gb18030", 2, 0)
    lianhua = Customer.objects.get(name="联华超市(江宁店)")
    assert (lianhua.owner, lianhua.kind, lianhua.city) == (personas.alice, "store", "南京")
    assert ExternalRef.objects.get(kind="customers", external_id="C1").object_id == lianhua.pk


def test_one_bad_row_refuses_the_whole_file_and_says_which_row_and_column(personas: Any, now: datetime) -> None:
    # given a file whose third row names nobody known as owner, and whose fourth has no name
    content = customers_file(["C1", "A", "", "alice"], ["C2", "B", "", "nobody"], ["C3", "", "", "alice"])
    # when it is imported without skipping bad rows
    job = run(personas.admin, "customers", content, now)
    # then nothing is written and both rows are reported by row and column
    assert job.status == "failed"
    assert job.created_count == 0
    assert Customer.objects.count() == 0
    assert ExternalRef.objects.count() == 0
    assert [(e["row"], e["column"], e["value"]) for e in job.errors] == [(3, "owner", "nobody"), (4, "name", "")]
    assert job.failed_count == 2


def test_skipping_bad_rows_writes_exactly_the_good_ones(personas: Any, now: datetime) -> None:
    content = customers_file(["C1", "A", "", "alice"], ["C2", "B", "", "nobody"], ["C3", "C", "", "bob"])
    job = run(personas.admin, "customers", content, now, skip_bad_rows=True)
    assert (job.status, job.created_count, job.failed_count) == ("done", 2, 1)
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["A", "C"]


def test_reimporting_a_file_creates_nothing_new_and_applies_changes(personas: Any, now: datetime) -> None:
    # given a file imported once
    run(personas.admin, "customers", customers_file(["C1", "A", "", "alice"], ["C2", "B", "", "bob"]), now)
    # when it is imported again with one city changed
    job = run(
        personas.admin,
        "customers",
        customers_file(["C1", "A", "", "alice"], ["C2", "B", "", "bob", "", "", "苏州"]),
        now,
    )
    # then nothing is duplicated: one row unchanged, one updated
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 1, 1)
    assert Customer.objects.count() == 2
    assert Customer.objects.get(name="B").city == "苏州"


def test_a_dry_run_reports_without_writing(personas: Any, now: datetime) -> None:
    job = run(personas.admin, "customers", customers_file(["C1", "A", "", "alice"]), now, dry_run=True)
    assert (job.status, job.created_count) == ("done", 1)
    assert Customer.objects.count() == 0


def test_a_file_missing_a_required_column_is_refused_at_once(personas: Any, now: datetime) -> None:
    with pytest.raises(RuleViolation) as caught:
        import_job_create(
            user=personas.admin,
            kind="customers",
            filename="c.csv",
            content=b"name\nA\n",
            now=now,
            run_in_background=False,
        )
    assert caught.value.errors[0].code == "missing_columns"
    assert "external_id" in str(caught.value.errors[0].message)
    assert ImportJob.objects.count() == 0


def test_reps_supervisors_and_directors_may_not_import(personas: Any, now: datetime) -> None:
    for user in (personas.alice, personas.sam, personas.diana):
        with pytest.raises(PermissionDenied):
            import_job_create(user=user, kind="customers", filename="c.csv", content=b"x", now=now)


def test_the_failed_rows_come_back_as_the_file_plus_an_error_column(personas: Any, now: datetime) -> None:
    job = run(personas.admin, "customers", customers_file(["C1", "A", "", "alice"], ["C2", "B", "", "nobody"]), now)
    headers, rows = failed_rows(job)
    assert headers[: len(CUSTOMER_HEADER)] == CUSTOMER_HEADER
    assert headers[-1] == "错误"
    assert len(rows) == 1
    assert rows[0][:4] == ["C2", "B", "", "nobody"]
    assert rows[0][-1].startswith("owner: ")


DEAL_HEADER = ["external_id", "customer_external_id", "owner", "title", "amount", "engaged_on", "stage", "closed_on"]


def test_closed_deals_come_in_with_their_own_dates_and_history(personas: Any, b2b: None, now: datetime) -> None:
    # given a customer, and a file of one deal won last year and one still open
    run(personas.admin, "customers", customers_file(["C1", "Acme", "account", "alice"]), now)
    content = csv_bytes(
        [
            DEAL_HEADER,
            ["D1", "C1", "alice", "Line 1", "1,000.00", "2025-03-01", "成交", "2025-06-30"],
            ["D2", "C1", "alice", "Line 2", "500", "2025-09-01", "需求确认", ""],
        ]
    )
    # when an assistant imports it
    job = run(personas.fay, "deals", content, now)
    # then the won deal is closed on its own date, not today, and its history is dated by the file
    assert (job.status, job.created_count) == ("done", 2), job.errors
    won = Deal.objects.get(title="Line 1")
    assert (won.outcome, won.stage, str(won.closed_on), str(won.amount)) == ("won", "won", "2025-06-30", "1000.00")
    moves = list(StageHistory.objects.filter(deal=won).order_by("changed_at").values_list("to_stage", "changed_at"))
    assert [(s, t.astimezone(SHANGHAI).date().isoformat()) for s, t in moves] == [
        ("lead", "2025-03-01"),
        ("won", "2025-06-30"),
    ]
    # and the customer shows its open deal's stage
    assert Customer.objects.get().stage == "needs_confirmed"


ACTION_HEADER = ["external_id", "customer_external_id", "deal_external_id", "rep", "occurred_at", "logged_at"]
ACTION_HEADER += ["contact_method", "stage", "key_action", "summary"]


def test_action_history_keeps_its_times_and_is_marked_imported(personas: Any, b2b: None, now: datetime) -> None:
    # given a customer with a deal won last year
    run(personas.admin, "customers", customers_file(["C1", "Acme", "account", "alice"]), now)
    run(
        personas.admin,
        "deals",
        csv_bytes([DEAL_HEADER, ["D1", "C1", "alice", "Line 1", "10", "2025-03-01", "won", "2025-06-30"]]),
        now,
    )
    # when its actions of a year ago are imported: older than the back-dating window, on a deal
    # now closed, at price negotiation without the obstacle the entry rules require today
    content = csv_bytes(
        [
            ACTION_HEADER,
            ["A1", "C1", "D1", "alice", "2025-05-01 10:00", "2025-05-03 09:00", "面访", "价格谈判", "", ""],
            ["A2", "C1", "D1", "alice", "2025-06-01 15:30", "", "phone", "contract_signing", "send_quote", "报价"],
        ]
    )
    job = run(personas.admin, "actions", content, now)
    # then both are kept with their own times, marked imported, and the won deal stays won
    assert (job.status, job.created_count) == ("done", 2), job.errors
    first = ActionLog.objects.get(contact_method="visit")
    assert first.source == ActionLog.Source.IMPORTED
    assert first.occurred_at == datetime(2025, 5, 1, 10, 0, tzinfo=SHANGHAI)
    assert first.logged_at == datetime(2025, 5, 3, 9, 0, tzinfo=SHANGHAI)
    second = ActionLog.objects.get(contact_method="phone")
    assert second.logged_at == second.occurred_at
    assert Deal.objects.get().outcome == "won"
    assert Customer.objects.get().last_active_at == second.occurred_at
    # and a second import of the same file adds nothing
    again = run(personas.admin, "actions", content, now)
    assert (again.created_count, again.skipped_count) == (0, 2)
    assert ActionLog.objects.count() == 2


def test_an_action_with_an_unknown_option_is_refused_naming_what_is_accepted(
    personas: Any, b2b: None, now: datetime
) -> None:
    run(personas.admin, "customers", customers_file(["C1", "Acme", "account", "alice"]), now)
    content = csv_bytes([ACTION_HEADER, ["A1", "C1", "", "alice", "2025-05-01 10:00", "", "飞鸽传书", "lead", "", ""]])
    job = run(personas.admin, "actions", content, now)
    assert job.status == "failed"
    [error] = job.errors
    assert (error["row"], error["column"], error["value"]) == (2, "contact_method", "飞鸽传书")
    assert "wechat" in error["message"]


def test_the_failed_rows_download_is_a_workbook(personas: Any, api_as: Any, now: datetime) -> None:
    job = run(personas.admin, "customers", customers_file(["C1", "A", "", "nobody"]), now)
    response = api_as(personas.admin).get(f"/imports/{job.pk}/failed-rows")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "错误"
    assert rows[1][0] == "C1"


def test_a_formula_in_the_file_comes_back_as_text_in_the_failed_rows(personas: Any, now: datetime) -> None:
    # given a refused row whose name is a formula
    content = customers_file(["C1", "=cmd|' /C calc'!A0", "", "nobody"], ["C2", "-5", "", "nobody"])
    job = run(personas.admin, "customers", content, now)
    # when the failed rows are read back
    _headers, rows = failed_rows(job)
    # then the formula is inert text, and a plain negative number is left alone
    assert rows[0][1] == "'=cmd|' /C calc'!A0"
    assert rows[1][1] == "-5"


def test_an_id_whose_customer_was_deleted_is_reported_not_crashed(personas: Any, now: datetime) -> None:
    run(personas.admin, "customers", customers_file(["C1", "A", "", "alice"]), now)
    Customer.objects.all().delete()
    job = run(personas.admin, "customers", customers_file(["C1", "A2", "", "alice"]), now)
    assert job.status == "failed"
    assert [(e["row"], e["code"]) for e in job.errors] == [(2, "gone")]


@pytest.mark.parametrize(("chunk", "kept"), [(2, 1), (3, 100)])
def test_history_written_chunk_by_chunk_ends_where_one_chunk_would(
    personas: Any, now: datetime, monkeypatch: pytest.MonkeyPatch, chunk: int, kept: int
) -> None:
    # given two customers whose actions interleave over the file, each moving its stage
    from salestrace.catalog.models import Option
    from salestrace.imports import services

    stages = list(
        Option.objects.filter(option_set__code="stage", is_active=True)
        .order_by("position")
        .values_list("code", flat=True)
    )[:3]
    run(
        personas.admin,
        "customers",
        customers_file(["C1", "Acme", "store", "alice"], ["C2", "Bolt", "store", "alice"]),
        now,
    )
    rows = [
        [
            f"A{n}",
            f"C{1 + n % 2}",
            "",
            "alice",
            f"2025-05-{1 + n:02d} 10:00:00",
            "",
            "visit",
            stages[min(n // 2, 2)],
            "",
            "",
        ]
        for n in range(6)
    ]
    # when the file is written a few rows at a time (the customers read once and written at the end,
    # or dropped and read again when more are held than `kept`)
    monkeypatch.setattr(services, "WRITE_CHUNK", chunk)
    monkeypatch.setattr(services, "LOCKED_CUSTOMERS_KEPT", kept)
    job = run(personas.admin, "actions", csv_bytes([ACTION_HEADER, *rows]), now)
    # then each customer stands where its last action put it, with every move in its history
    assert (job.status, job.created_count) == ("done", 6), job.errors
    for code, last in (("C1", rows[4]), ("C2", rows[5])):
        customer = Customer.objects.get(name="Acme" if code == "C1" else "Bolt")
        assert customer.stage == last[7]
        assert customer.last_active_at == datetime.fromisoformat(last[4]).replace(tzinfo=SHANGHAI)
        history = StageHistory.objects.filter(customer=customer, action__isnull=False).order_by("changed_at")
        assert list(history.values_list("to_stage", flat=True)) == stages[1:]
