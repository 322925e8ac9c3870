"""The only writers of imports: a job is created from an upload, then checked and committed.

Every row is written through the owning app's service (org, catalog, customers, actions), with
that service's checks and the importer's permission. A file commits whole or not at all; with
"skip bad rows" it commits exactly the rows that pass and reports the others.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import pickle
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from salestrace.actions.rules import ActionDraft
from salestrace.actions.services import ImportedAction, action_import_many
from salestrace.catalog.models import Option
from salestrace.catalog.pack_io import pack_parsed
from salestrace.catalog.selectors import catalog_snapshot
from salestrace.catalog.services import product_save
from salestrace.core.bulk import insert_with_ids, stored_datetime
from salestrace.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from salestrace.customers.selectors import duplicate_keys
from salestrace.customers.services import (
    CustomerInput,
    DealRecord,
    LockedCustomers,
    customer_import,
    customer_import_update,
    customers_follow_deals,
    deal_import,
    deal_import_update,
)
from salestrace.field.models import Promotion
from salestrace.field.promotion_services import RedemptionRow, member_import, redemptions_import_many, stock_import
from salestrace.field.selectors import plannable_stores
from salestrace.field.services import route_plans_import
from salestrace.imports.checker import CheckSpec, can_check_aside, parts_checked_aside
from salestrace.imports.compute import CsvStream, Sheet, UnreadableFile, option_lookup, read_table
from salestrace.imports.models import ExternalRef, ImportJob, ImportMapping, Kind
from salestrace.imports.presets import (
    MAVEN_FILES,
    PRESETS,
    Context,
    maven_account_owners,
    maven_placeholder_owners,
    maven_prices,
)
from salestrace.imports.progress import LiveProgress
from salestrace.imports.rules import FORMAT, CheckedPart, Row, RowError, checked_parts, header_mapping, missing_columns
from salestrace.notify.webhook_services import webhooks_muted
from salestrace.org.models import Team, User
from salestrace.org.selectors import can_import, can_log_actions, is_admin
from salestrace.org.services import team_import, user_import
from salestrace.todos.services import calendar_upload, company_day_off_set, pack_apply_definition

logger = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 10_000

UNREADABLE = {
    "encoding": _("The file is neither UTF-8 nor GB18030 text: save it as CSV (UTF-8) or xlsx."),
    "binary": _("The file is not a text CSV: save it as CSV (UTF-8) or xlsx."),
    "malformed": _("The file could not be read as CSV or xlsx."),
    "empty": _("The file has no rows."),
    "too_many_columns": _("The file has too many columns."),
}

# Service field names -> the import's column names, so a refusal names the column of the file.
FIELD_COLUMNS = {"owner_id": "owner", "customer_id": "customer_external_id", "deal_id": "deal_external_id"}


def _refuse_unless_importer(user: User) -> None:
    if not can_import(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins and assistants may import data."))])


def job_table(job: ImportJob) -> Sheet:
    """The job's file as the SalesTrace format's table (the preset's transform applied). A CSV file
    that needs no transform is read from disk row by row each time (memory flat, however long)."""
    name = job.file.name or ""

    def open_binary() -> BinaryIO:
        return cast(BinaryIO, job.file.storage.open(name, "rb"))

    transform = PRESETS[job.preset].transforms.get(job.kind)
    with open_binary() as handle:
        head = handle.read(2)
    is_xlsx = head == b"PK" or (job.original_name or name or "").lower().endswith(".xlsx")
    if transform is None and not is_xlsx:
        return CsvStream.open(open_binary)
    with open_binary() as handle:
        data = handle.read()
    table = read_table(data, job.original_name or name or "")
    if transform is not None:
        table = transform(table, Context(today=timezone.localdate(job.created_at), options=job.options))
    return table


def job_mapping(job: ImportJob, table: Sheet) -> dict[str, str]:
    """{header: column}: the preset's aliases, then the job's own mapping over them."""
    mapping = header_mapping(table.headers, job.kind, PRESETS[job.preset].aliases.get(job.kind, {}))
    for header, column in (job.mapping or {}).items():
        if header in table.headers:
            mapping = {h: c for h, c in mapping.items() if c != column and h != header}
            if column:
                mapping[header] = column
    return mapping


def _too_large() -> FieldError:
    return FieldError("file", "too_large", _("The file is too large."))


def import_size_check(size: int | None) -> None:
    """Refuse an upload over SALESTRACE_IMPORT_MAX_BYTES by the size it announces, before it is
    read into memory (the API and the wizard both call this first)."""
    if size is not None and size > settings.SALESTRACE_IMPORT_MAX_BYTES:
        raise InvalidInput([_too_large()])


def _job_from_upload(
    *,
    user: User,
    kind: str,
    filename: str,
    content: bytes,
    now: datetime,
    preset: str,
    options: Mapping[str, Any] | None,
    **fields: Any,
) -> tuple[ImportJob, Sheet]:
    """An unsaved job with its file stored and read; refused (nothing kept) when it cannot be."""
    _refuse_unless_importer(user)
    errors: list[FieldError] = []
    if kind not in Kind.values:
        errors.append(FieldError("kind", "invalid_choice", _("Unknown kind of import.")))
    if preset not in PRESETS:
        errors.append(FieldError("preset", "invalid_choice", _("Unknown preset.")))
    if len(content) > settings.SALESTRACE_IMPORT_MAX_BYTES:
        errors.append(_too_large())
    elif (content[:2] == b"PK" or filename.lower().endswith(".xlsx")) and len(
        content
    ) > settings.SALESTRACE_IMPORT_XLSX_MAX_BYTES:
        message = _("The workbook is too large to read: save it as CSV (UTF-8), which has no such limit.")
        errors.append(FieldError("file", "too_large", message))
    if errors:
        raise InvalidInput(errors)
    job = ImportJob(
        created_by=user,
        kind=kind,
        preset=preset,
        original_name=filename[-255:],
        options=dict(options or {}),
        created_at=now,
        **fields,
    )
    job.file.save(filename or "import.csv", ContentFile(content), save=False)
    try:
        table = job_table(job)
    except UnreadableFile as exc:
        job.file.delete(save=False)
        raise RuleViolation([FieldError("file", exc.code, UNREADABLE[exc.code])]) from None
    job.encoding, job.total_rows = table.encoding, table.count()
    return job, table


def _refuse_missing(job: ImportJob, used: Mapping[str, str], *, delete: bool) -> None:
    if missing := missing_columns(job.kind, used):
        if delete:
            job.file.delete(save=False)
        message = _("Required columns are missing: %(columns)s.") % {"columns": ", ".join(missing)}
        raise RuleViolation([FieldError("file", "missing_columns", message)])


@transaction.atomic
def import_job_create(
    *,
    user: User,
    kind: str,
    filename: str,
    content: bytes,
    now: datetime,
    preset: str = "salestrace",
    mapping: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    skip_bad_rows: bool = False,
    dry_run: bool = False,
    run_in_background: bool = True,
) -> ImportJob:
    """A new import of one file; refused at once (nothing kept) when the file cannot be read or
    lacks a required column. Queued for the worker after the commit unless `run_in_background`
    is False (the caller then calls `import_run`)."""
    job, table = _job_from_upload(
        user=user,
        kind=kind,
        filename=filename,
        content=content,
        now=now,
        preset=preset,
        options=options,
        mapping=dict(mapping or {}),
        skip_bad_rows=skip_bad_rows,
        dry_run=dry_run,
    )
    used = job_mapping(job, table)
    _refuse_missing(job, used, delete=True)
    job.mapping = used
    job.save()
    if run_in_background:
        _queue(job)
    return job


def _queue(job: ImportJob) -> None:
    from salestrace.imports.tasks import import_run_task

    transaction.on_commit(lambda: import_run_task(job.pk))


# --- the wizard: upload, match the columns, preview (a dry run), import ------------------------------


@transaction.atomic
def import_upload(
    *, user: User, kind: str, filename: str, content: bytes, now: datetime, preset: str = "salestrace"
) -> ImportJob:
    """The wizard's first step: the file kept as a draft with the columns matched as the preset
    would match them, for the importer to check; nothing is checked row by row yet."""
    job, table = _job_from_upload(
        user=user,
        kind=kind,
        filename=filename,
        content=content,
        now=now,
        preset=preset,
        options=None,
        status=ImportJob.Status.DRAFT,
    )
    job.mapping = job_mapping(job, table)
    job.save()
    return job


def _draft(user: User, job_id: int) -> ImportJob:
    job = ImportJob.objects.select_for_update().filter(pk=job_id, created_by=user).first()
    if job is None:
        raise NotFound([FieldError(None, "not_found", _("Import not found."))])
    if job.status != ImportJob.Status.DRAFT:
        message = _("This import has already started; upload the file again to change its columns.")
        raise Conflict([FieldError(None, "started", message)])
    return job


@transaction.atomic
def import_configure(
    *,
    user: User,
    job_id: int,
    mapping: Mapping[str, str],
    skip_bad_rows: bool,
    dry_run: bool,
    now: datetime,
    save_as: str = "",
) -> ImportJob:
    """The wizard's second step: the importer's matching of every header (a column of the format, or
    "" to leave it out) is checked, optionally kept under a name, and the import queued (a dry run
    is the preview: every row checked, nothing written)."""
    _refuse_unless_importer(user)
    job = _draft(user, job_id)
    table = job_table(job)
    columns = {c.name for c in FORMAT[job.kind]}
    chosen = {h: c for h, c in mapping.items() if h in table.headers}
    errors: list[FieldError] = []
    if unknown := sorted({c for c in chosen.values() if c and c not in columns}):
        errors.append(FieldError("mapping", "invalid_choice", _("No such column: %(c)s.") % {"c": ", ".join(unknown)}))
    used = [c for c in chosen.values() if c]
    if twice := sorted({c for c in used if used.count(c) > 1}):
        message = _("Each column may be matched once; matched more than once: %(c)s.") % {"c": ", ".join(twice)}
        errors.append(FieldError("mapping", "duplicate", message))
    if errors:
        raise RuleViolation(errors)
    _refuse_missing(job, {h: c for h, c in chosen.items() if c}, delete=False)
    if save_as.strip():
        ImportMapping.objects.update_or_create(
            kind=job.kind,
            name=save_as.strip()[:100],
            defaults={"mapping": chosen, "preset": job.preset, "created_by": user, "updated_at": now},
        )
    job.mapping = chosen  # "" leaves a header out, even one the preset would have matched
    job.skip_bad_rows, job.dry_run, job.status = skip_bad_rows, dry_run, ImportJob.Status.PENDING
    job.save(update_fields=["mapping", "skip_bad_rows", "dry_run", "status"])
    _queue(job)
    return job


@transaction.atomic
def import_commit_preview(*, user: User, job_id: int, now: datetime) -> ImportJob:
    """After a preview (a finished dry run): the same file, columns and choices imported for real,
    as a new job (the preview stays in the list as it was)."""
    _refuse_unless_importer(user)
    preview = ImportJob.objects.filter(pk=job_id, created_by=user).first()
    if preview is None:
        raise NotFound([FieldError(None, "not_found", _("Import not found."))])
    if not preview.dry_run or preview.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        raise Conflict([FieldError(None, "not_a_preview", _("Only a finished preview can be imported."))])
    with preview.file.open("rb") as handle:
        content = handle.read()
    return import_job_create(
        user=user,
        kind=preview.kind,
        filename=preview.original_name or "import.csv",
        content=content,
        now=now,
        preset=preview.preset,
        mapping=preview.mapping,
        options=preview.options,
        skip_bad_rows=preview.skip_bad_rows,
    )


def import_mapping_delete(*, user: User, mapping_id: int) -> None:
    _refuse_unless_importer(user)
    ImportMapping.objects.filter(pk=mapping_id).delete()


def _option_lookups() -> dict[str, dict[str, str]]:
    found: dict[str, list[tuple[str, str, str]]] = {}
    for set_code, code, zh, en in Option.objects.filter(is_active=True).values_list(
        "option_set__code", "code", "label_zh", "label_en"
    ):
        found.setdefault(set_code, []).append((code, zh, en))
    return {set_code: option_lookup(options) for set_code, options in found.items()}


def _save(job: ImportJob, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


class _Rollback(Exception):
    """Leaves the write transaction without keeping anything (a dry run, or a refused file)."""


def import_run(*, job_id: int, now: datetime) -> ImportJob:
    """Check every row of a pending job, then write the good ones in one transaction (all of them,
    or none when one is bad and bad rows are not skipped; nothing at all in a dry run).

    Progress (`checked_rows`) is saved while rows are checked (imports.progress while a large file is
    checked beside its writing); the write is one transaction, so its rows appear together. A job
    already claimed by another worker is left alone."""
    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.CHECKING, started_at=now
    ):
        return ImportJob.objects.get(pk=job_id)
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    with translation.override(job.created_by.message_language):
        try:
            return _run(job, now=now)
        except UnreadableFile as exc:
            _save(job, status=ImportJob.Status.FAILED, message=str(UNREADABLE[exc.code]), finished_at=timezone.now())
            return job
        except Exception:
            # Nothing was kept (the write is one transaction); the job must not stay "writing".
            logger.exception("import %s failed", job.pk)
            message = str(_("The import stopped on an unexpected error; nothing was written."))
            _save(job, status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now())
            raise


class _CheckedRows:
    """The rows that passed their checks, kept in a temporary file a part at a time between the
    check and the write (pickled), so an import of a million rows holds one part, not the file."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()

    def add(self, rows: list[Row]) -> None:
        if rows:
            pickle.dump(rows, self.file, protocol=pickle.HIGHEST_PROTOCOL)

    def chunks(self) -> Iterator[list[Row]]:
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)  # noqa: S301 - our own file, written just before
            except EOFError:
                return

    def close(self) -> None:
        self.file.close()


