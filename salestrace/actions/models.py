from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ActionLog(models.Model):
    """One sales action: six structured fields, a summary, when it happened and when it was logged.

    `rep` and `logged_at` are set by the server only. Choice fields hold stable option codes.
    """

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="actions"
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

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("action log")
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="action_customer_occurred_idx"),
            models.Index(fields=["rep", "occurred_at"], name="action_rep_occurred_idx"),
            models.Index(fields=["occurred_at"], name="action_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer_id} {self.stage}/{self.key_action}"


class ActionEdit(models.Model):
    """A kept edit of an action: who, when, and the changed fields before and after."""

    action = models.ForeignKey(ActionLog, verbose_name=_("action"), on_delete=models.CASCADE, related_name="edits")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("edited by"), on_delete=models.PROTECT, related_name="+"
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
