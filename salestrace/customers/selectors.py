"""Reads of customers, always within the caller's data scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.selectors import policies, threshold_values
from salestrace.core.errors import FieldError, NotFound
from salestrace.customers import dedupe
from salestrace.customers.compute import COLOURS, VitalityBands, idle_days, vitality_colour, vitality_window
from salestrace.customers.models import Customer, CustomerPhone, Deal, PoolMove, StageHistory
from salestrace.customers.rules import PoolPolicy
from salestrace.org.models import Role, Team, User
from salestrace.org.selectors import COMPANY_WIDE, customer_scope, deal_scope, team_chain, team_subtree_ids


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
    qs = Customer.objects.filter(customer_scope(user, for_write=for_write))
    # A writer locks the row only; a reader gets the owner too (pages and answers show it).
    qs = qs.select_for_update() if lock else qs.select_related("owner")
    customer = qs.filter(pk=customer_id).first()
    if customer is None:
        raise _customer_not_found()
    return customer


def customer_ref(*, user: User, customer_id: int, for_write: bool = False) -> Customer:
    """`customer_get` for a caller that needs only to know the customer is in scope, and its id:
    the rest of the row is not loaded (a writer reads it under its lock later)."""
    customer = Customer.objects.filter(customer_scope(user, for_write=for_write), pk=customer_id).only("pk").first()
    if customer is None:
        raise _customer_not_found()
    return customer


def _customer_not_found() -> NotFound:
    return NotFound([FieldError(None, "not_found", _("Customer not found."))])


@dataclass(frozen=True)
class DealFilters:
    customer_id: int | None = None
    owner_id: int | None = None
    outcome: str | None = None
    stage: str | None = None


def deal_list(*, user: User, filters: DealFilters | None = None) -> QuerySet[Deal]:
    """Deals the user may see (those of customers in scope), open ones first, then by expected close."""
    qs = Deal.objects.filter(deal_scope(user)).select_related("owner", "customer")
    f = filters or DealFilters()
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    if f.owner_id is not None:
        qs = qs.filter(owner_id=f.owner_id)
    if f.outcome:
        qs = qs.filter(outcome=f.outcome)
    if f.stage:
        qs = qs.filter(stage=f.stage)
    return qs.order_by("closed_on", F("expected_close").asc(nulls_last=True), "-id")


def deal_get(*, user: User, deal_id: int, for_write: bool = False, lock: bool = False) -> Deal:
    """One deal in scope, or NotFound (absent and out-of-scope look the same)."""
    qs = Deal.objects.filter(deal_scope(user, for_write=for_write))
    qs = qs.select_for_update(of=("self",)) if lock else qs.select_related("owner", "customer")
    deal = qs.filter(pk=deal_id).first()
    if deal is None:
        raise NotFound([FieldError(None, "not_found", _("Deal not found."))])
    return deal


def open_deals(*, customer_id: int) -> list[Deal]:
    """The customer's open deals, oldest first (what the action form offers)."""
    return list(Deal.objects.filter(customer_id=customer_id, outcome=Deal.Outcome.OPEN).order_by("pk"))


def customer_deals(*, customer_id: int) -> list[Deal]:
    """All of a customer's deals for its page: open ones first (oldest first), then closed, latest first."""
    deals = Deal.objects.filter(customer_id=customer_id).select_related("owner")
    opened = [d for d in deals if d.outcome == Deal.Outcome.OPEN]
    closed = [d for d in deals if d.outcome != Deal.Outcome.OPEN]
    return sorted(opened, key=lambda d: d.pk) + sorted(closed, key=lambda d: (d.closed_on, d.pk), reverse=True)


def deal_stage_history(*, deal: Deal) -> QuerySet[StageHistory]:
    """The deal's stage changes, newest first."""
    return deal.stage_history.select_related("changed_by").order_by("-changed_at", "-id")


def customer_stage_history(*, customer: Customer) -> QuerySet[StageHistory]:
    """The customer's stage changes, newest first."""
    return customer.stage_history.select_related("changed_by").order_by("-changed_at", "-id")


