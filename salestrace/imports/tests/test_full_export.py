"""The full export: settings (template, calendar, days off) and every table in one zip, that an empty
install reads back to the same export."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from salestrace.catalog.models import TemplatePack, Threshold
from salestrace.catalog.services import template_load, thresholds_update
from salestrace.core.errors import InvalidInput, PermissionDenied, RuleViolation
from salestrace.imports.exports import full_export
from salestrace.imports.models import ImportJob
from salestrace.imports.services import full_import
from salestrace.imports.tests.test_exports import history, wipe  # noqa: F401 - the fixture
from salestrace.todos.models import CompanyDayOff, OfficialDay, OfficialYear
from salestrace.todos.services import calendar_confirm, company_day_off_set, follow_up_rules_sync, official_day_set

pytestmark = pytest.mark.django_db


def export(now: datetime) -> dict[str, bytes]:
    buffer = io.BytesIO()
    full_export(buffer, now=now)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _templates_loaded_before(now: datetime) -> None:
    # The persona fixtures load FMCG at the real time and B2B at the test's: both before "now", as on
    # a server where the templates were loaded long before the export.
    TemplatePack.objects.update(loaded_at=now - timedelta(days=1))


@pytest.fixture
def settings_changed(personas: Any, history: None, now: datetime) -> None:  # noqa: F811
    """A threshold of its own, the 2027 calendar entered and confirmed, a company day off; the
    template's follow-ups in force (as `load_template` leaves them)."""
    _templates_loaded_before(now)
    follow_up_rules_sync()
    value = Threshold.objects.get(code="vitality_dormant_days").value
    thresholds_update(
        user=personas.admin,
        values={"vitality_dormant_days": Decimal(45)},
        seen={"vitality_dormant_days": value},
        now=now,
    )
    official_day_set(user=personas.admin, day=date(2027, 2, 6), kind="off", name="春节", now=now)
    official_day_set(user=personas.admin, day=date(2027, 2, 14), kind="work", name="春节调休", now=now)
    calendar_confirm(user=personas.admin, year=2027, now=now)
    company_day_off_set(user=personas.admin, day=date(2027, 3, 8), name="公司团建", now=now)


def test_an_empty_install_reads_the_full_export_back_to_the_same_export(personas, settings_changed, now):
    first = export(now)
    manifest = json.loads(first["manifest.json"])
    assert manifest["rows"] == {"teams": 6, "products": 0, "customers": 3, "deals": 2, "actions": 2}
    assert "channel_secrets" in manifest["not_included"]
    assert b"vitality_dormant_days:\n    value: 45\n" in first["settings/template.yaml"]
    # when everything is wiped: the data, the calendar, the threshold back to the template's
    wipe()
    OfficialDay.objects.all().delete()
    OfficialYear.objects.all().delete()
    CompanyDayOff.objects.all().delete()
    template_load(code="b2b_industrial", now=now)
    Threshold.objects.filter(code="vitality_dormant_days").update(value=Decimal(30))
    # and the zip is read back
    jobs = full_import(user=personas.admin, data=zipped(first), now=now)
    assert [(j.kind, j.status, j.failed_count) for j in jobs] == [
        ("teams", "done", 0),
        ("products", "done", 0),
        ("customers", "done", 0),
        ("deals", "done", 0),
        ("actions", "done", 0),
    ]
    # then every member of the next export is the same, but for when it was made
    second = export(now)
    assert set(second) == set(first)
    for name in first:
        if name != "manifest.json":
            assert second[name] == first[name], name
    assert json.loads(second["manifest.json"])["rows"] == manifest["rows"]


def test_only_admins_read_a_full_export_back_and_anything_else_is_refused(personas, now):
    with pytest.raises(PermissionDenied):
        full_import(user=personas.fay, data=b"", now=now)
    with pytest.raises(RuleViolation) as refused:
        full_import(user=personas.admin, data=b"PK not a zip", now=now)
    assert refused.value.errors[0].code == "malformed"
    with pytest.raises(RuleViolation) as refused:
        full_import(user=personas.admin, data=zipped({"../../etc/passwd": b"x", "manifest.json": b"{}"}), now=now)
    assert refused.value.errors[0].code == "not_an_export"
    with pytest.raises(RuleViolation) as refused:
        full_import(user=personas.admin, data=zipped({"manifest.json": b"\xff not json"}), now=now)
    assert refused.value.errors[0].code == "not_an_export"


def test_a_full_export_with_a_damaged_member_is_refused_before_anything_is_written(personas, now):
    # given an export whose customers.csv no longer matches its checksum (a byte changed after packing)
    manifest = {"format": "salestrace-full-export", "version": 1, "order": ["customers"]}
    members = {
        "manifest.json": json.dumps(manifest).encode(),
        "settings/company_days_off.csv": b"day,name\n2027-03-08,x\n",
    }
    data = bytearray(zipped({**members, "customers.csv": b"external_id,name,kind,owner\nC1,Acme,account,alice\n" * 50}))
    at = data.index(b"customers.csv") + len("customers.csv") + 20
    data[at] ^= 0xFF
    # when it is read back, then it is refused naming the file, and not even its settings are applied
    with pytest.raises(RuleViolation) as refused:
        full_import(user=personas.admin, data=bytes(data), now=now)
    assert refused.value.errors[0].code == "damaged"
    assert "customers.csv" in str(refused.value.errors[0].message)
    assert not CompanyDayOff.objects.exists()
    assert not ImportJob.objects.exists()


def test_the_commands_write_and_read_the_zip(personas, history, now, tmp_path):  # noqa: F811
    _templates_loaded_before(now)
    path = tmp_path / "all.zip"
    call_command("export_data", str(tmp_path), "--zip", str(path))
    with zipfile.ZipFile(path) as archive:
        written = {name: archive.read(name) for name in archive.namelist() if name != "manifest.json"}
    wipe()
    call_command("import_data", "full", str(path), "--as", "root")
    again = {name: data for name, data in export(now).items() if name != "manifest.json"}
    assert again == written


def test_the_api_gives_admins_the_zip(personas, api_as, history, client):  # noqa: F811
    response = client.get("/api/v1/exports/full.zip", **api_as(personas.admin).headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {"manifest.json", "settings/template.yaml", "customers.csv", "actions.csv"} <= set(archive.namelist())
    assert client.get("/api/v1/exports/full.zip", **api_as(personas.fay).headers).status_code == 403


def test_a_large_workbook_is_refused_with_the_way_out(personas, now, settings):
    from salestrace.imports.services import import_job_create

    settings.SALESTRACE_IMPORT_XLSX_MAX_BYTES = 1000
    with pytest.raises(InvalidInput) as refused:
        import_job_create(
            user=personas.admin, kind="customers", filename="big.xlsx", content=b"PK" + b"0" * 2000, now=now
        )
    assert refused.value.errors[0].code == "too_large"
    assert "CSV" in str(refused.value.errors[0].message)
