from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from salestrace.actions.models import ActionEdit, ActionLog, Evidence
from salestrace.actions.selectors import evidence_scope
from salestrace.org.models import User
from salestrace.org.selectors import action_scope, is_admin


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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never written here: the app's services apply the rules and keep the history."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ActionLog)
class ActionLogAdmin(ReadOnlyAdmin):
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


class AttachedFilter(admin.SimpleListFilter):
    title = _("attached")
    parameter_name = "attached"

    def lookups(self, request, model_admin):
        return [("yes", _("attached to an action")), ("no", _("not attached (swept after a day)"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(action__isnull=self.value() == "no")
        return queryset


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    """Read-only: what was uploaded, its checks and its reading; files open through the API."""

    list_display = (
        "id",
        "kind",
        "customer",
        "uploaded_by",
        "action",
        "created_at",
        "flags",
        "processing",
        "recognition",
    )
    list_filter = ("kind", "processing", "recognition", AttachedFilter)
    search_fields = ("customer__name", "uploaded_by__username", "sha256", "recognised_text")
    list_select_related = ("customer", "uploaded_by", "action")
    date_hierarchy = "created_at"
    fields = (
        "kind",
        "customer",
        "uploaded_by",
        "action",
        "mime_type",
        "size",
        "sha256",
        "image_hash",
        "taken_at",
        "latitude",
        "longitude",
        "flags",
        "processing",
        "recognition",
        "recognised_text",
        "recognition_error",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evidence]:
        user: User = request.user  # type: ignore[assignment]
        return super().get_queryset(request).filter(evidence_scope(user, all_loose=is_admin(user)))