WRITE_CHUNK = 2000


def _run(job: ImportJob, *, now: datetime) -> ImportJob:
    table = job_table(job)
    mapping = job_mapping(job, table)
    lookups = _option_lookups()
    spec = _spec_to_check_aside(job, table, mapping, lookups)
    if spec is not None:
        return _check_while_writing(job, spec, now=now)
    checked = _CheckedRows()
    try:
        return _check_then_write(job, table, mapping, lookups, checked, now=now)
    finally:
        checked.close()


def _spec_to_check_aside(
    job: ImportJob, table: Sheet, mapping: dict[str, str], lookups: dict[str, dict[str, str]]
) -> CheckSpec | None:
    """What a child process needs to check this file while the worker writes (imports.checker): for a
    CSV on local disk of at least SALESTRACE_IMPORT_CHECK_ASIDE_MIN_BYTES, where a second CPU can do it; else None."""
    if not isinstance(table, CsvStream) or not can_check_aside():
        return None
    try:
        path = job.file.path
    except NotImplementedError:  # a storage without local files: the worker checks it itself
        return None
    if job.file.size < settings.SALESTRACE_IMPORT_CHECK_ASIDE_MIN_BYTES:
        return None
    fields = {"kind": job.kind, "mapping": mapping, "options": lookups, "size": WRITE_CHUNK}
    return CheckSpec.of(table, path, language=translation.get_language() or settings.LANGUAGE_CODE, **fields)


