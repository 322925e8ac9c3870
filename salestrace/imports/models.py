from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Kind(models.TextChoices):
    """What one import file holds; the SalesTrace format has one file per kind."""

    TEAMS = "teams", _("Users and teams")
    PRODUCTS = "products", _("Products")
    CUSTOMERS = "customers", _("Customers")
    DEALS = "deals", _("Deals")
    ACTIONS = "actions", pgettext_lazy("what a file holds", "Actions")
    ROUTES = "routes", _("Route plans")
    REDEMPTIONS = "redemptions", _("POS redemptions")
    MEMBERS = "members", _("Members")
    STOCK = "stock", _("Stock levels")


def _import_path(instance: ImportJob, filename: str) -> str:
    # Never the client's name on disk: only our own extension, under an unguessable name.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "csv"
    return f"imports/{uuid.uuid4().hex}.{ext if ext in {'csv', 'xlsx', 'txt'} else 'bin'}"


class ImportJob(models.Model):
    """One uploaded file being imported: its mapping and options, progress, counts and row errors."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Columns to match")
        PENDING = "pending", _("Waiting")
        CHECKING = "checking", _("Checking rows")
        WRITING = "writing", _("Writing")
        DONE = "done", _("Done")
        FAILED = "failed", pgettext_lazy("import status", "Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    preset = models.CharField(_("preset"), max_length=32, default="salestrace")
    file = models.FileField(_("file"), upload_to=_import_path, max_length=255)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    # Source column header -> SalesTrace field, as applied (the preset's, then the user's overrides).
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    # What a preset's transform needs beyond the file (maven-crm: account owners, product prices).
    options = models.JSONField(_("options"), default=dict, blank=True)
    skip_bad_rows = models.BooleanField(_("skip bad rows"), default=False)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    checked_rows = models.PositiveIntegerField(_("rows checked"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("unchanged"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    # Row-level problems: [{"row": 2, "column": "stage", "value": "x", "code": "...", "message": "..."}];
    # row 1 is the header, as a spreadsheet numbers it. Messages are kept in the importer's language.
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    # Customer rows that were already here (same credit code, phone or name), linked instead of
    # created: [{"row": 3, "external_id": "C9", "customer_id": 12, "name": "...", "reason": "phone"}].
    duplicates = models.JSONField(_("linked duplicates"), default=list, blank=True)
    # Why the file as a whole could not be read or written (empty when it was).
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["created_by", "created_at"], name="importjob_creator_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.status}"


class ExternalRef(models.Model):
    """Which SalesTrace row an external id of a source became, so a re-import finds it again."""

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Whose ids these are: the preset ("maven-crm"), or "salestrace" for the SalesTrace format.
    source = models.CharField(_("source"), max_length=32)
    external_id = models.CharField(_("external id"), max_length=200)
    object_id = models.BigIntegerField(_("object id"))
    # The id was linked to a customer already here (a duplicate): a re-import does not overwrite
    # that customer's details with the source's.
    linked = models.BooleanField(_("linked to an existing record"), default=False)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")
        constraints = [
            models.UniqueConstraint(fields=["kind", "source", "external_id"], name="externalref_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.kind}:{self.external_id} → {self.object_id}"


class ImportMapping(models.Model):
    """A column matching kept under a name, for the next file from the same source (the wizard)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    preset = models.CharField(_("preset"), max_length=32, default="salestrace")
    # File header -> SalesTrace column; "" for a header to leave out.
    mapping = models.JSONField(_("column mapping"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("saved column mapping")
        verbose_name_plural = _("saved column mappings")
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="importmapping_unique_name")]

    def __str__(self) -> str:
        return self.name