def vitality_q(colour: str, bands: VitalityBands, now: datetime, field: str = "active_at") -> Q:
    """Customers of one vitality colour, as a filter on a queryset annotated with `field`.

    Kinds and stages with bands of their own get their own window; everyone else the default one.
    """
    kinds = set(bands.overrides) & set(Customer.Kind.values)
    stages = set(bands.overrides) - kinds

    def window(b: VitalityBands) -> Q:
        after, until = vitality_window(colour, b, now)
        q = Q()
        if after is not None:
            q &= Q(**{f"{field}__gt": after})
        if until is not None:
            q &= Q(**{f"{field}__lte": until})
        return q

    rest = Q()
    if stages:
        rest &= ~Q(stage__in=sorted(stages))
    if kinds:
        rest &= ~Q(kind__in=sorted(kinds))
    match = rest & window(bands)
    for stage in sorted(stages):
        match |= Q(stage=stage) & window(bands.overrides[stage])
    for kind in sorted(kinds):
        match |= Q(kind=kind) & (~Q(stage__in=sorted(stages)) if stages else Q()) & window(bands.overrides[kind])
    return match


def customers_by_urgency(*, user: User, limit: int = 10) -> list[Customer]:
    """The user's own active customers, longest without an action first (never contacted counts from creation)."""
    return list(
        Customer.objects.filter(owner=user, status=Customer.Status.ACTIVE)
        .annotate(active_at=active_at())
        .order_by("active_at", "id")[:limit]
    )


def active_at() -> Coalesce:
    """When a customer was last active: its last action, or its creation for one never contacted."""
    return Coalesce("last_active_at", "created_at")


def colour_counts(bands: VitalityBands, now: datetime, field: str = "active_at") -> dict[str, Count]:
    """One COUNT per vitality colour, judged on `field`: for .aggregate() or a GROUP BY .annotate()."""
    return {colour: Count("pk", filter=vitality_q(colour, bands, now, field)) for colour in COLOURS}


def customer_colour_counts(*, user: User, bands: VitalityBands, now: datetime) -> dict[str, int]:
    """How many of the user's own active customers have each vitality colour; one query."""
    qs = Customer.objects.filter(owner=user, status=Customer.Status.ACTIVE).annotate(active_at=active_at())
    return {colour: int(n) for colour, n in qs.aggregate(**colour_counts(bands, now)).items()}


def pool_policy() -> PoolPolicy:
    """The pool rules of the loaded template."""
    return PoolPolicy.from_catalog(threshold_values(), policies())


def pool_scope(user: User, *, claim_scope: str) -> Q:
    """The pooled leads `user` may see: company-wide roles all; with a 'team' scope, others their team's."""
    if not user.is_active or user.role in (Role.ASSISTANT, Role.STORE_STAFF):
        return Q(pk__in=[])
    if user.role in COMPANY_WIDE or user.is_superuser or claim_scope == "any":
        return Q()
    if user.team_id is None:
        return Q(owner=user)
    teams = team_subtree_ids(user.team_id) if user.role == Role.SUPERVISOR else {user.team_id}
    return Q(owner__team_id__in=teams) | Q(owner=user)


def pool_list(*, user: User, claim_scope: str = "team", q: str | None = None) -> QuerySet[Customer]:
    """The dormant pool as `user` may see it, longest-waiting first.

    Each lead carries `pool_entry_kind`: how its spell began (RELEASED by a person, ENTERED by aging).
    """
    qs = Customer.objects.filter(pool_scope(user, claim_scope=claim_scope), status=Customer.Status.DORMANT)
    if q:
        qs = qs.filter(name__icontains=q)
    entry = _pool_entries().filter(customer=OuterRef("pk"))
    qs = qs.annotate(pool_entry_kind=Subquery(entry.values("kind")[:1]))
    return qs.select_related("owner").order_by("pool_entered_at", "id")


