from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from salestrace.actions.models import ActionEdit, ActionLog, Evidence
from salestrace.org.selectors import action_scope


class ActionEditInline(admin.TabularInline):
    model = ActionEdit
    extra = 0
    fields = ("edited_by", "edited_at", "before", "after")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class EvidenceInline(admin.TabularInline):
    # No file fields: their admin links would point at MEDIA_URL; files are served by the API after a scope check.
    model = Evidence
    extra = 0
    fields = ("kind", "mime_type", "size", "sha256", "taken_at", "flags", "recognition", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ActionLog)
class ActionLogAdmin(admin.ModelAdmin):
    """Read-only: actions are logged and edited through the app, where rules and history apply."""

    list_display = (
        "id",
        "customer",
        "rep",
        "occurred_at",
        "logged_at",
        "contact_method",
        "stage",
        "key_action",
        "obstacle",
    )
    list_filter = ("stage", "contact_method", "obstacle", "emotion")
    search_fields = ("customer__name", "rep__username", "summary")
    list_select_related = ("customer", "rep")
    date_hierarchy = "occurred_at"
    inlines = [ActionEditInline, EvidenceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ActionLog]:
        return super().get_queryset(request).filter(action_scope(request.user))  # type: ignore[arg-type]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
