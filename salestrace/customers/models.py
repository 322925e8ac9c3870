from __future__ import annotations

from decimal import Decimal

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
    # Search keys filled by the services from `name` (compute.pinyin_keys): 张三 -> zhangsan, zs.
    name_pinyin = models.CharField(_("name in pinyin"), max_length=1000, blank=True, editable=False)
    name_initials = models.CharField(_("pinyin initials"), max_length=200, blank=True, editable=False)
    region = models.CharField(_("region"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    # What a duplicate check (查重) compares besides the name: kept as typed; the services file the
    # phones as keys (CustomerPhone) and the name as `name_key` (customers.dedupe).
    phones = models.CharField(_("phone numbers"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True, db_index=True)
    contacts = models.CharField(_("contact names"), max_length=200, blank=True)
    name_key = models.CharField(_("name for duplicate checks"), max_length=200, blank=True, editable=False)
    name_sound = models.CharField(_("name's pinyin for duplicate checks"), max_length=300, blank=True, editable=False)
    # Where the store is (WGS-84, what a phone's GPS reports): check-ins are measured against it.
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="customers"
    )
    stage = models.CharField(_("stage"), max_length=50, default=STAGE_LEAD)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_active_at = models.DateTimeField(_("last active at"), null=True, blank=True)
    # When the current owner got the customer (creation, claim, reassignment): a lead just taken
    # from the pool is not idle yet, even though its last action is old.
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    pool_entered_at = models.DateTimeField(_("entered the dormant pool at"), null=True, blank=True)
    from_pool = models.BooleanField(_("claimed from the pool"), default=False)
    # The last_active_at of the idle spell whose wake-up task was sent: one wake-up per spell.
    wakeup_for = models.DateTimeField(_("wake-up sent for"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "last_active_at"], name="customer_owner_active_idx"),
            models.Index(fields=["status", "last_active_at"], name="customer_status_active_idx"),
            models.Index(fields=["stage"], name="customer_stage_idx"),
            models.Index(fields=["status", "pool_entered_at"], name="customer_pool_idx"),
            # The nightly sweeps walk the active customers in id order, a batch at a time (id > the
            # last one done): without it SQLite read every active customer and sorted them, each batch.
            models.Index(fields=["status", "id"], name="customer_status_id_idx"),
            models.Index(fields=["name_key"], name="customer_name_key_idx"),
            models.Index(fields=["name_sound"], name="customer_name_sound_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Deal(models.Model):
    """A sale pursued with a customer (商机): its value, stage and outcome follow the action log.

    Templates that sell projects use deals (policy `uses_deals`); a customer may have several, and
    shows its most advanced open one. Templates without them (FMCG stores) keep the customer's stage.
    """

    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="deals")
    title = models.CharField(_("title"), max_length=200)
    product = models.CharField(_("products"), max_length=300, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="deals"
    )
    engaged_on = models.DateField(_("engaged on"))
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    stage = models.CharField(_("stage"), max_length=50, default=STAGE_LEAD)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices, default=Outcome.OPEN)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    lost_reason = models.CharField(_("reason lost"), max_length=300, blank=True)
    # The occurred_at of the latest action on the deal: a back-dated action does not move it.
    last_action_at = models.DateTimeField(_("last action at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["customer", "outcome"], name="deal_customer_outcome_idx"),
            models.Index(fields=["owner", "outcome"], name="deal_owner_outcome_idx"),
            models.Index(fields=["outcome", "closed_on"], name="deal_outcome_closed_idx"),
            models.Index(fields=["expected_close"], name="deal_expected_close_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(outcome="open", closed_on__isnull=True)
                | (~models.Q(outcome="open") & models.Q(closed_on__isnull=False)),
                name="deal_closed_on_with_outcome",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class StageHistory(models.Model):
    """One move of a customer (or of one of its deals) from one stage to another, and the action that moved it."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="stage_history"
    )
    # Set when the move is a deal's; the customer's own moves (templates without deals) leave it empty.
    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), null=True, blank=True, on_delete=models.CASCADE, related_name="stage_history"
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
        indexes = [
            models.Index(fields=["customer", "changed_at"], name="stagehistory_customer_idx"),
            models.Index(fields=["deal", "changed_at"], name="stagehistory_deal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_stage} → {self.to_stage}"


class PoolMove(models.Model):
    """One move into or out of the dormant pool: who, when, why. `by` is empty for the nightly sweep."""

    class Kind(models.TextChoices):
        ENTERED = "entered", _("Moved to the dormant pool")
        RELEASED = "released", _("Released to the pool")
        CLAIMED = "claimed", _("Claimed from the pool")
        REASSIGNED = "reassigned", _("Reassigned by a manager")
        REACTIVATED = "reactivated", _("Reactivated by an action")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="pool_moves"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("from owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("pool move")
        verbose_name_plural = _("pool moves")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "at"], name="poolmove_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} @ {self.at:%Y-%m-%d}"


class CustomerPhone(models.Model):
    """One phone number of a customer as a duplicate check compares it (digits, no country code)."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+")
    number = models.CharField(_("number"), max_length=32)

    class Meta:
        verbose_name = _("customer phone")
        verbose_name_plural = _("customer phones")
        indexes = [models.Index(fields=["number"], name="customerphone_number_idx")]
        constraints = [models.UniqueConstraint(fields=["customer", "number"], name="customerphone_unique")]

    def __str__(self) -> str:
        return self.number


class CustomerMerge(models.Model):
    """Two records of one customer made one: what was moved from the one that is gone, by whom."""

    kept = models.ForeignKey(Customer, verbose_name=_("kept"), on_delete=models.CASCADE, related_name="merges")
    dropped_id = models.BigIntegerField(_("merged customer id"))
    dropped_name = models.CharField(_("merged customer name"), max_length=200)
    dropped_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged customer's owner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # {"actions": 3, "deals": 1, "tasks": 2, ...}: rows moved to the kept customer, per kind.
    moved = models.JSONField(_("moved"), default=dict)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self) -> str:
        return f"{self.dropped_name} → {self.kept_id}"