def pool_get(*, user: User, customer_id: int, claim_scope: str) -> Customer:
    """One pooled lead `user` may see (claim or reassign), or NotFound."""
    customer = pool_list(user=user, claim_scope=claim_scope).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound([FieldError(None, "not_found", _("This lead is not in the dormant pool."))])
    return customer


def pool_entry_released(*, customer: Customer) -> bool:
    """Whether the lead's current pool spell began with its owner releasing it (not with aging).

    The spell starts with the newest move in: RELEASED by a person, ENTERED by the nightly sweep.
    """
    kind = getattr(customer, "pool_entry_kind", None)
    if kind is None:
        kind = _pool_entries().filter(customer=customer).values_list("kind", flat=True).first()
    return kind == PoolMove.Kind.RELEASED


def _pool_entries() -> QuerySet[PoolMove]:
    return PoolMove.objects.filter(kind__in=[PoolMove.Kind.RELEASED, PoolMove.Kind.ENTERED]).order_by("-at", "-id")


def customer_pool_moves(*, customer: Customer) -> QuerySet[PoolMove]:
    """The customer's moves into and out of the pool, newest first."""
    return customer.pool_moves.select_related("by", "from_owner", "to_owner").order_by("-at", "-id")


@dataclass(frozen=True)
class CustomerRow:
    """A customer as a list shows it: the row, its idle days and vitality colour."""

    customer: Customer
    idle_days: int
    colour: str


def customer_row(customer: Customer, *, bands: VitalityBands, now: datetime) -> CustomerRow:
    """Vitality of a customer annotated with `active_at` (or its last action / creation time)."""
    active_at = getattr(customer, "active_at", None) or customer.last_active_at or customer.created_at
    days = idle_days(active_at, now)
    return CustomerRow(customer, days, vitality_colour(days, bands.for_customer(customer.kind, customer.stage)))


# --- duplicates (查重) -----------------------------------------------------------------------------

NEAR_CANDIDATES = 2000
DUPLICATES_SHOWN = 5


@dataclass(frozen=True)
class DuplicateMatch:
    """An existing customer that may be the one being created; `exact` when a key is the same."""

    customer_id: int
    name: str
    owner_id: int
    owner_name: str
    reason: str  # "credit_code", "phone", "name", "similar" or "sound"
    score: float
    exact: bool
    status: str


def duplicates_of(
    *, name: str, phones: str = "", credit_code: str = "", exclude_id: int | None = None
) -> list[DuplicateMatch]:
    """Existing customers that may be this one, exact matches first (same credit code, phone or
    normalized name), then near names (rapidfuzz similarity ≥ 85, or the same pinyin); at most five.
    Everyone's customers: the caller decides what the user may learn of them."""
    key = dedupe.name_key(name)
    numbers = dedupe.phone_keys([phones])
    code = dedupe.credit_code(credit_code)
    found: dict[int, DuplicateMatch] = {}
    others = Customer.objects.exclude(pk=exclude_id) if exclude_id else Customer.objects.all()
    fields = ("pk", "name", "owner_id", "owner__display_name", "owner__username", "status")

    def add(rows: Any, reason: str, score: float, exact: bool) -> None:
        for pk, found_name, owner_id, display, username, status in rows:
            if pk not in found or (exact and not found[pk].exact):
                found[pk] = DuplicateMatch(pk, found_name, owner_id, display or username, reason, score, exact, status)

    if code:
        add(others.filter(credit_code=code).values_list(*fields)[:DUPLICATES_SHOWN], "credit_code", 100.0, True)
    if numbers:
        by_phone = others.filter(pk__in=CustomerPhone.objects.filter(number__in=numbers).values("customer_id"))
        add(by_phone.values_list(*fields)[:DUPLICATES_SHOWN], "phone", 100.0, True)
    if key:
        add(others.filter(name_key=key).values_list(*fields)[:DUPLICATES_SHOWN], "name", 100.0, True)
        sound = dedupe.name_sound(name)
        near = others.filter(Q(name_key__startswith=key[:2]) | Q(name_sound=sound)).exclude(name_key=key)
        for row in near.values_list(*fields, "name_key", "name_sound")[:NEAR_CANDIDATES]:
            score = dedupe.key_similarity(key, row[6])
            if score >= dedupe.NEAR_SCORE:
                add([row[:6]], "similar", score, False)
            elif sound and row[7] == sound:
                add([row[:6]], "sound", score, False)
    ranked = sorted(found.values(), key=lambda m: (not m.exact, -m.score, m.customer_id))
    return ranked[:DUPLICATES_SHOWN]


