from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AnalysisResult(models.Model):
    """A heavy analysis computed in the background, kept for its parameters (kind + sha256 of canonical JSON)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=40)
    params_key = models.CharField(_("parameters key"), max_length=64)
    params = models.JSONField(_("parameters"))
    payload = models.JSONField(_("result"), null=True, blank=True)
    # The deals each group held (for the drill-down), apart from the payload: an answer does not
    # read them (a company's year is hundreds of thousands of ids).
    deal_ids = models.JSONField(_("deals compared"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("analysis result")
        verbose_name_plural = _("analysis results")
        constraints = [models.UniqueConstraint(fields=["kind", "params_key"], name="analysis_kind_params_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.params_key[:8]} {self.status}"
