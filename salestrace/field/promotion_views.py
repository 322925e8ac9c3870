"""Promotion pages: the one-screen card at the till (staff and reps), the campaigns and their
reality (supervisors and above)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salestrace.core import clock
from salestrace.core.errors import DomainError, NotFound
from salestrace.core.xlsx import xlsx_response
from salestrace.customers.models import Customer
from salestrace.field import compute
from salestrace.field.forms import attempt, decimal_or_none, id_or_none, today
from salestrace.field.models import StoreStaff
from salestrace.field.promotion_selectors import (
    card_of,
    card_stores,
    member_by_phone,
    placeable_staff,
    promotion_get,
    promotions_visible,
    staff_store,
    store_facts,
)
from salestrace.field.promotion_services import (
    PromotionInput,
    execution_report,
    promotion_create,
    redemption_record,
    store_staff_assign,
)
from salestrace.org.models import Role, User
from salestrace.org.selectors import customer_scope, is_manager

STORES_OFFERED = 1000


@login_required
@require_GET
def card_page(request: HttpRequest) -> HttpResponse:
    """促销卡: the campaign rule, the member's level by phone, stock, and one tap to record a redemption."""
    user: User = request.user  # type: ignore[assignment]
    stores = card_stores(user)
    store: Customer | None
    if user.role == Role.STORE_STAFF:
        store = staff_store(user)
        if store is None:
            return render(request, "field/card.html", {"unplaced": True})
    else:
        chosen = request.GET.get("store", "")
        store = stores.filter(pk=id_or_none(chosen) or 0).first()
    context: dict[str, Any] = {
        "store": store,
        "stores": None
        if user.role == Role.STORE_STAFF
        else stores.filter(promotions__isnull=False).distinct()[:STORES_OFFERED],
        "key": uuid.uuid4().hex,
    }
    if store is not None:
        context["card"] = card_of(store=store, day=today())
    return render(request, "field/card.html", context)


@login_required
@require_GET
def member_lookup(request: HttpRequest) -> HttpResponse:
    """The member's level as the phone number is typed (htmx fragment)."""
    user: User = request.user  # type: ignore[assignment]
    if not card_stores(user).exists():
        raise DjangoPermissionDenied
    phone = request.GET.get("member_phone", "")[:30]
    member = member_by_phone(phone) if phone else None
    return render(request, "field/_member.html", {"member": member, "typed": bool(phone.strip())})