def _check_then_write(
    job: ImportJob,
    table: Sheet,
    mapping: dict[str, str],
    lookups: dict[str, dict[str, str]],
    checked: _CheckedRows,
    *,
    now: datetime,
) -> ImportJob:
    """Every row checked (progress saved on the job as it goes), then the good ones written."""
    errors: list[RowError] = []
    total = 0
    for part in checked_parts(table.records(), kind=job.kind, mapping=mapping, options=lookups, size=WRITE_CHUNK):
        errors += part.errors
        checked.add(part.rows)
        total = part.read
        _save(job, checked_rows=total)
    _save(job, total_rows=total, status=ImportJob.Status.WRITING)
    writer, counts = _write_all(job, checked.chunks(), errors, now=now)
    return _finished(job, writer, counts, errors, total)


def _check_while_writing(job: ImportJob, spec: CheckSpec, *, now: datetime) -> ImportJob:
    """Each part of the file written as soon as the child has checked it, in the one transaction:
    a refused row still rolls it all back (unless bad rows are skipped), after every row was checked
    and tried, as `_check_then_write` does. Progress goes to imports.progress meanwhile."""
    errors: list[RowError] = []
    read = 0
    progress = LiveProgress(job)

    def checked_rows(parts: Iterator[CheckedPart]) -> Iterator[list[Row]]:
        nonlocal read
        for part in parts:
            errors.extend(part.errors)
            read = part.read
            yield part.rows
            progress.put(read)

    try:
        with parts_checked_aside(spec) as parts:
            # The first part received before the transaction opens: on SQLite it takes the write
            # lock at once (IMMEDIATE), which others should not wait on while the child starts.
            first = next(parts, None)
            batches = checked_rows(itertools.chain([first] if first is not None else [], parts))
            writer, counts = _write_all(job, batches, errors, now=now)
        return _finished(job, writer, counts, errors, read)
    finally:
        progress.clear()  # after the row has its final count, so the page never drops back to 0


