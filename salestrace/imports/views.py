"""导入 (the import wizard) for admins and assistants: upload a file → match its columns (saved
matchings, presets) → preview every row (a dry run) → import in the background with a progress bar →
the report, with the refused rows as a spreadsheet to fix and upload again."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salestrace.core import clock
from salestrace.core.errors import DomainError, NotFound
from salestrace.imports.models import ImportJob, ImportMapping, Kind
from salestrace.imports.presets import column_labels
from salestrace.imports.rules import FORMAT
from salestrace.imports.selectors import import_job_get, import_jobs_recent
from salestrace.imports.services import (
    import_commit_preview,
    import_configure,
    import_mapping_delete,
    import_size_check,
    import_upload,
    job_table,
    maven_zip_import,
)
from salestrace.org.models import User
from salestrace.org.selectors import can_import

# The presets the wizard offers; maven-crm takes a zip of the dataset's four files (any kind chosen).
WIZARD_PRESETS = ("salestrace", "salesforce", "hubspot", "maven-crm")
SAMPLE_ROWS = 3
ERRORS_SHOWN = 200


def _importer(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can_import(user):
        raise DjangoPermissionDenied
    return user


def _preset_labels() -> dict[str, str]:
    return {
        "salestrace": _("SalesTrace format (Chinese or English headers)"),
        "salesforce": _("Salesforce export"),
        "hubspot": _("HubSpot export"),
        "maven-crm": _("Maven CRM sample dataset (a zip of its four files)"),
    }


def _errors(exc: DomainError) -> dict[str, str]:
    return {e.field or "": str(e.message) for e in exc.errors}


def _job(user: User, job_id: int) -> ImportJob:
    try:
        return import_job_get(user=user, job_id=job_id)
    except NotFound:
        raise Http404 from None


@login_required
@require_http_methods(["GET", "POST"])
def imports_page(request: HttpRequest) -> HttpResponse:
    """Step 1: the kind, the preset and the file; the recent imports below."""
    user = _importer(request)
    errors: dict[str, str] = {}
    chosen = {"kind": request.POST.get("kind", Kind.CUSTOMERS), "preset": request.POST.get("preset", "salestrace")}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = {"file": _("Choose a file to upload.")}
        elif chosen["preset"] not in WIZARD_PRESETS:
            errors = {"preset": _("Unknown preset.")}
        else:
            try:
                import_size_check(upload.size)  # before the file is read into memory
                if chosen["preset"] == "maven-crm":
                    jobs = maven_zip_import(user=user, data=upload.read(), now=clock.now())
                    n = len(jobs)
                    messages.success(
                        request, _("%(n)d files queued: they are imported one after another below.") % {"n": n}
                    )
                    return redirect("imports:wizard")
                job = import_upload(
                    user=user,
                    kind=chosen["kind"],
                    filename=upload.name or "import.csv",
                    content=upload.read(),
                    now=clock.now(),
                    preset=chosen["preset"],
                )
                return redirect("imports:map", job_id=job.pk)
            except DomainError as exc:
                errors = _errors(exc)
    context = {
        "errors": errors,
        "chosen": chosen,
        "kinds": Kind.choices,
        "presets": _preset_labels(),
        "jobs": import_jobs_recent(user=user),
        "mappings": ImportMapping.objects.order_by("kind", "name"),
    }
    return render(request, "imports/wizard.html", context, status=422 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def map_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """Step 2: each header of the file matched to a column (or left out), with sample values;
    a saved matching applied; then preview or import."""
    user = _importer(request)
    job = _job(user, job_id)
    if job.status != ImportJob.Status.DRAFT:
        return redirect("imports:job", job_id=job.pk)
    table = job_table(job)
    mapping: dict[str, str] = dict(job.mapping)
    errors: dict[str, str] = {}
    saved = ImportMapping.objects.filter(kind=job.kind).order_by("name")
    if (use := request.GET.get("saved")) and (found := saved.filter(pk=use if use.isdigit() else 0).first()):
        mapping = {h: found.mapping.get(h, mapping.get(h, "")) for h in table.headers}
    if request.method == "POST":
        mapping = {h: request.POST.get(f"col-{i}", "") for i, h in enumerate(table.headers)}
        try:
            import_configure(
                user=user,
                job_id=job.pk,
                mapping=mapping,
                skip_bad_rows=request.POST.get("skip_bad_rows") == "on",
                dry_run=request.POST.get("do") != "import",
                now=clock.now(),
                save_as=request.POST.get("save_as", ""),
            )
        except DomainError as exc:
            errors = _errors(exc)
        else:
            return redirect("imports:job", job_id=job.pk)
    samples = [record for _number, record in zip(range(SAMPLE_ROWS), table.records(), strict=False)]
    labels = column_labels(job.kind) if get_language().startswith("zh") else {}
    rows = [
        {
            "index": i,
            "header": header,
            "column": mapping.get(header, ""),
            "samples": [sample[1].get(header, "") for sample in samples],
        }
        for i, header in enumerate(table.headers)
    ]
    context: dict[str, Any] = {
        "job": job,
        "rows": rows,
        "columns": [(c.name, labels.get(c.name, ""), c.required) for c in FORMAT[job.kind]],
        "saved": saved,
        "errors": errors,
        "kind_label": Kind(job.kind).label,
    }
    return render(request, "imports/map.html", context, status=422 if errors else 200)


def _job_context(job: ImportJob) -> dict[str, Any]:
    running = job.status in (ImportJob.Status.PENDING, ImportJob.Status.CHECKING, ImportJob.Status.WRITING)
    percent = int(100 * job.checked_rows / job.total_rows) if job.total_rows else (0 if running else 100)
    headers = {column: header for header, column in (job.mapping or {}).items() if column}
    return {
        "job": job,
        "running": running,
        "percent": percent,
        # Each problem names the file's own header beside the column it went into.
        "errors_shown": [e | {"header": headers.get(e["column"], "")} for e in job.errors[:ERRORS_SHOWN]],
        "kind_label": Kind(job.kind).label,
    }


@login_required
@require_GET
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """Steps 3 and 4: progress while the worker checks and writes, then the report."""
    user = _importer(request)
    job = _job(user, job_id)
    if job.status == ImportJob.Status.DRAFT:
        return redirect("imports:map", job_id=job.pk)
    template = "imports/_progress.html" if request.htmx else "imports/job.html"  # type: ignore[attr-defined]
    return render(request, template, _job_context(job))


@login_required
@require_POST
def commit_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """Import for real what a preview checked."""
    user = _importer(request)
    try:
        job = import_commit_preview(user=user, job_id=job_id, now=clock.now())
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, " ".join(_errors(exc).values()))
        return redirect("imports:job", job_id=job_id)
    return redirect("imports:job", job_id=job.pk)


@login_required
@require_POST
def mapping_delete_page(request: HttpRequest, mapping_id: int) -> HttpResponse:
    user = _importer(request)
    import_mapping_delete(user=user, mapping_id=mapping_id)
    return redirect("imports:wizard")
