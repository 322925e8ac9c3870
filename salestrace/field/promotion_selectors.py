"""Reads for promotions: who sees which, each store's reported execution vs its till's redemptions,
and what the promotion card shows at a store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from salestrace.core.errors import FieldError, NotFound
from salestrace.customers import dedupe
from salestrace.customers.models import Customer
from salestrace.field import compute
from salestrace.field.models import ExecutionReport, Member, Promotion, Redemption, StockLevel, StoreStaff
from salestrace.org.models import Role, User
from salestrace.org.selectors import customer_scope, team_subtree_ids


def staff_store(user: User) -> Customer | None:
    """The store a store-staff account works in (None for anyone else, or staff not yet placed)."""
    if user.role != Role.STORE_STAFF:
        return None
    post = StoreStaff.objects.filter(user=user).select_related("store").first()
    return post.store if post else None


def card_stores(user: User) -> QuerySet[Customer]:
    """The stores whose promotion card `user` may use: a staff member's own store; a rep's stores
    (those they may log actions on); a supervisor's team's; everyone's for company-wide roles."""
    if user.role == Role.STORE_STAFF:
        store = staff_store(user)
        return Customer.objects.filter(pk=store.pk if store else -1)
    if not user.is_active or user.role == Role.ASSISTANT:
        return Customer.objects.none()
    return Customer.objects.filter(customer_scope(user, for_write=True))


def card_store_get(*, user: User, store_id: int) -> Customer:
    store = card_stores(user).filter(pk=store_id).first()
    if store is None:
        raise NotFound([FieldError("store_id", "not_found", _("Store not found."))])
    return store


def promotions_visible(user: User) -> QuerySet[Promotion]:
    """Promotions with at least one store `user` may see (managers: of their scope), newest first."""
    stores = card_stores(user) if user.role == Role.STORE_STAFF else Customer.objects.filter(customer_scope(user))
    return Promotion.objects.filter(stores__in=stores).distinct().order_by("-starts_on", "-pk")


def promotion_get(*, user: User, promotion_id: int) -> Promotion:
    promotion = promotions_visible(user).filter(pk=promotion_id).first()
    if promotion is None:
        raise NotFound([FieldError(None, "not_found", _("Promotion not found."))])
    return promotion


def running_at(store: Customer, day: date) -> list[Promotion]:
    """The promotions a store runs on a day."""
    return list(Promotion.objects.filter(stores=store, starts_on__lte=day, ends_on__gte=day).order_by("ends_on", "pk"))


def store_facts(*, user: User, promotion: Promotion) -> list[compute.StoreFacts]:
    """Each of the promotion's stores `user` may see: reported or not, receipts and discount redeemed."""
    stores = promotion.stores.filter(customer_scope(user) if user.role != Role.STORE_STAFF else Q(pk__in=[]))
    reported = set(ExecutionReport.objects.filter(promotion=promotion).values_list("store_id", flat=True))
    sums: dict[int, tuple[int, Decimal]] = {
        store_id: (receipts, discount)
        for store_id, receipts, discount in Redemption.objects.filter(
            promotion=promotion, day__gte=promotion.starts_on, day__lte=promotion.ends_on
        )
        .values("store_id")
        .annotate(receipts=Sum("receipts"), discount=Sum("discount_total"))
        .values_list("store_id", "receipts", "discount")
    }
    nothing = (0, Decimal(0))
    return [
        compute.StoreFacts(pk, name, region, pk in reported, *sums.get(pk, nothing))
        for pk, name, region in stores.order_by("region", "name").values_list("pk", "name", "region")
    ]


CARD_LISTED = 50


@dataclass(frozen=True)
class Card:
    """What the one-screen promotion card shows at a store."""

    store: Customer
    promotions: list[Promotion]
    stock: dict[int, StockLevel | None]  # promotion id -> its product's latest stock at the store
    today_count: dict[int, int]  # promotion id -> redemptions recorded on cards today
    today: list[Redemption]  # the store's card redemptions today, newest first


def card_of(*, store: Customer, day: date) -> Card:
    promotions = running_at(store, day)
    products = {p.product for p in promotions if p.product}
    levels = {s.product: s for s in StockLevel.objects.filter(store=store, product__in=products)}
    # A store's card redemptions of one day are a till's worth: read once, counted and listed.
    today = list(
        Redemption.objects.filter(store=store, day=day, source=Redemption.Source.CARD)
        .select_related("recorded_by", "promotion")
        .order_by("-created_at")
    )
    counted = Counter(r.promotion_id for r in today)
    return Card(
        store,
        promotions,
        {p.pk: levels.get(p.product) for p in promotions},
        {p.pk: counted[p.pk] for p in promotions},
        today[:CARD_LISTED],
    )


def member_by_phone(phone: str) -> Member | None:
    """A member by the phone as typed (spaces, dashes and +86 ignored)."""
    key = dedupe.phone_key(phone)
    return Member.objects.filter(phone=key).first() if key else None


def placeable_staff(by: User) -> QuerySet[User]:
    """The store-staff accounts `by` may place in a store: every one for company-wide roles, those of
    their own teams for a supervisor, none for anyone else."""
    staff = User.objects.filter(role=Role.STORE_STAFF, is_active=True)
    if by.role in (Role.DIRECTOR, Role.ADMIN) or by.is_superuser:
        return staff
    if by.role == Role.SUPERVISOR and by.team_id is not None:
        return staff.filter(team_id__in=team_subtree_ids(by.team_id))
    return staff.none()