def _write_all(
    job: ImportJob, batches: Iterator[list[Row]], errors: list[RowError], *, now: datetime
) -> tuple[Writer, dict[str, int]]:
    """The checked rows written in one transaction, kept only when no row was refused (or bad rows
    are skipped) and it is not a dry run; what a writer refuses joins `errors`."""
    writer = WRITERS[job.kind](importer=job.created_by, source=PRESETS[job.preset].source, now=now)
    counts: dict[str, int] = {"created": 0, "updated": 0, "unchanged": 0}
    try:
        with transaction.atomic(), webhooks_muted():
            writer.prepare()
            for rows in batches:
                _write_rows(job, writer, rows, counts, errors)
            writer.finish()
            if (errors and not job.skip_bad_rows) or job.dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return writer, counts


def _write_rows(
    job: ImportJob, writer: Writer, rows: list[Row], counts: dict[str, int], errors: list[RowError]
) -> None:
    """Checked rows written (inside the import's transaction); what a writer refuses joins `errors`."""
    if isinstance(writer, SetWriter):
        # Set-based: the rows were checked one by one, they are written a chunk at a time, and a
        # refused row writes nothing, so none needs a savepoint of its own.
        chunk_counts, chunk_errors = writer.write_many(rows)
        for key, n in chunk_counts.items():
            counts[key] += n
        errors += chunk_errors
        return
    for row in rows:
        try:
            # A row's own savepoint only where its failure must leave the others written: without
            # skipping, any failure rolls the whole file back (services refuse before they write, so
            # the rows after it are still checked as they would be).
            if job.skip_bad_rows:
                with transaction.atomic():
                    counts[writer.write(row)] += 1
            else:
                counts[writer.write(row)] += 1
        except DomainError as exc:
            errors += [_row_error(row, e) for e in exc.errors]
        except ObjectDoesNotExist:
            # An id imported before whose row has since been deleted.
            gone = _("What this id was imported as no longer exists; give it a new id.")
            errors.append(RowError(row.number, "", "", "gone", gone))


def _finished(job: ImportJob, writer: Writer, counts: dict[str, int], errors: list[RowError], total: int) -> ImportJob:
    failed_rows = len({e.row for e in errors})
    written = not errors or job.skip_bad_rows
    status = ImportJob.Status.DONE if written else ImportJob.Status.FAILED
    message = "" if written else str(_("Nothing was imported: correct the rows below, or skip bad rows."))
    errors.sort(key=lambda e: (e.row, e.column))
    _save(
        job,
        status=status,
        message=message,
        checked_rows=total,
        total_rows=total,
        created_count=counts["created"] if written else 0,
        updated_count=counts["updated"] if written else 0,
        skipped_count=counts["unchanged"] if written else 0,
        failed_count=failed_rows,
        errors=[e.as_dict() for e in errors[:MAX_ERRORS_KEPT]],
        duplicates=writer.duplicates[:MAX_ERRORS_KEPT] if written else [],
        finished_at=timezone.now(),
    )
    return job


def _row_error(row: Row, error: FieldError) -> RowError:
    column = FIELD_COLUMNS.get(error.field or "", error.field or "")
    return RowError(row.number, column, str(row.values.get(column, "") or ""), error.code, str(error.message))


def _refuse(column: str, value: str, code: str, message: Any) -> RuleViolation:
    return RuleViolation([FieldError(column, code, message)])


@dataclass
class Writer:
    """Writes one kind's rows through the owning service; `write` returns "created", "updated"
    or "unchanged", or raises a DomainError naming the column."""

    importer: User
    source: str
    now: datetime
    users: dict[str, User] = field(default_factory=dict)
    refs: dict[tuple[str, str], int] = field(default_factory=dict)
    # Rows that named a customer already here, linked to it instead of creating a second copy.
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    linked: set[tuple[str, str]] = field(default_factory=set)

    # The kinds of ids this writer looks up in memory (an actions import does not hold a million
    # action ids: it asks for each chunk's).
    ref_kinds: tuple[str, ...] = (Kind.TEAMS, Kind.PRODUCTS, Kind.CUSTOMERS, Kind.DEALS, Kind.ACTIONS)

    def prepare(self) -> None:
        self.users = {u.username: u for u in User.objects.filter(is_active=True)}
        self.refs, self.linked = {}, set()
        for kind, ext, pk, linked in ExternalRef.objects.filter(
            source=self.source, kind__in=self.ref_kinds
        ).values_list("kind", "external_id", "object_id", "linked"):
            self.refs[(kind, ext)] = pk
            if linked:
                self.linked.add((kind, ext))

    def write(self, row: Row) -> str:
        raise NotImplementedError

    def finish(self) -> None:
        return None

    def user(self, username: str, column: str) -> User:
        if (user := self.users.get(username)) is None:
            message = _("No active user has this username; import the users first, or correct it.")
            raise _refuse(column, username, "unknown_user", message)
        return user

    def ref(self, kind: str, external_id: str, column: str) -> int:
        if (pk := self.refs.get((kind, external_id))) is None:
            message = _("No %(kind)s with this id was imported; import them first, or correct it.")
            raise _refuse(column, external_id, "unknown_id", message % {"kind": str(Kind(kind).label).lower()})
        return pk

    def remember(self, kind: str, external_id: str, pk: int, *, linked: bool = False) -> None:
        ExternalRef.objects.create(
            kind=kind, source=self.source, external_id=external_id, object_id=pk, linked=linked, created_at=self.now
        )
        self.refs[(kind, external_id)] = pk
        if linked:
            self.linked.add((kind, external_id))


