"""The import wizard in the browser's terms: upload → match columns (saved matchings) → preview →
import in the background → report; admins and assistants only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from salestrace.customers.models import Customer
from salestrace.imports.models import ImportJob, ImportMapping
from salestrace.imports.tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db

# An ERP's own headers: a name column the preset does not know, one to leave out.
ERP = csv_bytes(
    [
        ["客户编号", "终端简称", "业务员", "内部备注"],
        ["E1", "联华超市(江宁店)", "alice", "x"],
        ["E2", "苏果超市(河西店)", "nobody", "y"],
        ["E3", "华润万家(新街口店)", "alice", "z"],
    ],
    "gb18030",
)


@pytest.fixture
def worker(django_capture_on_commit_callbacks: Any) -> Iterator[Any]:
    """huey in immediate mode: `worker(post)` runs what the page queued when its request commits."""
    from huey.contrib.djhuey import HUEY

    def run(request: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return request()

    HUEY.immediate = True
    try:
        yield run
    finally:
        HUEY.immediate = False


def upload(client: Any, content: bytes = ERP, kind: str = "customers") -> Any:
    return client.post(
        "/imports/", {"kind": kind, "preset": "salestrace", "file": SimpleUploadedFile("erp.csv", content)}
    )


def columns(page: Any) -> dict[str, str]:
    """{header: the column selected for it} as the matching page shows it."""
    import re

    html = page.content.decode()
    found = {}
    for index, header in re.findall(r'<label for="col-(\d+)">([^<]+)</label>', html):
        select = re.search(rf'<select id="col-{index}" name="col-{index}">(.*?)</select>', html, re.S)
        chosen = re.search(r'<option value="([^"]*)" selected>', select.group(1)) if select else None
        found[header] = chosen.group(1) if chosen else ""
    return found


def test_upload_match_preview_then_import_with_a_saved_matching(personas, client, worker):
    client.force_login(personas.fay)
    # when the assistant uploads her ERP's file
    response = upload(client)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.status, job.total_rows, job.encoding) == ("draft", 3, "gb18030")
    page = client.get(response["Location"])
    # then the page shows each header with its first values, the Chinese ones the preset knows matched
    assert columns(page) == {"客户编号": "external_id", "终端简称": "", "业务员": "owner", "内部备注": ""}
    assert "联华超市(江宁店) · 苏果超市(河西店) · 华润万家(新街口店)" in page.content.decode()
    # when she leaves the remark out, keeps the matching, skips bad rows and previews
    form = {"col-0": "external_id", "col-1": "name", "col-2": "owner", "col-3": "", "skip_bad_rows": "on"}
    location = response["Location"]
    response = worker(lambda: client.post(location, form | {"save_as": "ERP 客户", "do": "preview"}))
    assert response.status_code == 302
    report = client.get(response["Location"]).content.decode()
    # then the preview has checked every row and written nothing
    assert Customer.objects.count() == 0
    job.refresh_from_db()
    assert (job.status, job.dry_run, job.created_count, job.failed_count) == ("done", True, 2, 1)
    assert "nobody" in report
    assert ImportMapping.objects.get().mapping == {
        "客户编号": "external_id",
        "终端简称": "name",
        "业务员": "owner",
        "内部备注": "",
    }
    # when she imports what the preview checked
    response = worker(lambda: client.post(f"/imports/{job.pk}/import/"))
    done = ImportJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == f"/imports/{done.pk}/"
    assert (done.status, done.dry_run, done.created_count, done.failed_count) == ("done", False, 2, 1)
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["华润万家(新街口店)", "联华超市(江宁店)"]
    # and the refused row comes back as a spreadsheet to fix
    sheet = client.get(f"/api/v1/imports/{done.pk}/failed-rows")
    assert sheet.status_code == 200
    assert sheet["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_saved_matching_is_applied_to_the_next_file(personas, client):
    ImportMapping.objects.create(
        name="ERP 客户",
        kind="customers",
        mapping={"终端简称": "name", "业务员": "owner", "客户编号": "external_id", "内部备注": "city"},
        created_by=personas.fay,
        updated_at=personas.fay.date_joined,
    )
    client.force_login(personas.fay)
    location = upload(client)["Location"]
    saved = ImportMapping.objects.get()
    assert columns(client.get(f"{location}?saved={saved.pk}"))["内部备注"] == "city"


def test_a_required_column_left_out_or_matched_twice_is_said_on_the_page(personas, client):
    client.force_login(personas.admin)
    location = upload(client)["Location"]
    page = client.post(location, {"col-0": "external_id", "col-1": "", "col-2": "owner", "col-3": "", "do": "preview"})
    assert page.status_code == 422
    assert "name" in page.content.decode()
    page = client.post(location, {"col-0": "external_id", "col-1": "name", "col-2": "name", "col-3": "", "do": "x"})
    assert page.status_code == 422
    assert ImportJob.objects.get().status == "draft"


def test_an_unreadable_file_is_refused_on_the_first_page(personas, client):
    client.force_login(personas.admin)
    page = upload(client, b"PK\x03\x04 not really a workbook")
    assert page.status_code == 422
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize("who", ["alice", "sam", "diana"])
def test_the_wizard_is_for_admins_and_assistants(personas, client, who):
    client.force_login(getattr(personas, who))
    assert client.get("/imports/").status_code == 403
    assert upload(client).status_code == 403


def test_an_assistant_sees_only_her_own_imports(personas, client):
    client.force_login(personas.admin)
    location = upload(client)["Location"]
    client.force_login(personas.fay)
    assert client.get(location).status_code == 404


def _maven_zip(*, leave_out: str = "", folder: str = "maven-crm/") -> bytes:
    import io
    import zipfile

    from salestrace.imports.tests.conftest import MAVEN

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(MAVEN.glob("*.csv")):
            if path.name != leave_out:
                archive.write(path, folder + path.name)
    return out.getvalue()


def test_the_maven_dataset_comes_in_as_one_zip_its_four_files_run_in_order(personas, b2b, client, worker):
    import csv

    from salestrace.customers.models import Deal
    from salestrace.imports.tests.conftest import MAVEN

    client.force_login(personas.admin)
    # when the admin uploads the dataset's four files as one zip with the maven-crm preset
    form = {"kind": "customers", "preset": "maven-crm", "file": SimpleUploadedFile("maven.zip", _maven_zip())}
    response = worker(lambda: client.post("/imports/", form))
    # then four jobs were made, run by the worker one after another, all done
    assert response.status_code == 302
    jobs = list(ImportJob.objects.order_by("pk"))
    assert [(j.kind, j.status) for j in jobs] == [
        ("teams", "done"),
        ("products", "done"),
        ("customers", "done"),
        ("deals", "done"),
    ], [j.errors[:2] for j in jobs]
    with (MAVEN / "sales_pipeline.csv").open(encoding="utf-8", newline="") as handle:
        opportunities = sum(1 for _row in csv.DictReader(handle))
    assert Deal.objects.count() == opportunities
    page = client.get(response["Location"])
    # and the wizard says so, listing the four files
    html = page.content.decode()
    assert "已排队 4 个文件" in html
    assert all(name in html for name in ("sales_teams.csv", "products.csv", "accounts.csv", "sales_pipeline.csv"))


def test_a_maven_zip_missing_a_file_is_refused_whole_naming_it(personas, b2b, client):
    client.force_login(personas.admin)
    form = {
        "kind": "customers",
        "preset": "maven-crm",
        "file": SimpleUploadedFile("maven.zip", _maven_zip(leave_out="products.csv", folder="")),
    }
    response = client.post("/imports/", form)
    assert response.status_code == 422
    assert "products.csv" in response.content.decode()
    assert not ImportJob.objects.exists()
    not_a_zip = {"kind": "customers", "preset": "maven-crm", "file": SimpleUploadedFile("maven.zip", ERP)}
    response = client.post("/imports/", not_a_zip)
    assert response.status_code == 422
    assert not ImportJob.objects.exists()


def test_once_a_file_of_a_set_fails_the_rest_are_not_run_and_say_why(personas, now):
    from salestrace.imports.services import import_job_create, import_set_run

    header = ["external_id", "name", "kind", "owner"]
    bad = csv_bytes([header, ["C1", "Acme", "account", "nobody"]])
    good = csv_bytes([header, ["C2", "Bolt", "account", "alice"]])
    jobs = [
        import_job_create(
            user=personas.admin, kind="customers", filename=name, content=content, now=now, run_in_background=False
        )
        for name, content in (("first.csv", bad), ("second.csv", good))
    ]
    first, second = import_set_run(job_ids=[j.pk for j in jobs], now=now)
    assert first.status == second.status == "failed"
    assert "first.csv" in second.message
    assert not Customer.objects.filter(name="Bolt").exists()


def test_the_reason_a_file_of_a_set_was_not_run_is_in_the_importers_language(personas, now):
    from salestrace.imports.services import import_job_create, import_set_run

    personas.admin.language = "en"
    personas.admin.save(update_fields=["language"])
    header = ["external_id", "name", "kind", "owner"]
    bad = csv_bytes([header, ["C1", "Acme", "account", "nobody"]])
    jobs = [
        import_job_create(
            user=personas.admin, kind="customers", filename=name, content=bad, now=now, run_in_background=False
        )
        for name in ("first.csv", "second.csv")
    ]
    _first, second = import_set_run(job_ids=[j.pk for j in jobs], now=now)
    assert second.message == "Not imported: an earlier file of the same set was not imported (first.csv)."


def test_a_maven_zip_with_a_damaged_file_is_refused_whole_saying_so(personas, b2b, client):
    # given a zip whose products.csv was damaged after it was packed (a byte of its data changed,
    # so it no longer matches its checksum)
    data = bytearray(_maven_zip(folder=""))
    at = data.index(b"products.csv") + len("products.csv") + 40  # inside the first file's stored data
    data[at] ^= 0xFF
    client.force_login(personas.admin)
    form = {"kind": "customers", "preset": "maven-crm", "file": SimpleUploadedFile("maven.zip", bytes(data))}
    # when it is uploaded, then it is refused with the reason and nothing is kept
    response = client.post("/imports/", form)
    assert response.status_code == 422
    assert "压缩包已损坏" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("preset", ["salestrace", "maven-crm"])
def test_a_file_over_the_import_limit_is_refused_before_it_is_read(personas, client, settings, preset):
    settings.SALESTRACE_IMPORT_MAX_BYTES = 100
    client.force_login(personas.admin)
    form = {"kind": "customers", "preset": preset, "file": SimpleUploadedFile("big.csv", ERP + b"x" * 200)}
    response = client.post("/imports/", form)
    assert response.status_code == 422
    assert "文件过大" in response.content.decode()
    assert not ImportJob.objects.exists()
