from django.contrib import admin

from salestrace.catalog.models import Option, OptionSet, Rule, TemplatePack, Threshold


class OptionInline(admin.TabularInline):
    model = Option
    extra = 0
    fields = ("code", "label_zh", "label_en", "position", "is_active", "is_terminal")


@admin.register(OptionSet)
class OptionSetAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en")
    inlines = [OptionInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("code", "message_zh", "is_active", "position", "pack")
    list_filter = ("is_active", "pack")
    list_editable = ("is_active", "position")


@admin.register(Threshold)
class ThresholdAdmin(admin.ModelAdmin):
    list_display = ("code", "value", "description_zh")


@admin.register(TemplatePack)
class TemplatePackAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "version", "loaded_at")
    readonly_fields = ("code", "version", "loaded_at")
