"""Reads of imports: a job in the caller's sight, and the failed rows of a job for a spreadsheet."""

from __future__ import annotations

from django.utils.translation import gettext as _

from salestrace.core.errors import FieldError, NotFound
from salestrace.imports.compute import parse_money
from salestrace.imports.models import ImportJob
from salestrace.imports.progress import job_progress
from salestrace.imports.services import job_table
from salestrace.org.models import User
from salestrace.org.selectors import can_import, is_admin


def import_job_get(*, user: User, job_id: int) -> ImportJob:
    """An import job: admins see every one, assistants their own; others none (404). `checked_rows`
    is the live count while it runs."""
    jobs = ImportJob.objects.select_related("created_by").filter(pk=job_id)
    if not (can_import(user) and is_admin(user)):
        jobs = jobs.filter(created_by_id=user.pk) if can_import(user) else jobs.none()
    job = jobs.first()
    if job is None:
        raise NotFound([FieldError(None, "not_found", _("Import not found."))])
    job.checked_rows = job_progress(job)  # the live count while a large file is checked beside its writing
    return job


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """A cell a spreadsheet will show as text, never run: the file's own "=cmd|' /C calc'!A0" comes
    back with a leading apostrophe (OWASP's advice for CSV injection); plain numbers stay as they are."""
    if text.startswith(_FORMULA_STARTS) and parse_money(text.lstrip("-+")) is None:
        return "'" + text
    return text


def failed_rows(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    """The rows of the file that were refused, as (headers, rows): the file's columns (after the
    preset's transform) and one more saying what is wrong, column by column, to fix and re-upload."""
    problems: dict[int, list[str]] = {}
    for error in job.errors:
        where = f"{error['column']}: " if error["column"] else ""
        problems.setdefault(int(error["row"]), []).append(f"{where}{error['message']}")
    table = job_table(job)
    rows = [
        [*(inert(record.get(h, "")) for h in table.headers), inert("; ".join(problems[number]))]
        for number, record in table.records()
        if number in problems
    ]
    return [*table.headers, _("Error")], rows


RECENT_JOBS = 20


def import_jobs_recent(*, user: User) -> list[ImportJob]:
    """The latest imports the user may see (admins: everyone's; assistants: their own)."""
    jobs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-pk")
    if not is_admin(user):
        jobs = jobs.filter(created_by_id=user.pk)
    return list(jobs[:RECENT_JOBS])