def visible_customer_ids(user: User, ids: list[int]) -> set[int]:
    """Which of `ids` `user` may see (the rest are "held by someone else")."""
    return set(Customer.objects.filter(customer_scope(user), pk__in=ids).values_list("pk", flat=True))


def supervisors_of(user_ids: list[int]) -> list[User]:
    """The nearest active supervisors above each user's team (directors where a team has none)."""
    parents = dict(Team.objects.values_list("pk", "parent_id"))
    managers = list(User.objects.filter(is_active=True, role__in=[Role.SUPERVISOR, Role.DIRECTOR], team__isnull=False))
    chosen: dict[int, User] = {}
    for team_id in User.objects.filter(pk__in=user_ids, team__isnull=False).values_list("team_id", flat=True):
        for role in (Role.SUPERVISOR, Role.DIRECTOR):
            chain = team_chain(team_id, parents)
            nearest = next((t for t in chain if any(m.team_id == t and m.role == role for m in managers)), None)
            if nearest is not None:
                chosen.update({m.pk: m for m in managers if m.team_id == nearest and m.role == role})
                break
    return list(chosen.values())


@dataclass
class DuplicateKeys:
    """Every customer's exact duplicate keys, for an import to look rows up in memory."""

    credit: dict[str, int]
    phone: dict[str, int]
    name: dict[str, int]
    names: dict[int, str]

    def match(self, *, name: str, phones: str, credit_code: str) -> tuple[int, str] | None:
        """(customer id, reason) of the first exact match, or None."""
        if (code := dedupe.credit_code(credit_code)) and code in self.credit:
            return self.credit[code], "credit_code"
        for number in dedupe.phone_keys([phones]):
            if number in self.phone:
                return self.phone[number], "phone"
        if (key := dedupe.name_key(name)) and key in self.name:
            return self.name[key], "name"
        return None

    def add(self, pk: int, *, name: str, phones: str, credit_code: str) -> None:
        self.names[pk] = name
        if code := dedupe.credit_code(credit_code):
            self.credit.setdefault(code, pk)
        for number in dedupe.phone_keys([phones]):
            self.phone.setdefault(number, pk)
        if key := dedupe.name_key(name):
            self.name.setdefault(key, pk)


def duplicate_keys() -> DuplicateKeys:
    keys = DuplicateKeys({}, {}, {}, {})
    for pk, name, code, key in Customer.objects.order_by("pk").values_list("pk", "name", "credit_code", "name_key"):
        keys.names[pk] = name
        if code:
            keys.credit.setdefault(code, pk)
        if key:
            keys.name.setdefault(key, pk)
    for customer_id, number in CustomerPhone.objects.order_by("customer_id").values_list("customer_id", "number"):
        keys.phone.setdefault(number, customer_id)
    return keys


def duplicate_check(
    *, user: User, name: str, phones: str = "", credit_code: str = "", exclude_id: int | None = None
) -> dict[str, Any]:
    """What `user` may learn of the customers that may be this one (before creating it, or of an
    existing one: `exclude_id`): the possible duplicates they can see, and whether one a colleague
    holds exists (exactly or nearly), without its details."""
    matches = duplicates_of(name=name, phones=phones, credit_code=credit_code, exclude_id=exclude_id)
    visible = visible_customer_ids(user, [m.customer_id for m in matches])
    return {
        "matches": [m for m in matches if m.customer_id in visible],
        "held_by_other": any(m.exact and m.customer_id not in visible for m in matches),
        "possibly_held_by_other": any(not m.exact and m.customer_id not in visible for m in matches),
    }
