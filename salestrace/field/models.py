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


class Promotion(models.Model):
    """A campaign stores run (满299减50): its rule in words and in numbers, its stores and dates."""

    name = models.CharField(_("name"), max_length=100)
    rule_text = models.CharField(_("rule"), max_length=200)
    # 满 threshold 减 discount: what the till must see for the discount to apply.
    threshold = models.DecimalField(_("spend at least"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2)
    product = models.CharField(_("product in the promotion"), max_length=100, blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    stores = models.ManyToManyField("customers.Customer", verbose_name=_("stores"), related_name="promotions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="promotion_dates_in_order"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ExecutionReport(models.Model):
    """Someone says a store runs the promotion (执行上报): who, when, with what photo."""

    promotion = models.ForeignKey(
        Promotion, verbose_name=_("promotion"), on_delete=models.CASCADE, related_name="reports"
    )
    store = models.ForeignKey("customers.Customer", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reported by"), on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField(_("reported at"))
    photo = models.ForeignKey(
        "actions.Evidence", verbose_name=_("photo"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("execution report")
        verbose_name_plural = _("execution reports")
        indexes = [models.Index(fields=["promotion", "store"], name="execution_promo_store_idx")]

    def __str__(self) -> str:
        return f"{self.promotion_id}@{self.store_id}"


class Redemption(models.Model):
    """Discounts the till applied (核销): a POS import's day at a store, or one recorded on the card."""

    class Source(models.TextChoices):
        POS = "pos", _("POS import")
        CARD = "card", _("promotion card")

    promotion = models.ForeignKey(
        Promotion, verbose_name=_("promotion"), on_delete=models.CASCADE, related_name="redemptions"
    )
    store = models.ForeignKey("customers.Customer", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    receipts = models.PositiveIntegerField(_("receipts"))
    discount_total = models.DecimalField(_("discount given"), max_digits=14, decimal_places=2)
    # The receipt's total, for one recorded on the card (a POS day's row has none).
    receipt_amount = models.DecimalField(_("receipt amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    member_phone = models.CharField(_("member phone"), max_length=20, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # A POS row's own id (store + day + till, as the file names it), or the card's Idempotency-Key.
    external_id = models.CharField(_("external id"), max_length=100)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="redemption_once")]
        indexes = [models.Index(fields=["promotion", "store", "day"], name="redemption_promo_store_idx")]

    def __str__(self) -> str:
        return f"{self.promotion_id}@{self.store_id} {self.day} ×{self.receipts}"


class Member(models.Model):
    """A loyalty member as the CRM knows them: the level the card shows when staff type the phone."""

    phone = models.CharField(_("phone"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    level = models.CharField(_("member level"), max_length=50)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return self.phone


class StockLevel(models.Model):
    """A store's stock of a product as of the latest import (ERP)."""

    store = models.ForeignKey("customers.Customer", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    product = models.CharField(_("product"), max_length=100)
    quantity = models.IntegerField(_("quantity"))
    as_of = models.DateTimeField(_("as of"))

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [models.UniqueConstraint(fields=["store", "product"], name="stock_store_product_once")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.product}: {self.quantity}"


class StoreStaff(models.Model):
    """Which store a store-staff account (店员) works in: they see that store's promotion card only."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="store_post"
    )
    store = models.ForeignKey("customers.Customer", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("store staff")
        verbose_name_plural = _("store staff")

    def __str__(self) -> str:
        return f"{self.user_id}@{self.store_id}"
