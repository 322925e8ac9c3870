"""/api/v1/imports: upload a file to import, follow its progress, read its report, download its failed rows."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Router, Schema, UploadedFile

from salestrace.core import clock
from salestrace.core.api import ERRORS, IdPath
from salestrace.core.errors import FieldError, InvalidInput, PermissionDenied
from salestrace.core.xlsx import xlsx_response
from salestrace.imports.exports import csv_lines, full_export
from salestrace.imports.models import ImportJob
from salestrace.imports.presets import PRESETS
from salestrace.imports.selectors import failed_rows, import_job_get
from salestrace.imports.services import import_job_create, import_size_check
from salestrace.org.models import User
from salestrace.org.selectors import can_import, is_admin

router = Router(tags=["imports"])

ImportKind = Literal["teams", "products", "customers", "deals", "actions", "routes", "redemptions", "members", "stock"]
PresetCode = Literal["salestrace", "maven-crm", "salesforce", "hubspot"]
assert set(PresetCode.__args__) == set(PRESETS)  # type: ignore[attr-defined]


class RowErrorOut(Schema):
    row: int = Field(..., description="The row as a spreadsheet numbers it (the header is row 1).")
    column: str = Field(..., description="The SalesTrace column; empty for the row as a whole.")
    value: str
    code: str
    message: str


class LinkedDuplicateOut(Schema):
    row: int
    external_id: str
    customer_id: int
    name: str
    reason: str = Field(..., description="credit_code, phone or name")


class ImportOut(Schema):
    id: int
    kind: str
    preset: str
    original_name: str
    encoding: str = Field(..., description="utf-8, utf-8-sig (with BOM), gb18030 or xlsx.")
    mapping: dict[str, str] = Field(..., description="File header -> SalesTrace column, as applied.")
    skip_bad_rows: bool
    dry_run: bool
    status: str = Field(..., description="pending, checking, writing, done or failed.")
    total_rows: int
    checked_rows: int = Field(..., description="Rows checked so far (the progress while `checking`).")
    created_count: int
    updated_count: int
    skipped_count: int = Field(..., description="Rows already imported and unchanged.")
    failed_count: int = Field(..., description="Rows refused (see `errors`).")
    message: str = Field(..., description="Why the file as a whole was refused; empty otherwise.")
    errors: list[RowErrorOut]
    duplicates: list[LinkedDuplicateOut] = Field(
        ..., description="Customer rows already here (same credit code, phone or name): linked, not created again."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _refuse_unless_importer(request: HttpRequest) -> None:
    if not can_import(request.user):  # type: ignore[arg-type]
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins and assistants may import data."))])


@router.post("/imports", response={202: ImportOut, **ERRORS})
def create_import(
    request: HttpRequest,
    kind: Form[ImportKind],
    file: File[UploadedFile],
    preset: Form[PresetCode] = "salestrace",
    skip_bad_rows: Form[bool] = False,
    dry_run: Form[bool] = False,
    mapping: Form[str] = "",
) -> tuple[int, ImportJob]:
    """Upload a CSV (UTF-8, UTF-8 with BOM or GB18030) or xlsx file of one kind (multipart).

    `mapping` (optional, JSON) maps the file's headers to SalesTrace columns over the preset's.
    The file is checked for its encoding and required columns at once (422 when it cannot be
    imported); its rows are checked and written in the background: poll `GET /imports/{id}`.
    Admins and assistants only."""
    _refuse_unless_importer(request)
    import_size_check(file.size)
    try:
        overrides = json.loads(mapping) if mapping else {}
        if not isinstance(overrides, dict) or not all(isinstance(v, str) for v in overrides.values()):
            raise ValueError
    except ValueError:
        message = _('The mapping must be a JSON object of header: column, e.g. {"客户名称": "name"}.')
        raise InvalidInput([FieldError("mapping", "invalid", message)]) from None
    job = import_job_create(
        user=request.user,  # type: ignore[arg-type]
        kind=kind,
        filename=file.name or "import.csv",
        content=file.read(),
        now=clock.now(),
        preset=preset,
        mapping=overrides,
        skip_bad_rows=skip_bad_rows,
        dry_run=dry_run,
    )
    return 202, job


@router.get("/imports/{import_id}", response={200: ImportOut, **ERRORS})
def get_import(request: HttpRequest, import_id: IdPath) -> ImportJob:
    """An import's status, progress and report (admins: every import; assistants: their own)."""
    _refuse_unless_importer(request)
    return import_job_get(user=request.user, job_id=import_id)  # type: ignore[arg-type]


@router.get("/imports/{import_id}/failed-rows", response={200: Any, **ERRORS})
def get_failed_rows(request: HttpRequest, import_id: IdPath) -> HttpResponse:
    """The refused rows as xlsx: the file's columns and an error column, to fix and upload again."""
    _refuse_unless_importer(request)
    job = import_job_get(user=request.user, job_id=import_id)  # type: ignore[arg-type]
    headers, rows = failed_rows(job)
    return xlsx_response(f"import-{job.pk}-failed-rows", str(_("Failed rows")), headers, rows)


ExportKind = Literal["teams", "products", "customers", "deals", "actions"]


@router.get("/exports/full.zip", response={200: None, **ERRORS}, url_name="export_full")
def export_full(request: HttpRequest) -> Any:
    """Everything in one zip (docs/import-format.md, "the full export"): the settings as a template,
    the calendar, every kind in the import format, and a manifest of what is left out (secrets,
    evidence files, passwords). `import_data full` reads it back into an empty install. Admins only."""
    user: User = request.user  # type: ignore[assignment]
    if not (can_import(user) and is_admin(user)):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins may export everything."))])
    now = clock.now()
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    full_export(out, now=now)
    out.seek(0)
    name = f"salestrace-{timezone.localtime(now).strftime('%Y%m%d-%H%M')}.zip"
    return FileResponse(out, as_attachment=True, filename=name, content_type="application/zip")


@router.get("/exports/{kind}", response={200: None, **ERRORS}, url_name="export_csv")
def export_csv(request: HttpRequest, kind: ExportKind) -> Any:
    """Everything of one kind as CSV in the import format (UTF-8 with BOM; `import_data` and
    `POST /imports` read it back): teams (the users), products, customers, deals, actions. For
    admins and assistants; streamed, however large."""
    user: User = request.user  # type: ignore[assignment]
    if not can_import(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins and assistants may export data."))])
    response = StreamingHttpResponse(csv_lines(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
    return response
