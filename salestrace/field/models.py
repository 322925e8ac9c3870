from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RouteStop(models.Model):
    """One store on a rep's route for a day, in visiting order (路线计划)."""

    class Source(models.TextChoices):
        PLANNED = "planned", _("planned by a supervisor")
        COPIED = "copied", _("copied from an earlier week")
        IMPORTED = "imported", _("imported")

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.CASCADE, related_name="route_stops"
    )
    day = models.DateField(_("day"))
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("store"), on_delete=models.CASCADE, related_name="route_stops"
    )
    position = models.PositiveSmallIntegerField(_("order"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.PLANNED)
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("planned by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("route stop")
        verbose_name_plural = _("route stops")
        constraints = [models.UniqueConstraint(fields=["rep", "day", "customer"], name="route_stop_once_a_day")]
        indexes = [models.Index(fields=["day", "rep", "position"], name="route_stop_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} #{self.position} {self.customer_id}"


class CheckIn(models.Model):
    """A rep at a store: where the phone said it was, how far that is from the store, what looks wrong.

    `occurred_at` is when the rep checked in (the phone's time, kept when the check-in was queued
    offline); `received_at` is when it reached the server. Flags are codes (field.compute.FLAGS).
    """

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.PROTECT, related_name="check_ins"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("store"), on_delete=models.PROTECT, related_name="check_ins"
    )
    # The client's Idempotency-Key: a retried or re-synced check-in is the same check-in.
    key = models.CharField(_("idempotency key"), max_length=100, blank=True)
    occurred_at = models.DateTimeField(_("checked in at"))
    received_at = models.DateTimeField(_("received at"))
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    accuracy_m = models.PositiveIntegerField(_("accuracy (m)"), null=True, blank=True)
    distance_m = models.PositiveIntegerField(_("distance to the store (m)"), null=True, blank=True)
    out_latitude = models.DecimalField(_("check-out latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    out_longitude = models.DecimalField(_("check-out longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    out_distance_m = models.PositiveIntegerField(_("check-out distance to the store (m)"), null=True, blank=True)
    flags = models.JSONField(_("flags"), default=list, blank=True)
    photo = models.ForeignKey(
        "actions.Evidence",
        verbose_name=_("photo"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints = [
            models.UniqueConstraint(fields=["rep", "key"], condition=~models.Q(key=""), name="check_in_key_once"),
        ]
        indexes = [
            models.Index(fields=["rep", "occurred_at"], name="check_in_rep_idx"),
            models.Index(fields=["customer", "occurred_at"], name="check_in_customer_idx"),
            models.Index(fields=["latitude", "longitude"], name="check_in_spot_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rep_id}@{self.customer_id} {self.occurred_at:%Y-%m-%d %H:%M}"