class TeamsWriter(Writer):
    teams: dict[tuple[int | None, str], Team]

    def prepare(self) -> None:
        super().prepare()
        self.teams = {(t.parent_id, t.name): t for t in Team.objects.all()}
        self.by_name: dict[str, list[Team]] = {}
        for t in self.teams.values():
            self.by_name.setdefault(t.name, []).append(t)

    def team(self, name: str, parent: Team | None, kind: str) -> Team:
        key = (parent.pk if parent else None, name)
        if key not in self.teams:
            # A file names two levels; a team of that name already in the tree (under the parent
            # named, or anywhere when none is) is the one meant: re-importing an export of a deeper
            # tree must not grow a second "East" beside the one under the company.
            known = [t for t in self.by_name.get(name, []) if parent is None or t.parent_id == parent.pk]
            if len(known) == 1:
                return known[0]
            self.teams[key] = team_import(by=self.importer, name=name, parent=parent, kind=kind)
            self.by_name.setdefault(name, []).append(self.teams[key])
        return self.teams[key]

    def write(self, row: Row) -> str:
        v = row.values
        parent = self.team(v["parent_team"], None, Team.Kind.REGION) if v["parent_team"] else None
        team = self.team(v["team"], parent, Team.Kind.TEAM) if v["team"] else parent
        user, result = user_import(
            by=self.importer,
            username=v["username"],
            display_name=v["display_name"],
            role=v["role"],
            team=team,
            email=v["email"],
        )
        self.users[user.username] = user
        return result


class ProductsWriter(Writer):
    def write(self, row: Row) -> str:
        v = row.values
        _product, result = product_save(
            name=v["name"], series=v["series"], list_price=v["list_price"], currency=v["currency"], now=self.now
        )
        return result


class CustomersWriter(Writer):
    def prepare(self) -> None:
        super().prepare()
        self.first_stage = (catalog_snapshot().stage_order or ("lead",))[0]
        self.keys = duplicate_keys()

    def write(self, row: Row) -> str:
        v = row.values
        owner = self.user(v["owner"], "owner") if v["owner"] else None
        data = CustomerInput(
            name=v["name"],
            kind=v["kind"] or "lead",
            region=v["region"],
            city=v["city"],
            industry=v["industry"],
            stage=self.first_stage,
            owner_id=owner.pk if owner else None,
            phones=v["phones"],
            address=v["address"],
            credit_code=v["credit_code"],
            contacts=v["contacts"],
        )
        existing = self.refs.get((Kind.CUSTOMERS, v["external_id"]))
        identity = {"name": v["name"], "phones": v["phones"], "credit_code": v["credit_code"]}
        if existing is not None and (Kind.CUSTOMERS, v["external_id"]) in self.linked:
            self._linked(row, existing, (self.keys.match(**identity) or (existing, "name"))[1])
            return "unchanged"
        if existing is not None:
            changed = customer_import_update(user=self.importer, customer_id=existing, data=data, now=self.now)
            return "updated" if changed else "unchanged"
        if (found := self.keys.match(**identity)) is not None:
            # Already here (typed in by a rep, or an earlier row of this file): never a second copy.
            # The row's id now names that customer, so its deals and actions find it; nothing else
            # changes, now or on a re-import.
            pk, reason = found
            self.remember(Kind.CUSTOMERS, v["external_id"], pk, linked=True)
            self._linked(row, pk, reason)
            return "unchanged"
        customer = customer_import(user=self.importer, data=data, now=self.now)
        self.remember(Kind.CUSTOMERS, v["external_id"], customer.pk)
        self.keys.add(customer.pk, **identity)
        return "created"

    def _linked(self, row: Row, pk: int, reason: str) -> None:
        self.duplicates.append(
            {
                "row": row.number,
                "external_id": row.values["external_id"],
                "customer_id": pk,
                "name": self.keys.names.get(pk, ""),
                "reason": reason,
            }
        )


class DealsWriter(Writer):
    touched: set[int]
    first_stage: str

    def prepare(self) -> None:
        super().prepare()
        self.touched = set()
        self.first_stage = (catalog_snapshot().stage_order or ("lead",))[0]

    def write(self, row: Row) -> str:
        v = row.values
        customer_id = self.ref(Kind.CUSTOMERS, v["customer_external_id"], "customer_external_id")
        owner = self.user(v["owner"], "owner")
        data = DealRecord(
            title=v["title"] or v["product"] or v["external_id"],
            owner_id=owner.pk,
            engaged_on=v["engaged_on"],
            stage=v["stage"] or self.first_stage,
            outcome=v["outcome"],
            closed_on=v["closed_on"],
            product=v["product"],
            amount=v["amount"] if v["amount"] is not None else Decimal("0.00"),
            currency=v["currency"] or "CNY",
            expected_close=v["expected_close"],
            lost_reason=v["lost_reason"],
        )
        self.touched.add(customer_id)
        existing = self.refs.get((Kind.DEALS, v["external_id"]))
        if existing is not None:
            changed = deal_import_update(user=self.importer, deal_id=existing, data=data, now=self.now, follow=False)
            return "updated" if changed else "unchanged"
        deal = deal_import(user=self.importer, customer_id=customer_id, data=data, now=self.now, follow=False)
        self.remember(Kind.DEALS, v["external_id"], deal.pk)
        return "created"

    def finish(self) -> None:
        customers_follow_deals(customer_ids=self.touched, now=self.now)


class SetWriter(Writer):
    """A writer that writes a chunk of rows at a time (`write_many`); a refused row writes nothing,
    so no row needs a savepoint of its own. `write` is one row as a chunk of one."""

    def write(self, row: Row) -> str:
        counts, errors = self.write_many([row])
        if errors:
            raise RuleViolation([FieldError(e.column, e.code, e.message) for e in errors])
        return next(result for result, n in counts.items() if n)

    def write_many(self, rows: Sequence[Row]) -> tuple[dict[str, int], list[RowError]]:
        raise NotImplementedError


