from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Stage codes with a meaning of their own; every other stage is an ordinary step of the process.
STAGE_LEAD = "lead"
STAGE_WON = "won"
STAGE_LOST = "lost"


class Customer(models.Model):
    """A lead, account or store that a rep works on; its stage follows the action log."""

    class Kind(models.TextChoices):
        LEAD = "lead", _("Lead")
        ACCOUNT = "account", _("Account")
        STORE = "store", _("Store")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")
        DORMANT = "dormant", _("Dormant")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.LEAD)
    name = models.CharField(_("name"), max_length=200)
    region = models.CharField(_("region"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="customers"
    )
    stage = models.CharField(_("stage"), max_length=50, default=STAGE_LEAD)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_active_at = models.DateTimeField(_("last active at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "last_active_at"], name="customer_owner_active_idx"),
            models.Index(fields=["status", "last_active_at"], name="customer_status_active_idx"),
            models.Index(fields=["stage"], name="customer_stage_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class StageHistory(models.Model):
    """One move of a customer from one stage to another, and the action that moved it."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="stage_history"
    )
    from_stage = models.CharField(_("from stage"), max_length=50, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=50)
    changed_at = models.DateTimeField(_("changed at"))
    action = models.ForeignKey(
        "actions.ActionLog",
        verbose_name=_("action"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage history")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "changed_at"], name="stagehistory_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_stage} → {self.to_stage}"
