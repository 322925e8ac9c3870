from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ActionLog(models.Model):
    """One sales action: six structured fields, a summary, when it happened and when it was logged.

    `rep` and `logged_at` are set by the server only (an import keeps the source's). Choice fields
    hold stable option codes.
    """

    class Source(models.TextChoices):
        ENTERED = "entered", _("Entered in SalesTrace")
        IMPORTED = "imported", _("Imported")

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="actions"
    )
    # The deal the action works on, where the template uses deals (policy `uses_deals`).
    deal = models.ForeignKey(
        "customers.Deal",
        verbose_name=_("deal"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="actions",
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.PROTECT, related_name="actions"
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    logged_at = models.DateTimeField(_("logged at"))
    contact_method = models.CharField(_("contact method"), max_length=50)
    stage = models.CharField(_("customer stage"), max_length=50)
    key_action = models.CharField(_("key action"), max_length=50, blank=True)
    obstacle = models.CharField(_("obstacle"), max_length=50, blank=True)
    next_step_plan = models.CharField(_("next step"), max_length=500, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    next_step_deliverable = models.CharField(_("next step deliverable"), max_length=200, blank=True)
    emotion = models.CharField(_("customer emotion"), max_length=50, blank=True)
    summary = models.TextField(_("summary"), blank=True, max_length=5000)
    channel = models.CharField(_("channel"), max_length=50, blank=True)
    content_type = models.CharField(_("content type"), max_length=50, blank=True)
    response_strength = models.CharField(_("response strength"), max_length=50, blank=True)
    updated_at = models.DateTimeField(_("updated at"))
    edit_count = models.PositiveIntegerField(_("edits"), default=0)
    # Imported history keeps its original occurred_at/logged_at; timeliness (logged within 2 h)
    # and other judgements of how a rep logs leave imported rows out.
    # A database default too: the benches and bulk loaders insert rows with set-based SQL.
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.ENTERED, db_default=Source.ENTERED
    )

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("action log")
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="action_customer_occurred_idx"),
            models.Index(fields=["rep", "occurred_at"], name="action_rep_occurred_idx"),
            models.Index(fields=["occurred_at"], name="action_occurred_idx"),
            models.Index(fields=["deal", "occurred_at"], name="action_deal_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer_id} {self.stage}/{self.key_action}"


class ActionEdit(models.Model):
    """A kept edit of an action: who, when, and the changed fields before and after."""

    action = models.ForeignKey(ActionLog, verbose_name=_("action"), on_delete=models.CASCADE, related_name="edits")
    # None: the system, e.g. a summary filled from a screenshot by OCR.
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("edited by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    edited_at = models.DateTimeField(_("edited at"))
    before = models.JSONField(_("before"))
    after = models.JSONField(_("after"))

    class Meta:
        verbose_name = _("action edit")
        verbose_name_plural = _("action edits")
        ordering = ["edited_at", "id"]

    def __str__(self) -> str:
        return f"#{self.action_id} @ {self.edited_at:%Y-%m-%d %H:%M}"


class IdempotencyRecord(models.Model):
    """The first answer to an `Idempotency-Key`, so a retried POST creates nothing new."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    action = models.ForeignKey(ActionLog, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


def _evidence_path(instance: Evidence, filename: str) -> str:
    # Never the client's name: only our own extension, under an unguessable name, by customer
    # (a file may be uploaded before its action exists).
    ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"evidence/{instance.customer_id}/{uuid.uuid4().hex}.{ext}"


# What a person is told about the reading of a screenshot or recording, by (kind, state).
RECOGNITION_MESSAGES = {
    ("screenshot", "pending"): _("Reading the screenshot; the text will appear shortly."),
    ("audio", "pending"): _("Transcribing the recording; the text will appear shortly."),
    ("screenshot", "unavailable"): _(
        "Text recognition (Tesseract OCR) is not installed on this server. Please write the summary by hand."
    ),
    ("audio", "unavailable"): _(
        "No speech-to-text engine is configured. The recording is kept; please write the summary by hand."
    ),
    ("screenshot", "failed"): _("The screenshot could not be read. Retry, or write the summary by hand."),
    ("audio", "failed"): _("The recording could not be transcribed. Retry, or write the summary by hand."),
}


class Evidence(models.Model):
    """A file that backs an action: a visit photo, a WeChat screenshot or a call recording.

    The original is kept byte for byte; photos get a watermarked derivative, made in the background. Files live in the
    default storage and are served only through a view that checks the caller's scope.
    A file may be uploaded first (`action` empty, seen only by its uploader) and attached when
    the action is saved, so rules can require it; unattached uploads are swept after a day.
    """

    class Kind(models.TextChoices):
        PHOTO = "photo", _("visit photo")
        SCREENSHOT = "screenshot", _("WeChat screenshot")
        AUDIO = "audio", _("call recording")

    class Recognition(models.TextChoices):
        NOT_APPLICABLE = "n/a", _("not applicable")
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        UNAVAILABLE = "unavailable", _("unavailable")

    class Processing(models.TextChoices):
        PENDING = "pending", _("stamping")
        DONE = "done", _("done")
        FAILED = "failed", _("could not be stamped")

    action = models.ForeignKey(
        ActionLog, verbose_name=_("action"), on_delete=models.PROTECT, related_name="evidence", null=True, blank=True
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    original = models.FileField(_("original file"), upload_to=_evidence_path, max_length=255)
    derivative = models.FileField(_("watermarked file"), upload_to=_evidence_path, max_length=255, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    image_hash = models.CharField(_("perceptual hash"), max_length=16, blank=True, db_index=True)
    mime_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    taken_at = models.DateTimeField(_("taken at (EXIF)"), null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    flags = models.JSONField(_("flags"), default=list, blank=True)
    # Kept though no action took it: a check-in's photo (field). The unattached sweep leaves it.
    kept = models.BooleanField(_("kept without an action"), default=False)
    recognition = models.CharField(
        _("recognition"), max_length=20, choices=Recognition.choices, default=Recognition.NOT_APPLICABLE
    )
    # A photo's stamped copy, perceptual hash, EXIF time and flags are made by the worker after
    # the upload is answered; until then it is pending (the timeline says 盖章中).
    processing = models.CharField(_("processing"), max_length=20, choices=Processing.choices, default=Processing.DONE)
    recognised_text = models.TextField(_("recognised text"), blank=True)
    recognition_error = models.TextField(_("recognition error"), blank=True)
    created_at = models.DateTimeField(_("received at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        indexes = [
            models.Index(fields=["uploaded_by", "kind", "created_at"], name="evidence_uploader_kind_idx"),
            models.Index(
                fields=["created_at"], condition=models.Q(action__isnull=True), name="evidence_unattached_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.action_id or '-'} {self.kind} {self.sha256[:12]}"

    @property
    def recognition_message(self) -> str:
        """Where the reading stands, in words: pending, or what to do when it failed."""
        message = RECOGNITION_MESSAGES.get((self.kind, self.recognition))
        return str(message) if message else ""

    @property
    def original_url(self) -> str:
        """The file as uploaded, served through the API after a scope check."""
        return reverse("api-v1:evidence_original", args=[self.pk])

    @property
    def watermarked_url(self) -> str | None:
        """The stamped copy of a photo; None for files that have none."""
        return reverse("api-v1:evidence_watermarked", args=[self.pk]) if self.derivative else None

    @property
    def shown_url(self) -> str:
        """What a page shows: the stamped copy when there is one."""
        return self.watermarked_url or self.original_url

    @property
    def retryable(self) -> bool:
        return self.recognition in (Evidence.Recognition.FAILED, Evidence.Recognition.UNAVAILABLE)
