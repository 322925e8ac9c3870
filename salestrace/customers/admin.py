from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from salestrace.customers.models import Customer, StageHistory
from salestrace.org.selectors import customer_scope


class StageHistoryInline(admin.TabularInline):
    model = StageHistory
    extra = 0
    fields = ("from_stage", "to_stage", "changed_at", "action", "changed_by")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "stage", "status", "owner", "city", "last_active_at")
    list_filter = ("kind", "status", "stage", "region")
    search_fields = ("name", "city")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("stage", "status", "last_active_at", "created_at", "updated_at")
    inlines = [StageHistoryInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return super().get_queryset(request).filter(customer_scope(request.user))  # type: ignore[arg-type]

    def has_delete_permission(self, request, obj=None):
        return False
