from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.customers.models import Customer, PoolMove, StageHistory
from salestrace.customers.selectors import customer_get
from salestrace.customers.services import customer_update, customer_update_check
from salestrace.org.models import User
from salestrace.org.selectors import customer_scope


class StageHistoryInline(admin.TabularInline):
    model = StageHistory
    extra = 0
    fields = ("from_stage", "to_stage", "changed_at", "action", "changed_by")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PoolMoveInline(admin.TabularInline):
    model = PoolMove
    extra = 0
    fields = ("kind", "at", "by", "from_owner", "to_owner", "reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CustomerAdminForm(forms.ModelForm):
    """The customer's details, checked and saved by the customer services (scope, pool, pinyin keys)."""

    request_user: User  # set by CustomerAdmin.get_form

    class Meta:
        model = Customer
        fields = ("kind", "name", "region", "city", "industry", "owner")

    def service_changes(self) -> dict[str, Any]:
        """The changed fields as customer_update takes them."""
        changes: dict[str, Any] = {}
        for name in self.changed_data:
            value = self.cleaned_data.get(name)
            if name == "owner":
                changes["owner_id"] = value.pk if value is not None else None
            else:
                changes[name] = value
        return changes

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.errors or self.instance.pk is None:
            return cleaned
        try:
            customer = customer_get(user=self.request_user, customer_id=self.instance.pk, for_write=True)
            customer_update_check(user=self.request_user, customer=customer, changes=self.service_changes())
        except DomainError as exc:
            for error in exc.errors:
                field = "owner" if error.field == "owner_id" else error.field
                self.add_error(field if field in self.fields else None, str(error.message))
        return cleaned


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Details are saved through customer_update, like the API's; stage, status and the pool are read-only
    here (they follow the action log and the pool services, which keep their history)."""

    form = CustomerAdminForm
    list_display = ("name", "kind", "stage", "status", "owner", "city", "last_active_at")
    list_filter = ("kind", "status", "stage", "region")
    search_fields = ("name", "name_pinyin", "name_initials", "city")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    # Stage, status and the pool follow the action log and the pool services; pinyin keys follow the name.
    readonly_fields = (
        "stage",
        "status",
        "last_active_at",
        "assigned_at",
        "pool_entered_at",
        "from_pool",
        "name_pinyin",
        "name_initials",
        "created_at",
        "updated_at",
    )
    fields = ("kind", "name", "region", "city", "industry", "owner", *readonly_fields)
    inlines = [StageHistoryInline, PoolMoveInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return super().get_queryset(request).filter(customer_scope(request.user))  # type: ignore[arg-type]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"request_user": request.user})

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        user: User = request.user  # type: ignore[assignment]
        customer_update(user=user, customer_id=obj.pk, changes=form.service_changes(), now=clock.now())
        obj.refresh_from_db()

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Customers are created in the app (customer_create): owner, first stage and search keys.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        user: User = request.user  # type: ignore[assignment]
        return obj is None or Customer.objects.filter(customer_scope(user, for_write=True), pk=obj.pk).exists()

    def has_delete_permission(self, request, obj=None):
        return False
