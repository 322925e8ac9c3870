"""Reads of customers, always within the caller's data scope."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from salestrace.core.errors import FieldError, NotFound
from salestrace.customers.models import Customer, StageHistory
from salestrace.org.models import User
from salestrace.org.selectors import customer_scope


@dataclass(frozen=True)
class CustomerFilters:
    q: str | None = None
    stage: str | None = None
    status: str | None = None
    kind: str | None = None
    owner_id: int | None = None


def customer_list(*, user: User, filters: CustomerFilters | None = None) -> QuerySet[Customer]:
    """Customers the user may see, most recently active first."""
    qs = Customer.objects.filter(customer_scope(user)).select_related("owner")
    f = filters or CustomerFilters()
    if f.q:
        qs = qs.filter(name__icontains=f.q)
    if f.stage:
        qs = qs.filter(stage=f.stage)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.owner_id is not None:
        qs = qs.filter(owner_id=f.owner_id)
    return qs.order_by("-last_active_at", "-id")


def customer_get(*, user: User, customer_id: int, for_write: bool = False, lock: bool = False) -> Customer:
    """One customer in scope, or NotFound (absent and out-of-scope look the same).

    With `lock`, the row stays locked until the transaction ends (writers of its stage queue up).
    """
    qs = Customer.objects.filter(customer_scope(user, for_write=for_write)).select_related("owner")
    if lock:
        qs = qs.select_for_update(of=("self",))
    customer = qs.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound([FieldError(None, "not_found", _("Customer not found."))])
    return customer


def customer_stage_history(*, customer: Customer) -> QuerySet[StageHistory]:
    """The customer's stage changes, newest first."""
    return customer.stage_history.select_related("changed_by").order_by("-changed_at", "-id")