LOCKED_CUSTOMERS_KEPT = 50_000


class ActionsWriter(SetWriter):
    CHUNK = WRITE_CHUNK
    ref_kinds = (Kind.CUSTOMERS, Kind.DEALS)

    def prepare(self) -> None:
        super().prepare()
        # The customers this import's transaction has locked, as `action_import_many` keeps them.
        self.locked = LockedCustomers()

    def finish(self) -> None:
        self.locked.flush()

    def _known(self, external_ids: list[str]) -> set[str]:
        """Which of these action ids an earlier import wrote. Plain SQL: the ORM's IN (…) would
        prepare each of a chunk's thousands of values through the field, a million times a file."""
        table = connection.ops.quote_name(ExternalRef._meta.db_table)
        where = "kind = %s AND source = %s AND external_id "
        params: list[Any] = [Kind.ACTIONS.value, self.source]
        if connection.vendor == "postgresql":
            where, params = where + "= ANY(%s)", [*params, external_ids]
        else:
            where, params = where + f"IN ({', '.join(['%s'] * len(external_ids))})", [*params, *external_ids]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT external_id FROM {table} WHERE {where}", params)  # noqa: S608 - our table
            return {external_id for (external_id,) in cursor.fetchall()}

    def write_many(self, rows: Sequence[Row]) -> tuple[dict[str, int], list[RowError]]:
        """Resolve each row's ids, then check and write them all through `action_import_many`."""
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        errors: list[RowError] = []
        items: list[ImportedAction] = []
        by_number: dict[int, Row] = {}
        known = self._known([r.values["external_id"] for r in rows])
        for row in rows:
            v = row.values
            if v["external_id"] in known:
                counts["unchanged"] += 1  # a logged action changes only through an edit, which is kept
                continue
            try:
                customer_id = self.ref(Kind.CUSTOMERS, v["customer_external_id"], "customer_external_id")
                deal_id = (
                    self.ref(Kind.DEALS, v["deal_external_id"], "deal_external_id") if v["deal_external_id"] else None
                )
                rep = self.user(v["rep"], "rep")
            except DomainError as exc:
                errors += [_row_error(row, e) for e in exc.errors]
                continue
            draft_fields = {k: v[k] for k in ActionDraft.__dataclass_fields__ if k != "occurred_at"}
            draft = ActionDraft(occurred_at=_aware(v["occurred_at"]), **draft_fields)
            logged_at = _aware(v["logged_at"]) if v["logged_at"] else None
            items.append(ImportedAction(row.number, rep, customer_id, deal_id, draft, logged_at))
            by_number[row.number] = row
        if len(self.locked.rows) > LOCKED_CUSTOMERS_KEPT:
            self.locked.forget()  # memory stays flat: those dropped are read again when named again
        written, refused = action_import_many(user=self.importer, items=items, now=self.now, locked=self.locked)
        for number, problems in sorted(refused.items()):
            errors += [_row_error(by_number[number], e) for e in problems]
        created_at = stored_datetime(self.now)
        refs = [
            {
                "kind": Kind.ACTIONS.value,
                "source": self.source,
                "external_id": by_number[number].values["external_id"],
                "object_id": pk,
                "linked": False,
                "created_at": created_at,
            }
            for number, pk in written.items()
        ]
        insert_with_ids(ExternalRef, refs)
        counts["created"] += len(written)
        return counts, errors


def _aware(value: datetime) -> datetime:
    """A time from a file without an offset is Asia/Shanghai wall-clock time."""
    # What timezone.make_aware does with a zoneinfo zone, without its checks (two per row).
    return value.replace(tzinfo=timezone.get_default_timezone()) if value.tzinfo is None else value


class RoutesWriter(Writer):
    """Route plans: rows are gathered per (rep, day) in file order (or by `position`), then each
    day named is replaced whole when the file is written."""

    ref_kinds = (Kind.CUSTOMERS,)

    def prepare(self) -> None:
        super().prepare()
        self.plans: dict[tuple[int, date], list[tuple[int, int]]] = {}
        self.allowed: dict[int, set[int]] = {}

    def write(self, row: Row) -> str:
        v = row.values
        rep = self.user(v["rep"], "rep")
        customer_id = self.ref(Kind.CUSTOMERS, v["customer_external_id"], "customer_external_id")
        if rep.pk not in self.allowed:
            self.allowed[rep.pk] = set(plannable_stores(rep).values_list("pk", flat=True))
        if customer_id not in self.allowed[rep.pk]:
            message = _("This rep may not visit this store (it is not theirs, or it is lost).")
            raise _refuse("customer_external_id", v["customer_external_id"], "not_allowed", message)
        self.plans.setdefault((rep.pk, v["day"]), []).append((v["position"] or row.number, customer_id))
        return "created"

    def finish(self) -> None:
        ordered = {key: [c for _n, c in sorted(stops)] for key, stops in self.plans.items()}
        route_plans_import(user=self.importer, plans=ordered, now=self.now)


class MembersWriter(Writer):
    def write(self, row: Row) -> str:
        v = row.values
        return member_import(user=self.importer, phone=v["phone"], level=v["level"], name=v["name"], now=self.now)


class StockWriter(Writer):
    ref_kinds = (Kind.CUSTOMERS,)

    def write(self, row: Row) -> str:
        v = row.values
        store_id = self.ref(Kind.CUSTOMERS, v["store_external_id"], "store_external_id")
        as_of = _aware(v["as_of"]) if v["as_of"] else self.now
        return stock_import(
            user=self.importer, store_id=store_id, product=v["product"], quantity=v["quantity"], as_of=as_of
        )


