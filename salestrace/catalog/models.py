from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def pick_language(zh: str, en: str) -> str:
    """The zh or en text for the active language; falls back to zh, the default language."""
    language = get_language() or "zh-hans"
    return en if language.startswith("en") and en else zh


class TemplatePack(models.Model):
    """An industry template pack that has been loaded (packs/<code>.yaml)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    version = models.PositiveIntegerField(_("version"), default=1)
    loaded_at = models.DateTimeField(_("loaded at"))

    class Meta:
        verbose_name = _("template pack")
        verbose_name_plural = _("template packs")

    def __str__(self) -> str:
        return pick_language(self.name_zh, self.name_en)


class ImportedPack(models.Model):
    """A template pack uploaded in Settings (a YAML file, checked whole): kept here, beside the packs
    shipped in packs/, so every process and host reads the same text."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    source = models.TextField(_("YAML"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("imported template pack")
        verbose_name_plural = _("imported template packs")

    def __str__(self) -> str:
        return self.code


class OptionSet(models.Model):
    """A dropdown: its options are the only values the field accepts."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)

    class Meta:
        verbose_name = _("option set")
        verbose_name_plural = _("option sets")
        ordering = ["code"]

    def __str__(self) -> str:
        return pick_language(self.name_zh, self.name_en)


class Option(models.Model):
    """One choice of an option set; `code` is stable, labels may change."""

    option_set = models.ForeignKey(
        OptionSet, verbose_name=_("option set"), on_delete=models.CASCADE, related_name="options"
    )
    code = models.SlugField(_("code"), max_length=50)
    label_zh = models.CharField(_("label (Chinese)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    is_terminal = models.BooleanField(_("terminal"), default=False, help_text=_("Ends the sales process (won, lost)."))

    class Meta:
        verbose_name = _("option")
        verbose_name_plural = _("options")
        ordering = ["option_set", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["option_set", "code"], name="option_unique_code_in_set")]

    def __str__(self) -> str:
        return pick_language(self.label_zh, self.label_en)

    @property
    def label(self) -> str:
        return pick_language(self.label_zh, self.label_en)


class Rule(models.Model):
    """An entry rule: when `condition` holds for an action, the `requires` fields must be filled."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    condition = models.JSONField(
        _("condition"), default=dict, blank=True, help_text=_('e.g. {"field": "stage", "equals": "price_negotiation"}')
    )
    requires = models.JSONField(_("required fields"), default=list)
    message_zh = models.CharField(_("message (Chinese)"), max_length=300)
    message_en = models.CharField(_("message (English)"), max_length=300)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    pack = models.SlugField(_("template pack"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def message(self) -> str:
        return pick_language(self.message_zh, self.message_en)


class Policy(models.Model):
    """A structured setting of the template that is not a number (e.g. who may claim from the pool)."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    value = models.JSONField(_("value"))

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} = {self.value}"


class CatalogVersion(models.Model):
    """One row whose number goes up on every catalog change, so each process can cache the catalog."""

    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("catalog version")
        verbose_name_plural = _("catalog version")

    def __str__(self) -> str:
        return str(self.version)


class Threshold(models.Model):
    """A tunable number of the template (e.g. vitality days, backdate window)."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    description_zh = models.CharField(_("description (Chinese)"), max_length=200, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("threshold")
        verbose_name_plural = _("thresholds")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} = {self.value}"


class Product(models.Model):
    """A product the company sells and its list price; deals name products by `name`."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    series = models.CharField(_("series"), max_length=100, blank=True)
    list_price = models.DecimalField(_("list price"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(list_price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class EffectiveAction(models.Model):
    """At `stage`, the key action `key_action` counts as effective for action health (seed 五③)."""

    stage = models.SlugField(_("stage"), max_length=50)
    key_action = models.SlugField(_("key action"), max_length=50)
    pack = models.SlugField(_("template pack"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("effective key action")
        verbose_name_plural = _("effective key actions")
        ordering = ["stage", "key_action"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "key_action"], name="effective_action_unique_stage_action")
        ]

    def __str__(self) -> str:
        return f"{self.stage}: {self.key_action}"


class PlanLintRule(models.Model):
    """A next-step plan that does not fit the obstacle: with `obstacle`, the plan mentions one of the
    phrases (kind mentions, e.g. 决策链复杂 + 等待客户回复) or none of them (kind lacks)."""

    class Kind(models.TextChoices):
        MENTIONS = "mentions", _("the plan mentions one of the phrases")
        LACKS = "lacks", _("the plan mentions none of the phrases")

    code = models.SlugField(_("code"), max_length=80, unique=True)
    obstacle = models.SlugField(_("obstacle"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    phrases = models.TextField(_("phrases"), help_text=_("One phrase per line; letters match in any case."))
    message_zh = models.CharField(_("message (Chinese)"), max_length=300)
    message_en = models.CharField(_("message (English)"), max_length=300)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    pack = models.SlugField(_("template pack"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("plan lint rule")
        verbose_name_plural = _("plan lint rules")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def phrase_list(self) -> list[str]:
        return [p.strip() for p in self.phrases.splitlines() if p.strip()]

    @property
    def message(self) -> str:
        return pick_language(self.message_zh, self.message_en)


class KeyFieldsChange(models.Model):
    """From `valid_from` on, an action is complete when these fields are filled (the template's
    `health_key_fields`). Kept as history: completeness judges each action by the key fields in
    force when it was logged, not by today's."""

    valid_from = models.DateTimeField(_("valid from"), unique=True)
    fields = models.JSONField(_("key fields"))

    class Meta:
        verbose_name = _("key fields of action health")
        verbose_name_plural = _("key fields of action health")
        ordering = ["valid_from"]

    def __str__(self) -> str:
        return f"{self.valid_from:%Y-%m-%d %H:%M}: {', '.join(self.fields)}"


class SettingChange(models.Model):
    """One change of a setting made in the Settings pages: who, when, the value before and after.
    The settings' history: diffable, and a change can be rolled back (which is a change too)."""

    class Area(models.TextChoices):
        THRESHOLD = "threshold", _("threshold")
        OPTION = "option", _("option")
        RULE = "rule", _("rule")
        FOLLOW_UP = "follow_up", _("follow-up rule")
        CHANNEL = "channel", _("channel")
        PACK = "pack", _("template pack")
        CALENDAR = "calendar", _("calendar")
        PERSON = "person", _("person")
        TEAM = "team", _("team")
        WEBHOOK = "webhook", _("webhook")

    area = models.CharField(_("area"), max_length=20, choices=Area.choices)
    key = models.CharField(_("setting"), max_length=80)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.PROTECT, related_name="+", null=True
    )
    changed_at = models.DateTimeField(_("changed at"))
    rolled_back = models.ForeignKey(
        "self", verbose_name=_("rolls back"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("settings change")
        verbose_name_plural = _("settings changes")
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["area", "key", "changed_at"], name="settingchange_key_idx")]

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d %H:%M} {self.key}: {self.before} → {self.after}"
