"""新增客户 on the phone, checked against the existing customers as it is typed (查重), and 合并重复客户
for supervisors: two records of one customer made one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from salestrace.core import clock
from salestrace.core.errors import DomainError, NotFound
from salestrace.customers.models import Customer
from salestrace.customers.selectors import customer_get, duplicate_check
from salestrace.customers.services import DUPLICATE_REASONS, CustomerInput, customer_create, customer_merge
from salestrace.org.models import User
from salestrace.org.selectors import can_log_actions, is_manager

FIELDS = ("name", "kind", "city", "phones", "address", "contacts", "credit_code")


def _rep(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can_log_actions(user):
        raise DjangoPermissionDenied
    return user


def _reasons() -> dict[str, str]:
    return {code: str(text) for code, text in DUPLICATE_REASONS.items()}


@login_required
@require_http_methods(["GET", "POST"])
def new_customer_page(request: HttpRequest) -> HttpResponse:
    """The form; what may be a duplicate is shown as the name or a phone is typed and again on save,
    where the rep creates it anyway (a near match), merges into it or opens it (an exact one)."""
    user = _rep(request)
    values = {name: request.POST.get(name, "").strip() for name in FIELDS}
    values["kind"] = values["kind"] if values["kind"] in Customer.Kind.values else Customer.Kind.STORE
    errors: dict[str, str] = {}
    codes: set[str] = set()
    if request.method == "POST":
        duplicates = request.POST.get("duplicates", "check")
        now = clock.now()
        try:
            customer = customer_create(
                user=user,
                data=CustomerInput(
                    name=values["name"],
                    kind=values["kind"],
                    city=values["city"],
                    phones=values["phones"],
                    address=values["address"],
                    contacts=values["contacts"],
                    credit_code=values["credit_code"],
                ),
                now=now,
                duplicates=duplicates if duplicates in ("check", "create", "merge") else "check",
            )
        except DomainError as exc:
            errors = {e.field or "": str(e.message) for e in exc.errors}
            codes = {e.code for e in exc.errors}
        else:
            if customer.created_at == now:
                messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            else:
                messages.success(request, _("Added to the existing customer %(name)s.") % {"name": customer.name})
            return redirect("customers:detail", customer_id=customer.pk)
    check = (
        duplicate_check(user=user, name=values["name"], phones=values["phones"], credit_code=values["credit_code"])
        if values["name"]
        else None
    )
    context: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "codes": codes,
        "kinds": Customer.Kind.choices,
        "check": check,
        "reasons": _reasons(),
    }
    return render(request, "customers/new.html", context, status=422 if errors else 200)


@login_required
@require_GET
def duplicates_partial(request: HttpRequest) -> HttpResponse:
    """What the form shows under the name while it is typed (htmx)."""
    user = _rep(request)
    name = request.GET.get("name", "").strip()[:200]
    check = None
    if name:
        check = duplicate_check(
            user=user,
            name=name,
            phones=request.GET.get("phones", "")[:200],
            credit_code=request.GET.get("credit_code", "")[:30],
        )
    return render(request, "customers/_duplicates.html", {"check": check, "reasons": _reasons()})


@login_required
@require_http_methods(["GET", "POST"])
def merge_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    """合并重复客户: the records that may be this customer (same keys or a similar name) in the
    manager's scope; the one chosen is merged into this one."""
    user: User = request.user  # type: ignore[assignment]
    if not is_manager(user):
        raise DjangoPermissionDenied
    try:
        customer = customer_get(user=user, customer_id=customer_id, for_write=True)
    except NotFound:
        raise Http404 from None
    errors: list[str] = []
    if request.method == "POST":
        try:
            record = customer_merge(
                user=user, keep_id=customer.pk, drop_id=int(request.POST.get("drop_id", "0") or 0), now=clock.now()
            )
        except DomainError as exc:
            errors = [str(e.message) for e in exc.errors]
        except ValueError:
            raise Http404 from None
        else:
            moved = sum(record.moved.values())
            messages.success(
                request,
                _("%(name)s merged into this customer (%(n)d records moved).")
                % {"name": record.dropped_name, "n": moved},
            )
            return redirect("customers:detail", customer_id=customer.pk)
    check = duplicate_check(
        user=user, name=customer.name, phones=customer.phones, credit_code=customer.credit_code, exclude_id=customer.pk
    )
    context = {
        "customer": customer,
        "matches": check["matches"],
        "reasons": _reasons(),
        "errors": errors,
    }
    return render(request, "customers/merge.html", context, status=422 if errors else 200)