class RedemptionsWriter(SetWriter):
    """The POS's redemptions, set-based: each chunk's promotions and stores resolved in memory, then
    written in one set (new ids created, known ones updated)."""

    ref_kinds = (Kind.CUSTOMERS,)

    def prepare(self) -> None:
        super().prepare()
        self.promotions: dict[str, list[Promotion]] = {}
        for promotion in Promotion.objects.prefetch_related("stores"):
            self.promotions.setdefault(promotion.name, []).append(promotion)
        self.stores_of = {p.pk: {s.pk for s in p.stores.all()} for ps in self.promotions.values() for p in ps}

    def _row(self, row: Row) -> RedemptionRow:
        v = row.values
        store_id = self.ref(Kind.CUSTOMERS, v["store_external_id"], "store_external_id")
        named = self.promotions.get(v["promotion"], [])
        running = [p for p in named if p.starts_on <= v["day"] <= p.ends_on and store_id in self.stores_of[p.pk]]
        if not named:
            raise _refuse("promotion", v["promotion"], "unknown_promotion", _("No promotion has this name."))
        if len(running) != 1:
            message = _("No promotion of this name runs at this store on this day.")
            if len(running) > 1:
                message = _("Several promotions of this name run at this store on this day: rename one.")
            raise _refuse("promotion", v["promotion"], "not_running", message)
        return RedemptionRow(running[0].pk, store_id, v["day"], v["receipts"], v["discount"], v["external_id"])

    def write_many(self, rows: Sequence[Row]) -> tuple[dict[str, int], list[RowError]]:
        ready: list[RedemptionRow] = []
        errors: list[RowError] = []
        for row in rows:
            try:
                ready.append(self._row(row))
            except DomainError as exc:
                errors += [_row_error(row, e) for e in exc.errors]
        counts = redemptions_import_many(user=self.importer, rows=ready, now=self.now) if ready else {}
        return counts, errors


WRITERS: dict[str, Callable[..., Writer]] = {
    Kind.TEAMS: TeamsWriter,
    Kind.PRODUCTS: ProductsWriter,
    Kind.CUSTOMERS: CustomersWriter,
    Kind.DEALS: DealsWriter,
    Kind.ACTIONS: ActionsWriter,
    Kind.ROUTES: RoutesWriter,
    Kind.REDEMPTIONS: RedemptionsWriter,
    Kind.MEMBERS: MembersWriter,
    Kind.STOCK: StockWriter,
}


def maven_folder_import(
    *, user: User, folder: Path, now: datetime, skip_bad_rows: bool = False, dry_run: bool = False
) -> list[ImportJob]:
    """The four files of a maven-crm folder, imported in order (people and teams, products,
    accounts, opportunities), each a job of its own, as `import_set_run` runs a set; a dry run
    writes nothing of any of them.

    The accounts name no owner: each goes to the agent with most opportunities on it (one with none
    to the importing admin); agents whose opportunities name no account get one placeholder customer
    each (presets.maven_customers)."""
    _refuse_unless_importer(user)
    paths = {kind: folder / name for kind, name in MAVEN_FILES}
    if missing := [p.name for p in paths.values() if not p.is_file()]:
        message = _("Files missing from the folder: %(files)s.") % {"files": ", ".join(missing)}
        raise InvalidInput([FieldError("folder", "missing_files", message)])
    jobs: list[ImportJob] = []
    try:
        with transaction.atomic():
            files = {kind: path.read_bytes() for kind, path in paths.items()}
            created = _maven_jobs(user=user, files=files, now=now, skip_bad_rows=skip_bad_rows)
            jobs = import_set_run(job_ids=[job.pk for job in created], now=now)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return jobs


def _maven_jobs(*, user: User, files: Mapping[str, bytes], now: datetime, skip_bad_rows: bool) -> list[ImportJob]:
    """The four jobs of a maven-crm set, in the order they must run, with the options its files
    give each other (the accounts' owners and the products' prices come from the other files)."""
    names = dict(MAVEN_FILES)
    pipeline = read_table(files[Kind.DEALS], names[Kind.DEALS])
    products = read_table(files[Kind.PRODUCTS], names[Kind.PRODUCTS])
    options: dict[str, dict[str, Any]] = {
        Kind.CUSTOMERS: {
            "account_owners": maven_account_owners(pipeline),
            # Accounts without opportunities: the importing admin holds them (an assistant cannot).
            "default_owner": user.username if can_log_actions(user) else "",
            "placeholder_owners": maven_placeholder_owners(pipeline),
        },
        Kind.DEALS: {"product_prices": maven_prices(products)},
    }
    return [
        import_job_create(
            user=user,
            kind=kind,
            filename=name,
            content=files[kind],
            now=now,
            preset="maven-crm",
            options=options.get(kind, {}),
            skip_bad_rows=skip_bad_rows,
            run_in_background=False,
        )
        for kind, name in MAVEN_FILES
    ]


def _zip_read(archive: zipfile.ZipFile, member: str | zipfile.ZipInfo) -> bytes:
    """A member's bytes as they were packed, or a refusal: a damaged member (its data no longer
    matches its checksum, or does not inflate), an encrypted one, or one packed in a way not read."""
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError):
        name = member.filename if isinstance(member, zipfile.ZipInfo) else member
        message = _("This zip cannot be read: %(file)s in it is damaged or encrypted.") % {"file": name}
        raise RuleViolation([FieldError("file", "damaged", message)]) from None


