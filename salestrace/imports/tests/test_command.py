from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from salestrace.customers.models import Customer, Deal
from salestrace.imports.tests.conftest import MAVEN, csv_bytes
from salestrace.org.models import User


def test_import_data_imports_a_maven_folder_in_order(personas: Any, b2b: None, now: datetime, capsys: Any) -> None:
    # when the command is given the folder and the preset's name
    call_command("import_data", "maven-crm", str(MAVEN), "--as", "root")
    # then the four files were imported in order and reported
    out = capsys.readouterr().out
    assert [line.split(" ")[0] for line in out.splitlines()[:4]] == ["teams", "products", "customers", "deals"]
    assert Deal.objects.count() == 352


def test_import_data_dry_run_writes_nothing(personas: Any, tmp_path: Path, now: datetime, capsys: Any) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes([["客户编号", "客户名称", "负责人"], ["C1", "联华超市", "alice"]], "gb18030"))
    call_command("import_data", "customers", str(path), "--dry-run", "--as", "root")
    assert "created 1" in capsys.readouterr().out
    assert Customer.objects.count() == 0


def test_import_data_fails_loudly_on_a_refused_file(personas: Any, tmp_path: Path, now: datetime) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes([["external_id", "name", "owner"], ["C1", "A", "nobody"]]))
    with pytest.raises(CommandError):
        call_command("import_data", "customers", str(path), "--as", "root")
    assert Customer.objects.count() == 0


def test_an_assistant_may_not_import_admins(personas: Any, now: datetime) -> None:
    from salestrace.imports.services import import_job_create, import_run

    content = csv_bytes([["username", "role"], ["boss", "管理员"], ["newrep", "销售"]])
    job = import_job_create(
        user=personas.fay, kind="teams", filename="t.csv", content=content, now=now, run_in_background=False
    )
    job = import_run(job_id=job.pk, now=now)
    assert job.status == "failed"
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [(2, "role", "forbidden")]
    assert not User.objects.filter(username__in=["boss", "newrep"]).exists()
