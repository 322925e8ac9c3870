"""The export gives everything back in the import format: exported, wiped and imported again, the
next export is the same file, byte for byte."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from salestrace.actions.models import ActionLog
from salestrace.analytics.tests.factories import make_customers
from salestrace.customers.models import Customer, Deal, StageHistory
from salestrace.imports.exports import ORDER, csv_lines
from salestrace.imports.models import ExternalRef, ImportJob
from salestrace.imports.services import import_job_create, import_run
from salestrace.imports.tests.conftest import csv_bytes
from salestrace.todos.models import Task

pytestmark = pytest.mark.django_db

ACTION_HEADER = [
    "external_id",
    "customer_external_id",
    "deal_external_id",
    "rep",
    "occurred_at",
    "logged_at",
    "contact_method",
    "stage",
    "key_action",
    "obstacle",
    "next_step_plan",
    "summary",
]


def run(user: Any, kind: str, content: bytes, now: datetime) -> ImportJob:
    job = import_job_create(
        user=user, kind=kind, filename=f"{kind}.csv", content=content, now=now, run_in_background=False
    )
    return import_run(job_id=job.pk, now=now)


def export_all() -> dict[str, str]:
    return {str(kind): "".join(csv_lines(kind)) for kind in ORDER}


@pytest.fixture
def history(personas: Any, b2b: None, now: datetime) -> None:
    """Two imported customers (one whose name a spreadsheet would run as a formula), a won and an
    open deal, actions with free text (full-width punctuation, a line break) logged late; and a
    customer entered in SalesTrace itself, with no external id."""
    customers = [
        ["external_id", "name", "kind", "owner", "region", "city"],
        ["C1", "联华超市（江宁店）", "account", "alice", "华东", "南京"],
        ["C2", "=HYPERLINK(1)", "lead", "bob", "", ""],
    ]
    deals = [
        ["external_id", "customer_external_id", "owner", "title", "amount", "engaged_on", "stage", "closed_on"],
        ["D1", "C1", "alice", "冲压线改造", "1,234.50", "2026-03-01", "won", "2026-06-30"],
        ["D2", "C2", "bob", "试用", "0", "2026-09-01", "needs_confirmed", ""],
    ]
    actions = [
        ACTION_HEADER,
        ["A1", "C1", "D1", "alice", "2026-03-02 09:30", "2026-03-02 18:00", "visit", "lead", "book_demo", "",
         "下周二演示，带样件", "客户说：价格可以谈，\n但要先看样件。"],
        ["A2", "C2", "D2", "bob", "2026-09-02 10:00", "", "phone", "needs_confirmed", "", "budget_shortage",
         "=等待客户回复", ""],
    ]  # fmt: skip
    for kind, rows in (("customers", customers), ("deals", deals), ("actions", actions)):
        job = run(personas.admin, kind, csv_bytes(rows), now)
        assert (job.status, job.failed_count) == ("done", 0), job.errors
    make_customers(personas.alice, 1)


def wipe() -> None:
    """Another install: the same users and template, none of the customers, deals or actions."""
    Task.objects.all().delete()
    ActionLog.objects.all().delete()
    StageHistory.objects.all().delete()
    Deal.objects.all().delete()
    Customer.objects.all().delete()
    ExternalRef.objects.all().delete()


def test_an_export_imports_back_as_it_was(personas: Any, history: None, now: datetime) -> None:
    # given everything exported
    first = export_all()
    assert first["customers"].startswith(
        "\ufeffexternal_id,name,kind,owner,team,region,city,industry,phones,address,credit_code,contacts\r\n"
    )
    assert "'=HYPERLINK(1)" in first["customers"]  # inert for a spreadsheet
    assert '"客户说：价格可以谈，\n但要先看样件。"' in first["actions"]  # free text as written
    assert "2026-03-02 18:00:00" in first["actions"]  # when it was logged, kept
    assert "1234.50" in first["deals"]
    # when the data is wiped and the files are imported in their order
    wipe()
    for kind in ORDER:
        job = run(personas.admin, kind, first[kind].encode(), now)
        assert (job.status, job.failed_count) == ("done", 0), (kind, job.errors)
    # then the export is the same, byte for byte
    assert export_all() == first
    assert Customer.objects.get(name="=HYPERLINK(1)").kind == "lead"
    summary = ActionLog.objects.get(next_step_plan="下周二演示，带样件").summary
    assert summary == "客户说：价格可以谈，\n但要先看样件。"
    # and importing it once more changes nothing
    for kind in ORDER:
        job = run(personas.admin, kind, first[kind].encode(), now)
        assert job.created_count == 0, kind
    assert export_all() == first


def test_the_command_writes_one_file_per_kind(personas: Any, history: None, tmp_path: Path) -> None:
    out = tmp_path / "export"
    call_command("export_data", str(out))
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{k}.csv" for k in ORDER)
    text = (out / "deals.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("external_id,customer_external_id,owner")
    assert len(text.splitlines()) == 3


def test_only_admins_and_assistants_may_export_through_the_api(personas: Any, history: None, api_as: Any) -> None:
    for user in (personas.alice, personas.sam, personas.diana):
        assert api_as(user).get("/exports/customers").status_code == 403
    response = api_as(personas.fay).get("/exports/customers")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="customers.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.count("\r\n") == 4  # the header and three customers
    assert api_as(personas.fay).get("/exports/evidence").status_code == 400