def maven_zip_import(*, user: User, data: bytes, now: datetime, skip_bad_rows: bool = False) -> list[ImportJob]:
    """The wizard's maven-crm preset: a zip of the dataset's four files (at its top or in one
    folder; its data dictionary may come along) becomes four jobs, run in order by the worker —
    each as `import_run` runs a job, the first one refused leaving the rest unrun and saying why.
    The zip is checked before anything is kept: a file missing, or one larger than an import may
    be (a zip bomb), refuses it whole; other files in it are left alone."""
    _refuse_unless_importer(user)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile:
        raise RuleViolation([FieldError("file", "malformed", _("This is not a zip file."))]) from None
    wanted = {name: kind for kind, name in MAVEN_FILES}
    found: dict[str, zipfile.ZipInfo] = {}
    for info in members:
        base = info.filename.rsplit("/", 1)[-1]
        if base in wanted and info.filename.count("/") <= 1:
            found[wanted[base]] = info
    if missing := [name for kind, name in MAVEN_FILES if kind not in found]:
        message = _("Files missing from the zip: %(files)s.") % {"files": ", ".join(missing)}
        raise RuleViolation([FieldError("file", "missing_files", message)])
    limit = settings.SALESTRACE_IMPORT_MAX_BYTES
    if any(info.file_size > limit for info in found.values()):
        raise RuleViolation([_too_large()])
    files = {kind: _zip_read(archive, info) for kind, info in found.items()}
    with transaction.atomic():
        jobs = _maven_jobs(user=user, files=files, now=now, skip_bad_rows=skip_bad_rows)
        ids = [job.pk for job in jobs]

        def queue() -> None:
            from salestrace.imports.tasks import import_set_task

            import_set_task(ids)

        transaction.on_commit(queue)
    return jobs


def import_set_run(*, job_ids: Sequence[int], now: datetime) -> list[ImportJob]:
    """Run jobs that depend on each other in order; once one is not done, the rest are marked
    failed (nothing of theirs written) with the reason."""
    jobs: list[ImportJob] = []
    for job_id in job_ids:
        if jobs and jobs[-1].status != ImportJob.Status.DONE:
            with translation.override(jobs[-1].created_by.message_language):
                message = _("Not imported: an earlier file of the same set was not imported (%(file)s).") % {
                    "file": jobs[-1].original_name
                }
            ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
                status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now()
            )
            jobs.append(ImportJob.objects.select_related("created_by").get(pk=job_id))
            continue
        jobs.append(import_run(job_id=job_id, now=now))
    return jobs


def external_ids_follow_merge(drop_id: int, keep_id: int) -> int:
    """Registered with customers' merge: the external ids of a merged customer name the kept one, so
    a re-import of either source finds it (and never creates the dropped one again)."""
    return ExternalRef.objects.filter(kind=Kind.CUSTOMERS, object_id=drop_id).update(object_id=keep_id)


# --- reading a full export back ---------------------------------------------------------------------

FULL_MEMBERS = ("manifest.json", "settings/template.yaml", "settings/calendar.csv", "settings/company_days_off.csv")


def full_import(*, user: User, data: bytes, now: datetime, skip_bad_rows: bool = False) -> list[ImportJob]:
    """A full export (exports.full_export) read back into this install: its template applied, its
    calendar and days off loaded, then each kind's file imported in order (each a job, as
    `import_data` makes them; run as `import_set_run` runs a set). Admins only: it changes the
    settings. The zip is checked before anything is written (its members, their sizes and data)."""
    if not (is_admin(user) and can_import(user)):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins may read a full export back."))])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {info.filename: info for info in archive.infolist()}
    except zipfile.BadZipFile:
        raise RuleViolation([FieldError("file", "malformed", _("This is not a full export (zip)."))]) from None
    expected = set(FULL_MEMBERS) | {f"{kind}.csv" for kind in Kind.values}
    limit = settings.SALESTRACE_IMPORT_MAX_BYTES
    if set(members) - expected or "manifest.json" not in members:
        message = _("This zip is not a SalesTrace full export: unexpected or missing files.")
        raise RuleViolation([FieldError("file", "not_an_export", message)])
    if any(info.file_size > limit for info in members.values()):
        raise RuleViolation([_too_large()])
    try:
        manifest = json.loads(_zip_read(archive, "manifest.json"))
    except ValueError:  # not JSON, or not UTF-8
        manifest = None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != "salestrace-full-export"
        or manifest.get("version") != 1
    ):
        message = _("This zip is not a SalesTrace full export: unexpected or missing files.")
        raise RuleViolation([FieldError("file", "not_an_export", message)])
    # Every member read (and so checked whole) before anything is written.
    read = {name: _zip_read(archive, name) for name in members if name != "manifest.json"}
    with transaction.atomic():
        if "settings/template.yaml" in read:
            pack, _source = pack_parsed(read["settings/template.yaml"])
            pack_apply_definition(user=user, pack=pack, now=now)
        calendar = read.get("settings/calendar.csv", b"").decode("utf-8")
        if len(calendar.strip().splitlines()) > 1:
            calendar_upload(user=user, text=calendar, source=str(_("full export")), now=now)
        if "settings/company_days_off.csv" in read:
            text = read["settings/company_days_off.csv"].decode("utf-8")
            for line in list(csv.reader(io.StringIO(text)))[1:]:
                if line:
                    company_day_off_set(
                        user=user, day=date.fromisoformat(line[0]), name=line[1] if len(line) > 1 else "", now=now
                    )
    kinds = [kind for kind in manifest.get("order", []) if kind in Kind.values and f"{kind}.csv" in read]
    created = [
        import_job_create(
            user=user,
            kind=kind,
            filename=f"{kind}.csv",
            content=read[f"{kind}.csv"],
            now=now,
            skip_bad_rows=skip_bad_rows,
            run_in_background=False,
        )
        for kind in kinds
    ]
    return import_set_run(job_ids=[job.pk for job in created], now=now)