@login_required
@require_POST
def redeem_page(request: HttpRequest, promotion_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    store_id = request.POST.get("store", "")
    back = reverse("field:card") + (f"?store={store_id}" if user.role != Role.STORE_STAFF else "")
    amount = decimal_or_none(request.POST.get("amount"))
    if amount is None:
        messages.error(request, _("Type the receipt's amount."))
        return redirect(back)
    recorded = attempt(
        request,
        lambda: redemption_record(
            user=user,
            promotion_id=promotion_id,
            store_id=id_or_none(store_id) or 0,
            amount=amount,
            now=clock.now(),
            member_phone=request.POST.get("member_phone", "")[:30],
            key=(request.POST.get("key") or "")[:100] or None,
        ),
    )
    if recorded is not None:
        made, created = recorded
        text = _("Redeemed: %(discount)s off a receipt of %(amount)s.") % {
            "discount": f"{made.discount_total:,.2f}",
            "amount": f"{amount:,.2f}",
        }
        messages.success(request, text if created else _("Already recorded."))
    return redirect(back)


@login_required
@require_POST
def report_page(request: HttpRequest, promotion_id: int) -> HttpResponse:
    """执行上报 from the card: this store runs the promotion (with a photo, for reps)."""
    user: User = request.user  # type: ignore[assignment]
    store_id = request.POST.get("store", "")
    back = reverse("field:card") + (f"?store={store_id}" if user.role != Role.STORE_STAFF else "")
    reported = attempt(
        request,
        lambda: execution_report(
            user=user,
            promotion_id=promotion_id,
            store_id=id_or_none(store_id) or 0,
            now=clock.now(),
            photo=request.FILES.get("photo"),
            note=request.POST.get("note", ""),
        ),
    )
    if reported is not None:
        messages.success(request, _("Reported: this store runs the promotion."))
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def promotions_page(request: HttpRequest) -> HttpResponse:
    """促销活动: the campaigns in the manager's scope, a new one, and which store each staff account works in."""
    user: User = request.user  # type: ignore[assignment]
    if not is_manager(user):
        raise DjangoPermissionDenied
    errors: dict[str, list[str]] = {}
    stores = Customer.objects.filter(customer_scope(user)).exclude(kind=Customer.Kind.LEAD).order_by("region", "name")
    if request.method == "POST" and request.POST.get("op") == "staff":
        return _assign_staff(request, user)
    if request.method == "POST":
        ids = [i for v in request.POST.getlist("stores") if (i := id_or_none(v)) is not None]
        region = request.POST.get("region", "").strip()
        if region:
            ids += list(stores.filter(region=region).values_list("pk", flat=True))
        try:
            promotion = promotion_create(
                user=user,
                data=PromotionInput(
                    name=request.POST.get("name", "")[:100],
                    rule_text=request.POST.get("rule_text", "")[:200],
                    starts_on=parse_date(request.POST.get("starts_on", "")[:10]) or today(),
                    ends_on=parse_date(request.POST.get("ends_on", "")[:10]) or today(),
                    store_ids=sorted(set(ids)),
                    threshold=decimal_or_none(request.POST.get("threshold")),
                    discount=decimal_or_none(request.POST.get("discount")),
                    product=request.POST.get("product", "")[:100],
                ),
                now=clock.now(),
            )
        except DomainError as exc:
            for error in exc.errors:
                errors.setdefault(error.field or "", []).append(str(error.message))
        else:
            messages.success(request, _("Promotion created."))
            return redirect(reverse("field:promotion", args=[promotion.pk]))
    context = {
        "promotions": list(promotions_visible(user)[:200]),
        "stores": stores[:STORES_OFFERED],
        "regions": sorted({r for r in stores.values_list("region", flat=True) if r}),
        "errors": errors,
        "form": request.POST if request.method == "POST" else {},
        "staff": list(placeable_staff(user).order_by("username")[:500]),
        "posts": dict(StoreStaff.objects.filter(user__in=placeable_staff(user)).values_list("user_id", "store__name")),
        "today": today(),
    }
    return render(request, "field/promotions.html", context, status=422 if errors else 200)


def _assign_staff(request: HttpRequest, user: User) -> HttpResponse:
    person = request.POST.get("user", "")
    store = request.POST.get("store", "")
    # None from the service means "taken out of their store", so success is marked apart from it.
    placed = attempt(
        request,
        lambda: store_staff_assign(by=user, user_id=id_or_none(person) or 0, store_id=id_or_none(store)) or True,
    )
    if placed:
        messages.success(request, _("Store staff placed."))
    return redirect(reverse("field:promotions"))


@login_required
@require_GET
def promotion_page(request: HttpRequest, promotion_id: int) -> HttpResponse:
    """执行真实度: reported execution vs actual redemption, per region, and the stores to visit first."""
    user: User = request.user  # type: ignore[assignment]
    if not is_manager(user):
        raise DjangoPermissionDenied
    try:
        promotion = promotion_get(user=user, promotion_id=promotion_id)
    except NotFound as exc:
        raise Http404 from exc
    facts = store_facts(user=user, promotion=promotion)
    if request.GET.get("format") == "xlsx":
        return _reality_xlsx(promotion.name, facts)
    total = compute.reality(facts)
    regions = compute.reality_by_region(facts)
    context = {
        "promotion": promotion,
        "total": total,
        "regions": [{"name": name or "—", "r": r} for name, r in regions.items()],
        "visit_first": compute.visit_first(facts)[:100],
        "chart": {
            "regions": [name or "—" for name in regions],
            "names": {"reported": _("Reported"), "redeemed": _("Redeemed")},
            "reported": [compute.percent_points(r.reported_rate) for r in regions.values()],
            "redeemed": [compute.percent_points(r.redeemed_rate) for r in regions.values()],
        },
    }
    return render(request, "field/promotion.html", context)


def _reality_xlsx(name: str, facts: list[compute.StoreFacts]) -> HttpResponse:
    headers = [
        _("Region"),
        _("Store"),
        _("Reported as running"),
        _("Receipts redeemed"),
        _("Discount given"),
        _("Visit first"),
    ]
    rows = [
        [
            f.region,
            f.name,
            _("yes") if f.reported else _("no"),
            f.receipts,
            f.discount,
            _("yes") if f.claim_unbacked else "",
        ]
        for f in facts
    ]
    return xlsx_response("promotion-reality.xlsx", name, headers, rows, formats={4: "#,##0.00"})
