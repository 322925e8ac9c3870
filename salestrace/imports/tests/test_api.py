from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from salestrace.customers.models import Customer
from salestrace.imports.models import ImportJob
from salestrace.imports.tests.conftest import csv_bytes

GOOD = csv_bytes([["external_id", "name", "owner"], ["C1", "联华超市", "alice"]], "gb18030")


def upload(client: Any, api: Any, content: bytes = GOOD, **form: Any) -> Any:
    data = {"kind": "customers", "file": SimpleUploadedFile("customers.csv", content), **form}
    return client.post("/api/v1/imports", data=data, **api.headers)


@pytest.mark.parametrize("who", ["alice", "sam", "diana"])
def test_reps_supervisors_and_directors_may_not_import(personas: Any, api_as: Any, client: Any, who: str) -> None:
    response = upload(client, api_as(getattr(personas, who)))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "forbidden"
    assert ImportJob.objects.count() == 0


def test_without_a_token_an_import_is_refused(client: Any) -> None:
    response = client.post("/api/v1/imports", data={"kind": "customers", "file": SimpleUploadedFile("c.csv", GOOD)})
    assert response.status_code == 401


@pytest.mark.parametrize("who", ["fay", "admin"])
def test_assistants_and_admins_import_in_the_background_and_read_the_report(
    personas: Any, api_as: Any, client: Any, who: str, django_capture_on_commit_callbacks: Any, now: datetime
) -> None:
    from huey.contrib.djhuey import HUEY

    api = api_as(getattr(personas, who))
    # given huey in immediate mode: the queued task runs when the upload commits
    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, api)
    finally:
        HUEY.immediate = False
    # then the upload is accepted and the worker has written the customer
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    assert response.json()["encoding"] == "gb18030"
    report = api.get(f"/imports/{job_id}").json()
    assert (report["status"], report["created_count"], report["errors"]) == ("done", 1, [])
    assert Customer.objects.get().name == "联华超市"


def test_the_report_names_the_bad_rows(personas: Any, api_as: Any, client: Any, now: datetime) -> None:
    from salestrace.imports.services import import_run

    api = api_as(personas.admin)
    content = csv_bytes([["external_id", "name", "owner"], ["C1", "A", "nobody"]])
    job_id = upload(client, api, content).json()["id"]
    import_run(job_id=job_id, now=now)
    report = api.get(f"/imports/{job_id}").json()
    assert report["status"] == "failed"
    assert report["failed_count"] == 1
    assert report["errors"][0] | {"message": ""} == {
        "row": 2,
        "column": "owner",
        "value": "nobody",
        "code": "unknown_user",
        "message": "",
    }


def test_an_assistant_sees_only_their_own_imports(personas: Any, api_as: Any, client: Any) -> None:
    from salestrace.org.models import Role, User

    job_id = upload(client, api_as(personas.admin)).json()["id"]
    other = User.objects.create_user(username="fay2", password="x", role=Role.ASSISTANT)
    assert api_as(other).get(f"/imports/{job_id}").status_code == 404
    assert api_as(personas.fay).get(f"/imports/{job_id}").status_code == 404
    assert api_as(personas.admin).get(f"/imports/{job_id}").status_code == 200
    assert api_as(personas.alice).get(f"/imports/{job_id}").status_code == 403


def test_an_unreadable_file_or_a_missing_column_is_a_clear_422(personas: Any, api_as: Any, client: Any) -> None:
    api = api_as(personas.admin)
    response = upload(client, api, b"\xff\xfe\x00\x81\xff\x00")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    response = upload(client, api, b"name\nA\n")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "missing_columns"
    assert upload(client, api, GOOD, kind="contracts").status_code == 400
    assert upload(client, api, GOOD, mapping="[1]").status_code == 400
    assert ImportJob.objects.count() == 0


def test_the_openapi_document_lists_the_import_endpoints(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/imports", "/api/v1/imports/{import_id}", "/api/v1/imports/{import_id}/failed-rows"} <= set(paths)


def test_an_xlsx_upload_with_chinese_headers_and_labels_is_imported(
    personas: Any, api_as: Any, client: Any, now: datetime
) -> None:
    import io

    from openpyxl import Workbook

    from salestrace.imports.services import import_run

    # given a workbook with Chinese headers and a Chinese label for the kind
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户编号", "客户名称", "客户类型", "负责人", "城市"])
    sheet.append(["C9", "苏果超市", "门店", "bob", "南京"])
    buffer = io.BytesIO()
    book.save(buffer)
    api = api_as(personas.fay)
    data = {"kind": "customers", "file": SimpleUploadedFile("客户.xlsx", buffer.getvalue())}
    # when it is uploaded and run
    response = client.post("/api/v1/imports", data=data, **api.headers)
    assert response.status_code == 202, response.json()
    import_run(job_id=response.json()["id"], now=now)
    # then the customer is there, a store, owned by Bob
    customer = Customer.objects.get()
    assert (customer.name, customer.kind, customer.owner, customer.city) == ("苏果超市", "store", personas.bob, "南京")
