from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.models import (
    EffectiveAction,
    KeyFieldsChange,
    Option,
    OptionSet,
    PlanLintRule,
    Rule,
    TemplatePack,
    Threshold,
)
from salestrace.catalog.services import catalog_changed


class CatalogAdmin(admin.ModelAdmin):
    """Every catalog edit in the admin expires the snapshots cached by running processes (the change
    form and list_editable both end in save_related, so it is bumped once per save)."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        catalog_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        catalog_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        catalog_changed()


class ReadOnlyHere:
    """Changed in the product's Settings pages (/settings/), through the services that check them
    and keep their history; the admin only shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OptionInline(ReadOnlyHere, admin.TabularInline):
    model = Option
    extra = 0
    fields = ("code", "label_zh", "label_en", "position", "is_active", "is_terminal")


@admin.register(OptionSet)
class OptionSetAdmin(ReadOnlyHere, CatalogAdmin):
    list_display = ("code", "name_zh", "name_en")
    inlines = [OptionInline]


@admin.register(Rule)
class RuleAdmin(ReadOnlyHere, CatalogAdmin):
    """Rules are built in Settings › Rules (dropdowns, impact preview, history); here they are only shown."""

    list_display = ("code", "message_zh", "is_active", "position", "pack")
    list_filter = ("is_active", "pack")


@admin.register(Threshold)
class ThresholdAdmin(ReadOnlyHere, CatalogAdmin):
    list_display = ("code", "value", "description_zh")


def option_choices(set_code: str) -> list[tuple[str, str]]:
    """The active options of a set as form choices, labelled in the admin's language."""
    from salestrace.catalog.selectors import option_catalog

    return [(code, f"{label} ({code})") for code, label in option_catalog().choices.get(set_code, [])]


class EffectiveActionForm(forms.ModelForm):
    """Stage and key action picked from the loaded options, so a typo cannot make a pair that never matches."""

    class Meta:
        model = EffectiveAction
        fields = ("stage", "key_action", "pack")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"] = forms.ChoiceField(label=_("stage"), choices=option_choices("stage"))
        self.fields["key_action"] = forms.ChoiceField(label=_("key action"), choices=option_choices("key_action"))


class PlanLintRuleForm(forms.ModelForm):
    """The obstacle picked from the loaded options."""

    class Meta:
        model = PlanLintRule
        fields = ("code", "obstacle", "kind", "phrases", "message_zh", "message_en", "position", "is_active", "pack")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["obstacle"] = forms.ChoiceField(label=_("obstacle"), choices=option_choices("obstacle"))


@admin.register(EffectiveAction)
class EffectiveActionAdmin(CatalogAdmin):
    form = EffectiveActionForm
    list_display = ("stage", "key_action", "pack")
    list_filter = ("stage", "pack")


@admin.register(PlanLintRule)
class PlanLintRuleAdmin(CatalogAdmin):
    form = PlanLintRuleForm
    list_display = ("code", "obstacle", "kind", "message_zh", "is_active", "position", "pack")
    list_filter = ("is_active", "kind", "pack")
    list_editable = ("is_active", "position")


@admin.register(TemplatePack)
class TemplatePackAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "version", "loaded_at")
    readonly_fields = ("code", "version", "loaded_at")


@admin.register(KeyFieldsChange)
class KeyFieldsChangeAdmin(ReadOnlyHere, admin.ModelAdmin):
    """The key fields' history is written by loading a template; here it is only read."""

    list_display = ("valid_from", "fields")
