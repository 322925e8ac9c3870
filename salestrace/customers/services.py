"""The only writers of customers and their stage history."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.selectors import CatalogSnapshot, catalog_snapshot
from salestrace.core.bulk import insert_with_ids, stored_date, stored_datetime, update_rows
from salestrace.core.errors import Conflict, FieldError, InvalidInput, PermissionDenied, RuleViolation
from salestrace.customers import dedupe
from salestrace.customers.compute import pinyin_keys
from salestrace.customers.models import (
    STAGE_LEAD,
    STAGE_LOST,
    STAGE_WON,
    Customer,
    CustomerMerge,
    CustomerPhone,
    Deal,
    PoolMove,
    StageHistory,
)
from salestrace.customers.rules import ClaimRequest, claim_refusals, reactivation_refusal
from salestrace.customers.selectors import (
    DuplicateMatch,
    customer_get,
    deal_get,
    duplicates_of,
    pool_entry_released,
    pool_get,
    pool_policy,
    supervisors_of,
    visible_customer_ids,
)
from salestrace.notify.models import WebhookEvent
from salestrace.notify.webhook_services import webhook_emit
from salestrace.org.models import Role, User
from salestrace.org.selectors import (
    assignable_users,
    can_assign_owner,
    can_import,
    can_log_actions,
    is_manager,
    team_subtree_ids,
)


class LoggedAction(Protocol):
    """An action as a customer follows it (the action log's rows are such; customers never import them)."""

    @property
    def pk(self) -> Any: ...
    @property
    def stage(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def logged_at(self) -> datetime: ...
    @property
    def rep(self) -> User: ...


EDITABLE_FIELDS = (
    "kind",
    "name",
    "region",
    "city",
    "industry",
    "owner_id",
    "phones",
    "address",
    "credit_code",
    "contacts",
)


def customer_brief(customer: Customer) -> dict[str, Any]:
    """A customer as webhook receivers get it."""
    owner = customer.owner if customer.owner_id else None
    return {
        "id": customer.pk,
        "name": customer.name,
        "kind": customer.kind,
        "stage": customer.stage,
        "status": customer.status,
        "owner": owner.username if owner else None,
    }


def deal_brief(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.pk,
        "customer_id": deal.customer_id,
        "title": deal.title,
        "product": deal.product,
        "amount": deal.amount,
        "currency": deal.currency,
        "stage": deal.stage,
        "outcome": deal.outcome,
        "engaged_on": deal.engaged_on,
        "closed_on": deal.closed_on,
        "lost_reason": deal.lost_reason,
        "owner": deal.owner.username if deal.owner_id else None,
    }


def status_for_stage(stage: str) -> str:
    """A customer's status follows its stage: won and lost end the process, anything else is active."""
    if stage == STAGE_WON:
        return Customer.Status.WON
    if stage == STAGE_LOST:
        return Customer.Status.LOST
    return Customer.Status.ACTIVE


@dataclass(frozen=True)
class CustomerInput:
    name: str
    kind: str = Customer.Kind.LEAD
    region: str = ""
    city: str = ""
    industry: str = ""
    stage: str = STAGE_LEAD
    owner_id: int | None = None
    phones: str = ""
    address: str = ""
    credit_code: str = ""
    contacts: str = ""


IDENTITY_LIMITS = {"phones": 200, "address": 300, "contacts": 200}


def _identity(values: dict[str, Any], errors: list[FieldError]) -> dict[str, str]:
    """phones, address, credit code and contacts as stored (trimmed, the code normalized), or errors."""
    out = {name: str(values.get(name) or "").strip() for name in (*IDENTITY_LIMITS, "credit_code")}
    for name, limit in IDENTITY_LIMITS.items():
        if len(out[name]) > limit:
            errors.append(FieldError(name, "too_long", _("At most %(n)d characters.") % {"n": limit}))
    if bad := dedupe.bad_phones(out["phones"]):
        message = _("Not a phone number: %(values)s (separate several numbers with commas).")
        errors.append(FieldError("phones", "invalid", message % {"values": "、".join(bad[:3])}))
    out["credit_code"] = dedupe.credit_code(out["credit_code"])
    if out["credit_code"] and not dedupe.credit_code_valid(out["credit_code"]):
        message = _("Not a valid unified social credit code (18 characters, the last one a check character).")
        errors.append(FieldError("credit_code", "invalid", message))
    return out


def _file_keys(customer: Customer) -> None:
    """The duplicate-check keys of a changed customer: its name's, and one row per phone number (a new
    one gets them as it is created, in `_customer_new`)."""
    customer.name_key, customer.name_sound = dedupe.name_key(customer.name), dedupe.name_sound(customer.name)
    Customer.objects.filter(pk=customer.pk).update(name_key=customer.name_key, name_sound=customer.name_sound)
    numbers = dedupe.phone_keys([customer.phones])
    CustomerPhone.objects.filter(customer=customer).exclude(number__in=numbers).delete()
    have = set(CustomerPhone.objects.filter(customer=customer).values_list("number", flat=True))
    CustomerPhone.objects.bulk_create(CustomerPhone(customer=customer, number=n) for n in numbers if n not in have)


def _check_owner(*, user: User, owner_id: int, errors: list[FieldError]) -> None:
    if owner_id == user.pk:
        return
    if not can_assign_owner(user):
        raise PermissionDenied([FieldError("owner_id", "forbidden", _("You may not assign customers to others."))])
    if not User.objects.filter(assignable_users(user), pk=owner_id).exists():
        errors.append(FieldError("owner_id", "invalid", _("This user cannot own customers in your scope.")))


def _customer_new(*, user: User, data: CustomerInput, owner_id: int, now: datetime) -> Customer:
    """Save a checked new customer (its search keys, the status its stage implies) and its first stage."""
    name = data.name.strip()[:200]
    name_pinyin, name_initials = pinyin_keys(name)
    # The duplicate-check keys go in with the row (`_file_keys` is for a customer that changes: an
    # import of thousands spent three of its eight queries a customer on keys it could not yet have).
    customer = Customer.objects.create(
        kind=data.kind,
        name=name,
        name_pinyin=name_pinyin,
        name_initials=name_initials,
        name_key=dedupe.name_key(name),
        name_sound=dedupe.name_sound(name),
        region=data.region.strip(),
        city=data.city.strip(),
        industry=data.industry.strip(),
        phones=data.phones.strip(),
        address=data.address.strip(),
        credit_code=dedupe.credit_code(data.credit_code),
        contacts=data.contacts.strip(),
        owner_id=owner_id,
        stage=data.stage,
        status=status_for_stage(data.stage),
        assigned_at=now,
        created_at=now,
        updated_at=now,
    )
    if numbers := dedupe.phone_keys([customer.phones]):
        CustomerPhone.objects.bulk_create(CustomerPhone(customer=customer, number=n) for n in numbers)
    StageHistory.objects.create(customer=customer, from_stage="", to_stage=data.stage, changed_at=now, changed_by=user)
    return customer


DUPLICATE_REASONS = {
    "credit_code": _("the same credit code"),
    "phone": _("the same phone number"),
    "name": _("the same name"),
    "similar": _("a similar name"),
    "sound": _("a name that sounds the same"),
}
DUPLICATE_CHOICES = ("check", "create", "merge")


def _duplicate_refusals(user: User, data: CustomerInput, duplicates: str, now: datetime) -> list[DuplicateMatch]:
    """The existing customers this one may be; raises when the create must not go ahead.

    Exact matches are never created twice: the user opens or merges the one they can see, or learns
    only that someone else holds it (撞单), and the supervisors are told. Near matches are shown
    first and created only when the user says so (`duplicates="create"`)."""
    matches = duplicates_of(name=data.name, phones=data.phones, credit_code=data.credit_code)
    exact = [m for m in matches if m.exact]
    visible = visible_customer_ids(user, [m.customer_id for m in matches])
    hidden_exact = [m for m in exact if m.customer_id not in visible]
    if hidden_exact:
        _tell_supervisors_of_clash(user, data, hidden_exact[0], now)
        held = _(
            "This customer is already held by a colleague, so it is not created again; your supervisor has been told."
        )
        raise RuleViolation([FieldError("name", "held_by_other", held)])
    if exact and duplicates != "merge":
        m = exact[0]
        same = _(
            "Already a customer: %(name)s (#%(id)d), owner %(owner)s (%(reason)s). Open it, or merge what you typed into it."
        ) % {"name": m.name, "id": m.customer_id, "owner": m.owner_name, "reason": DUPLICATE_REASONS[m.reason]}
        raise RuleViolation([FieldError("name", "duplicate", same)])
    near = [m for m in matches if not m.exact]
    if near and not exact and duplicates == "check":
        shown = [m for m in near if m.customer_id in visible]
        if shown:
            names = "；".join(
                _("%(name)s, owner %(owner)s") % {"name": m.name, "owner": m.owner_name} for m in shown[:3]
            )
            message = str(
                _("Possibly a duplicate: %(names)s. Check, then save again to create it anyway.") % {"names": names}
            )
        else:
            message = str(
                _(
                    "Possibly the same as a customer a colleague holds. Check the name, then save again to create it anyway."
                )
            )
        raise RuleViolation([FieldError("name", "possible_duplicate", message)])
    return exact


def _tell_supervisors_of_clash(user: User, data: CustomerInput, match: DuplicateMatch, now: datetime) -> None:
    """撞单: a rep tried to create a customer a colleague holds; the supervisors over both hear of it
    (in their own transaction: the refused create rolls back, the notice must not)."""
    from salestrace.notify.services import notify_user
    from salestrace.notify.transports import Line, Message

    for supervisor in supervisors_of([user.pk, match.owner_id]):
        with translation.override(supervisor.message_language):
            title = _("Customer clash (撞单): %(rep)s tried to create %(name)s") % {
                "rep": user,
                "name": data.name.strip(),
            }
            line = _("Held by %(owner)s as %(existing)s (%(reason)s).") % {
                "owner": match.owner_name,
                "existing": match.name,
                "reason": DUPLICATE_REASONS[match.reason],
            }
            message = Message(title=str(title), lines=(Line(str(line)),))
        notify_user(
            user=supervisor,
            message=message,
            dedupe_key=f"clash:{user.pk}:{match.customer_id}:{timezone.localdate(now).isoformat()}:{supervisor.pk}",
            source="clash",
            now=now,
        )


def customer_create(*, user: User, data: CustomerInput, now: datetime, duplicates: str = "check") -> Customer:
    """A new customer owned by `user` unless a supervisor or above names another owner in scope;
    checked against the existing ones first (`_duplicate_refusals`). With `duplicates="merge"` and
    an exact match the user can see, what was typed is merged into that customer, which is returned
    (its `created_at` is then before `now`)."""
    if not can_log_actions(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Your role may not create customers."))])
    if duplicates not in DUPLICATE_CHOICES:
        raise InvalidInput([FieldError("duplicates", "invalid_choice", _("Choose check, create or merge."))])
    errors: list[FieldError] = []
    if not data.name.strip():
        errors.append(FieldError("name", "required", _("The customer name is required.")))
    _identity(data.__dict__, errors)
    owner_id = data.owner_id if data.owner_id is not None else user.pk
    _check_owner(user=user, owner_id=owner_id, errors=errors)
    snapshot = catalog_snapshot()
    if data.stage not in snapshot.active_codes.get("stage", frozenset()):
        errors.append(FieldError("stage", "invalid_choice", _("Unknown or inactive stage.")))
    if errors:
        raise RuleViolation(errors)
    exact = _duplicate_refusals(user, data, duplicates, now)
    with transaction.atomic():
        if exact:
            return _merge_typed(user=user, customer_id=exact[0].customer_id, data=data, now=now)
        return _customer_new(user=user, data=data, owner_id=owner_id, now=now)


def _merge_typed(*, user: User, customer_id: int, data: CustomerInput, now: datetime) -> Customer:
    """What a user typed for a customer that already exists, added to it where it had nothing (a
    phone number it lacked, the address, the credit code, a contact)."""
    customer = customer_get(user=user, customer_id=customer_id, for_write=True, lock=True)
    fields = []
    for name in ("address", "credit_code", "region", "city", "industry"):
        if not getattr(customer, name) and (value := str(getattr(data, name)).strip()):
            setattr(customer, name, dedupe.credit_code(value) if name == "credit_code" else value)
            fields.append(name)
    have = dedupe.phone_keys([customer.phones])
    phones = [p for p in dedupe.split_phones(data.phones) if dedupe.phone_key(p) not in have]
    contacts = [c for c in dedupe.split_names(data.contacts) if c not in dedupe.split_names(customer.contacts)]
    for name, added, sep in (("phones", phones, ", "), ("contacts", contacts, "、")):
        current = getattr(customer, name)
        merged = sep.join([current, *added] if current else added)
        if added and len(merged) <= IDENTITY_LIMITS[name]:
            setattr(customer, name, merged)
            fields.append(name)
    if fields:
        customer.updated_at = now
        customer.save(update_fields=[*fields, "updated_at"])
        _file_keys(customer)
    return customer


def customer_update_check(*, user: User, customer: Customer, changes: dict[str, Any]) -> dict[str, Any]:
    """The editable fields of `changes`, or every reason `user` may not make them (raises).

    The admin's form asks this before saving; `customer_update` asks it again under the lock.
    """
    errors: list[FieldError] = []
    changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    if "name" in changes and not str(changes["name"]).strip():
        errors.append(FieldError("name", "required", _("The customer name is required.")))
    if identity := {k: v for k, v in changes.items() if k in (*IDENTITY_LIMITS, "credit_code")}:
        changes |= {k: v for k, v in _identity(identity, errors).items() if k in identity}
    if "owner_id" in changes and changes["owner_id"] != customer.owner_id:
        if changes["owner_id"] is None:
            errors.append(FieldError("owner_id", "required", _("A customer needs an owner.")))
        else:
            before = len(errors)
            _check_owner(user=user, owner_id=changes["owner_id"], errors=errors)  # may refuse outright (403)
            if customer.status == Customer.Status.DORMANT and len(errors) == before:
                message = _("This lead is in the dormant pool: reassign it there.")
                errors.append(FieldError("owner_id", "frozen", message))
    if errors:
        raise RuleViolation(errors)
    return changes


@transaction.atomic
def customer_update(*, user: User, customer_id: int, changes: dict[str, Any], now: datetime) -> Customer:
    """Change a customer's details; stage and status move only through the action log.

    A new owner is recorded as a reassignment (PoolMove) and starts a new spell (`assigned_at`).
    """
    customer = customer_get(user=user, customer_id=customer_id, for_write=True, lock=True)
    changes = customer_update_check(user=user, customer=customer, changes=changes)
    previous_owner_id = customer.owner_id
    owner_changed = "owner_id" in changes and changes["owner_id"] != previous_owner_id
    for name, value in changes.items():
        setattr(customer, name, value.strip() if isinstance(value, str) else value)
    fields = [*changes.keys(), "updated_at"]
    if owner_changed:
        # A new owner starts a new spell: the idle clock and the pool-claim count start over.
        customer.assigned_at, customer.from_pool = now, False
        fields += ["assigned_at", "from_pool"]
        PoolMove.objects.create(
            customer=customer,
            kind=PoolMove.Kind.REASSIGNED,
            at=now,
            by=user,
            from_owner_id=previous_owner_id,
            to_owner_id=customer.owner_id,
        )
    if "name" in changes:
        customer.name_pinyin, customer.name_initials = pinyin_keys(customer.name)
        fields += ["name_pinyin", "name_initials"]
    customer.updated_at = now
    customer.save(update_fields=fields)
    if "name" in changes or "phones" in changes:
        _file_keys(customer)
    return customer


COORDINATE_STEP = Decimal("0.000001")  # the 6 decimals (~0.1 m) a phone reports and the columns keep


def coordinate_errors(latitude: Decimal | None, longitude: Decimal | None) -> list[FieldError]:
    """Every problem of a WGS-84 position: both or neither, each within its range."""
    errors: list[FieldError] = []
    if (latitude is None) != (longitude is None):
        errors.append(FieldError("latitude", "required", _("Give both the latitude and the longitude, or neither.")))
    if latitude is not None and not Decimal(-90) <= latitude <= Decimal(90):
        errors.append(FieldError("latitude", "out_of_range", _("A latitude is between -90 and 90.")))
    if longitude is not None and not Decimal(-180) <= longitude <= Decimal(180):
        errors.append(FieldError("longitude", "out_of_range", _("A longitude is between -180 and 180.")))
    return errors


def coordinates_rounded(latitude: Decimal | None, longitude: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """A checked position as the columns keep it (None, None when either is missing)."""
    if latitude is None or longitude is None:
        return None, None
    return latitude.quantize(COORDINATE_STEP), longitude.quantize(COORDINATE_STEP)


@transaction.atomic
def customer_locate(
    *, user: User, customer_id: int, latitude: Decimal | None, longitude: Decimal | None, now: datetime
) -> Customer:
    """Set (or clear, with both None) where a store is, WGS-84 degrees; check-ins are measured against it.

    Supervisors and above only: a rep who could move their own store would never be out of range.
    """
    if not is_manager(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only a supervisor may set where a store is."))])
    customer = customer_get(user=user, customer_id=customer_id, for_write=True, lock=True)
    if errors := coordinate_errors(latitude, longitude):
        raise RuleViolation(errors)
    customer.latitude, customer.longitude = coordinates_rounded(latitude, longitude)
    customer.updated_at = now
    customer.save(update_fields=["latitude", "longitude", "updated_at"])
    return customer


def customer_record_action(*, customer: Customer, action: LoggedAction) -> None:
    """Move the customer to the action's stage and mark it active, if the action is its latest.

    A back-dated action older than the latest one changes nothing: the log is ordered by when
    things happened, not by when they were typed in.
    """
    _revive(customer, action)
    if customer.last_active_at is not None and action.occurred_at < customer.last_active_at:
        return
    _follow_action(customer, action, changed_at=action.occurred_at, by=action.rep, now=action.logged_at)


def _revive(customer: Customer, action: LoggedAction) -> None:
    """A pooled lead leaves the pool with an allowed action (recorded), whatever time it is dated."""
    if customer.status == Customer.Status.DORMANT:
        PoolMove.objects.create(
            customer=customer,
            kind=PoolMove.Kind.REACTIVATED,
            at=action.logged_at,
            by=action.rep,
            from_owner_id=customer.owner_id,
            to_owner_id=customer.owner_id,
        )
        customer.status = status_for_stage(customer.stage)
        customer.pool_entered_at = None
        customer.assigned_at = action.logged_at
        customer.updated_at = action.logged_at
        customer.save(update_fields=["status", "pool_entered_at", "assigned_at", "updated_at"])


def customer_recompute_from_log(*, customer: Customer, by: User, now: datetime) -> None:
    """After an edit of a logged action: stage and last active time follow the latest action again.

    Never a way out of the pool: a dormant lead stays dormant (only a new action or a claim revives it).
    """
    latest = customer.actions.order_by("-occurred_at", "-id").first()
    if latest is None:
        return
    _follow_action(customer, latest, changed_at=now, by=by, now=now)


def _follow_action(
    customer: Customer, action: LoggedAction, *, changed_at: datetime, by: User | None, now: datetime
) -> None:
    """The customer takes the stage and last active time of `action`, with a history row if the stage moves.

    A dormant customer keeps its status: leaving the pool is recorded by the caller (a PoolMove).
    """
    fields = ["last_active_at", "status", "updated_at"]
    moved_from = None
    if action.stage != customer.stage:
        StageHistory.objects.create(
            customer=customer,
            from_stage=customer.stage,
            to_stage=action.stage,
            changed_at=changed_at,
            action_id=action.pk,
            changed_by=by,
        )
        moved_from, customer.stage = customer.stage, action.stage
        fields.append("stage")
    customer.last_active_at = action.occurred_at
    if customer.status != Customer.Status.DORMANT:
        customer.status = status_for_stage(customer.stage)
    customer.updated_at = now
    customer.save(update_fields=fields)
    if moved_from is not None:
        _stage_changed(lambda: customer, None, moved_from, action, changed_at, now)


def _stage_changed(
    customer: Callable[[], Customer],
    deal: Deal | None,
    from_stage: str,
    action: LoggedAction,
    changed_at: datetime,
    now: datetime,
) -> None:
    webhook_emit(
        event=WebhookEvent.STAGE_CHANGED,
        data=lambda: {
            "customer": customer_brief(customer()),
            "deal": deal_brief(deal) if deal is not None else None,
            "from_stage": from_stage,
            "to_stage": action.stage,
            "changed_at": changed_at,
            "action_id": action.pk,
        },
        now=now,
    )


# --- deals (商机) ----------------------------------------------------------------------------------

DEAL_EDITABLE_FIELDS = (
    "title",
    "product",
    "amount",
    "currency",
    "engaged_on",
    "expected_close",
    "owner_id",
    "lost_reason",
)
CLOSED_STAGES = {STAGE_WON: Deal.Outcome.WON, STAGE_LOST: Deal.Outcome.LOST}
MAX_AMOUNT = Decimal("99999999999999.99")


@dataclass(frozen=True)
class DealInput:
    title: str
    product: str = ""
    amount: Decimal = Decimal("0")
    currency: str = "CNY"
    engaged_on: date | None = None
    expected_close: date | None = None
    owner_id: int | None = None


def _deals_used() -> None:
    if not catalog_snapshot().uses_deals:
        raise RuleViolation([FieldError(None, "deals_not_used", _("The loaded template does not use deals."))])


def _deal_errors(values: dict[str, Any]) -> list[FieldError]:
    """What is wrong with a deal's editable values (only those given)."""
    errors: list[FieldError] = []
    if "title" in values and not str(values["title"] or "").strip():
        errors.append(FieldError("title", "required", _("The deal needs a title.")))
    if "amount" in values:
        amount = values["amount"]
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
            errors.append(FieldError("amount", "invalid", _("The amount must be a number from 0 up.")))
        elif amount != amount.quantize(Decimal("0.01")):
            errors.append(FieldError("amount", "invalid", _("The amount has at most two decimal places.")))
    if "currency" in values:
        currency = str(values["currency"] or "")
        if len(currency) != 3 or not currency.isascii() or not currency.isalpha() or not currency.isupper():
            errors.append(FieldError("currency", "invalid", _("The currency is a three-letter code such as CNY.")))
    engaged, expected = values.get("engaged_on"), values.get("expected_close")
    if engaged is not None and expected is not None and expected < engaged:
        errors.append(
            FieldError("expected_close", "before_engaged", _("The expected close cannot be before the engaged date."))
        )
    return errors


def _refuse_on_pool(user: User, customer: Customer, now: datetime) -> None:
    if refusal := action_on_dormant_refusal(user=user, customer=customer, now=now):
        raise RuleViolation([refusal])
    if customer.status == Customer.Status.DORMANT:
        raise RuleViolation([FieldError(None, "dormant", _CLAIM_MESSAGES["dormant"])])


@transaction.atomic
def deal_create(*, user: User, customer_id: int, data: DealInput, now: datetime) -> Deal:
    """A new open deal on a customer in write scope, at the template's first stage.

    Owned by `user` unless a supervisor or above names another owner in scope. A pooled lead
    gets no new deal: an action takes it back first.
    """
    _deals_used()
    if not can_log_actions(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Your role may not create deals."))])
    customer = customer_get(user=user, customer_id=customer_id, for_write=True, lock=True)
    _refuse_on_pool(user, customer, now)
    engaged_on = data.engaged_on or timezone.localdate(now)
    values = {**data.__dict__, "engaged_on": engaged_on}
    errors = _deal_errors(values)
    owner_id = data.owner_id if data.owner_id is not None else user.pk
    _check_owner(user=user, owner_id=owner_id, errors=errors)
    if errors:
        raise RuleViolation(errors)
    deal = _new_deal(customer, title=data.title.strip(), owner_id=owner_id, engaged_on=engaged_on, by=user, now=now)
    deal.product, deal.amount, deal.currency = data.product.strip(), data.amount, data.currency
    deal.expected_close = data.expected_close
    deal.save(update_fields=["product", "amount", "currency", "expected_close"])
    _customer_follow_deals(customer, now=now)
    return deal


def _new_deal(
    customer: Customer,
    *,
    title: str,
    owner_id: int,
    engaged_on: date,
    by: User | None,
    now: datetime,
    snapshot: CatalogSnapshot | None = None,
) -> Deal:
    stages = (snapshot or catalog_snapshot()).stage_order
    first = stages[0] if stages else STAGE_LEAD
    deal = Deal.objects.create(
        customer=customer,
        title=title[:200],
        owner_id=owner_id,
        engaged_on=engaged_on,
        stage=first,
        created_at=now,
        updated_at=now,
    )
    StageHistory.objects.create(
        customer=customer, deal=deal, from_stage="", to_stage=first, changed_at=now, changed_by=by
    )
    return deal


@transaction.atomic
def deal_update(*, user: User, deal_id: int, changes: dict[str, Any], now: datetime) -> Deal:
    """Change a deal's details (title, products, amount, currency, dates, owner, reason lost);
    its stage and outcome move only through the action log."""
    deal = deal_get(user=user, deal_id=deal_id, for_write=True, lock=True)
    changes = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items() if k in DEAL_EDITABLE_FIELDS}
    errors = _deal_errors({"engaged_on": deal.engaged_on, "expected_close": deal.expected_close, **changes})
    if "engaged_on" in changes and changes["engaged_on"] is None:
        errors.append(FieldError("engaged_on", "required", _("The deal needs its engaged date.")))
    if changes.get("owner_id", deal.owner_id) != deal.owner_id:
        if changes["owner_id"] is None:
            errors.append(FieldError("owner_id", "required", _("A deal needs an owner.")))
        else:
            _check_owner(user=user, owner_id=changes["owner_id"], errors=errors)
    if errors:
        raise RuleViolation(errors)
    for name, value in changes.items():
        setattr(deal, name, value)
    deal.updated_at = now
    deal.save(update_fields=[*changes.keys(), "updated_at"])
    return deal


def deal_for_action(
    *, user: User, customer: Customer, deal_id: int | None, occurred_at: datetime, snapshot: CatalogSnapshot
) -> Deal | None:
    """The deal an action on `customer` works on (locked), or None where the template has no deals.

    Named: it must be one of the customer's open deals. Not named: the one open deal; with
    several, the rep must choose; with none, a new deal opens (titled after the customer, engaged
    the day of the action) so that every action of a project template counts for a deal.
    """
    if not snapshot.uses_deals:
        if deal_id is not None:
            raise InvalidInput([FieldError("deal_id", "deals_not_used", _("The loaded template does not use deals."))])
        return None
    if deal_id is not None:
        deal = Deal.objects.select_for_update(of=("self",)).filter(pk=deal_id, customer_id=customer.pk).first()
        if deal is None:
            raise InvalidInput([FieldError("deal_id", "unknown_deal", _("This deal is not one of this customer's."))])
        if deal.outcome != Deal.Outcome.OPEN:
            message = _(
                "This deal is closed (won or lost): log on an open deal, or leave the deal empty to start a new one."
            )
            raise RuleViolation([FieldError("deal_id", "deal_closed", message)])
        return deal
    candidates = list(
        Deal.objects.select_for_update(of=("self",)).filter(customer_id=customer.pk, outcome=Deal.Outcome.OPEN)[:2]
    )
    if len(candidates) > 1:
        raise RuleViolation([FieldError("deal_id", "required", _("This customer has several open deals: choose one."))])
    if candidates:
        return candidates[0]
    return _new_deal(
        customer,
        title=customer.name,
        owner_id=customer.owner_id,
        engaged_on=timezone.localdate(occurred_at),
        by=user,
        now=occurred_at,
    )


def deal_record_action(*, customer: Customer, deal: Deal, action: LoggedAction) -> None:
    """The deal takes the action's stage if the action is its latest (won and lost close it, on the
    day of the action); the customer then shows its most advanced open deal."""
    _revive(customer, action)
    if deal.last_action_at is None or action.occurred_at >= deal.last_action_at:
        _deal_follow(deal, action, changed_at=action.occurred_at, by=action.rep, now=action.logged_at)
    if customer.last_active_at is None or action.occurred_at >= customer.last_active_at:
        customer.last_active_at = action.occurred_at
    _customer_follow_deals(customer, now=action.logged_at)


def deal_recompute_from_log(*, customer: Customer, deal_id: int, by: User, now: datetime) -> None:
    """After an edit of one of the deal's actions: the deal follows its latest action again, and
    the customer its deals and its latest action (a pooled lead stays pooled)."""
    deal = Deal.objects.select_for_update(of=("self",)).get(pk=deal_id)
    latest = deal.actions.order_by("-occurred_at", "-id").first()
    if latest is not None:
        _deal_follow(deal, latest, changed_at=now, by=by, now=now)
    newest = customer.actions.order_by("-occurred_at", "-id").values_list("occurred_at", flat=True).first()
    customer.last_active_at = newest or customer.last_active_at
    _customer_follow_deals(customer, now=now)


def _deal_follow(deal: Deal, action: LoggedAction, *, changed_at: datetime, by: User | None, now: datetime) -> None:
    fields = ["last_action_at", "updated_at"]
    moved_from = None
    if action.stage != deal.stage:
        StageHistory.objects.create(
            customer_id=deal.customer_id,
            deal=deal,
            from_stage=deal.stage,
            to_stage=action.stage,
            changed_at=changed_at,
            action_id=action.pk,
            changed_by=by,
        )
        moved_from, deal.stage = deal.stage, action.stage
        fields.append("stage")
    outcome = CLOSED_STAGES.get(deal.stage, Deal.Outcome.OPEN)
    closed = outcome != deal.outcome and outcome != Deal.Outcome.OPEN
    if outcome != deal.outcome:
        deal.outcome = outcome
        deal.closed_on = None if outcome == Deal.Outcome.OPEN else timezone.localdate(action.occurred_at)
        fields += ["outcome", "closed_on"]
    deal.last_action_at = action.occurred_at
    deal.updated_at = now
    deal.save(update_fields=fields)
    if moved_from is not None:
        _stage_changed(lambda: deal.customer, deal, moved_from, action, changed_at, now)
    if closed:
        event = WebhookEvent.DEAL_WON if outcome == Deal.Outcome.WON else WebhookEvent.DEAL_LOST
        webhook_emit(
            event=event,
            data=lambda: {"deal": deal_brief(deal), "customer": customer_brief(deal.customer), "action_id": action.pk},
            now=now,
        )


def _customer_follow_deals(customer: Customer, *, now: datetime) -> None:
    """The customer shows its most advanced open deal's stage (by the template's stage order); with
    none open, the latest closed one's outcome. Its status follows, unless it is in the pool."""
    order = {code: i for i, code in enumerate(catalog_snapshot().stage_order)}
    deals = list(Deal.objects.filter(customer_id=customer.pk).values_list("stage", "outcome", "closed_on", "pk"))
    open_stages = [stage for stage, outcome, _closed, _pk in deals if outcome == Deal.Outcome.OPEN]
    stage = customer.stage
    if open_stages:
        stage = max(open_stages, key=lambda code: order.get(code, -1))
    elif deals:
        stage = max(deals, key=lambda d: (d[2] or date.min, d[3]))[0]
    customer.stage = stage
    if customer.status != Customer.Status.DORMANT:
        customer.status = status_for_stage(stage)
    customer.updated_at = now
    customer.save(update_fields=["stage", "status", "last_active_at", "updated_at"])


# --- the dormant pool ----------------------------------------------------------------------------

_CLAIM_MESSAGES = {
    "role_not_allowed": _("Your role may not claim leads from the pool."),
    "other_team": _("This lead belongs to another team's pool."),
    "locked_out": _("You released this lead recently; you may reclaim it once the lockout has passed."),
    "dormant": _("This lead is in the dormant pool: log a new action to take it back, then correct the old one."),
    "limit_reached": _("You already hold as many leads from the pool as the rules allow."),
}


def action_on_dormant_refusal(*, user: User, customer: Customer, now: datetime) -> FieldError | None:
    """Why `user` may not log on this pooled lead yet (its frozen owner during the lockout), or None."""
    if customer.status != Customer.Status.DORMANT:
        return None
    code = reactivation_refusal(
        actor_id=user.pk,
        owner_id=customer.owner_id,
        pool_entered_at=customer.pool_entered_at,
        released=pool_entry_released(customer=customer),
        policy=pool_policy(),
        now=now,
    )
    return FieldError("customer_id", code, _CLAIM_MESSAGES[code]) if code else None


def action_edit_refusal(*, user: User, customer: Customer, moves_customer: bool, now: datetime) -> FieldError | None:
    """Why `user` may not edit an action of this customer (locked, in write scope), or None.

    The pool rules of a new action hold; and an edit that would move the customer (its time or
    stage) leaves a pooled lead alone: only a new action (or a claim) takes it out, recorded.
    """
    if refusal := action_on_dormant_refusal(user=user, customer=customer, now=now):
        return refusal
    if moves_customer and customer.status == Customer.Status.DORMANT:
        return FieldError(None, "dormant", _CLAIM_MESSAGES["dormant"])
    return None


def _move_out(customer: Customer, *, kind: str, by: User, to_owner_id: int, now: datetime, reason: str = "") -> bool:
    """Take a lead out of the pool if it is still there; False when someone else was first."""
    moved = Customer.objects.filter(pk=customer.pk, status=Customer.Status.DORMANT).update(
        status=status_for_stage(customer.stage),
        owner_id=to_owner_id,
        assigned_at=now,
        pool_entered_at=None,
        from_pool=True,
        updated_at=now,
    )
    if moved:
        PoolMove.objects.create(
            customer=customer,
            kind=kind,
            at=now,
            by=by,
            from_owner_id=customer.owner_id,
            to_owner_id=to_owner_id,
            reason=reason,
        )
    return moved == 1


@transaction.atomic
def pool_claim(*, user: User, customer_id: int, now: datetime) -> Customer:
    """Claim a dormant lead; exactly one of two racing claimers wins, the other gets a Conflict."""
    policy = pool_policy()
    # The claimer's row is the lock of their holding limit: two claims by one person queue here, so
    # the second counts the first (PostgreSQL; SQLite's IMMEDIATE transactions already queue).
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    customer = pool_get(user=user, customer_id=customer_id, claim_scope=policy.claim_scope)
    held = Customer.objects.filter(owner=user, from_pool=True, status=Customer.Status.ACTIVE).count()
    teams: set[int] = set()
    if user.team_id is not None:
        teams = team_subtree_ids(user.team_id) if user.role == Role.SUPERVISOR else {user.team_id}
    request = ClaimRequest(
        claimer_id=user.pk,
        claimer_role=user.role,
        claimer_team_ids=frozenset(teams),
        previous_owner_id=customer.owner_id,
        previous_owner_team_id=customer.owner.team_id,
        pool_entered_at=customer.pool_entered_at or now,
        held_from_pool=held,
        released=pool_entry_released(customer=customer),
    )
    if refusals := claim_refusals(request, policy, now=now):
        raise RuleViolation([FieldError(None, code, _CLAIM_MESSAGES[code]) for code in refusals])
    if not _move_out(customer, kind=PoolMove.Kind.CLAIMED, by=user, to_owner_id=user.pk, now=now):
        raise Conflict([FieldError(None, "already_claimed", _("Someone else claimed this lead first."))])
    customer.refresh_from_db()
    return customer


@transaction.atomic
def pool_reassign(*, user: User, customer_id: int, owner_id: int, reason: str, now: datetime) -> Customer:
    """A supervisor or above gives a pooled lead to someone in scope."""
    if not can_assign_owner(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only supervisors and above may reassign leads."))])
    customer = pool_get(user=user, customer_id=customer_id, claim_scope=pool_policy().claim_scope)
    if not User.objects.filter(assignable_users(user), pk=owner_id).exists():
        raise RuleViolation([FieldError("owner_id", "invalid", _("This user cannot own customers in your scope."))])
    if not _move_out(customer, kind=PoolMove.Kind.REASSIGNED, by=user, to_owner_id=owner_id, now=now, reason=reason):
        raise Conflict([FieldError(None, "already_claimed", _("Someone else claimed this lead first."))])
    customer.refresh_from_db()
    return customer


@transaction.atomic
def pool_release(*, user: User, customer_id: int, reason: str, now: datetime) -> Customer:
    """The owner (or a manager in scope) gives up an active lead: it goes to the pool at once."""
    customer = customer_get(user=user, customer_id=customer_id, for_write=True, lock=True)
    if user.role == Role.REP and customer.owner_id != user.pk:
        raise PermissionDenied([FieldError(None, "forbidden", _("Only the owner may release this lead."))])
    if customer.status != Customer.Status.ACTIVE:
        raise RuleViolation([FieldError(None, "not_active", _("Only an active lead can be released to the pool."))])
    Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.DORMANT, pool_entered_at=now, updated_at=now)
    PoolMove.objects.create(
        customer=customer, kind=PoolMove.Kind.RELEASED, at=now, by=user, from_owner_id=customer.owner_id, reason=reason
    )
    customer.refresh_from_db()
    webhook_emit(
        event=WebhookEvent.CUSTOMER_DORMANT,
        data=lambda: {"reason": "released", "customers": [customer_brief(customer)]},
        now=now,
    )
    return customer


# --- imports: history from another system ----------------------------------------------------------
# An import brings in what already happened elsewhere: customers created long ago, deals engaged,
# won and lost on their own dates. These paths keep the checks of the ordinary ones (names, stages,
# owners, amounts) and the importer's permission, but take the history's dates instead of `now`.


def _refuse_unless_importer(user: User) -> None:
    if not can_import(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins and assistants may import data."))])


def _import_owner_errors(owner_id: int | None, errors: list[FieldError]) -> None:
    if owner_id is None:
        errors.append(FieldError("owner", "required", _("The owner is required.")))
    elif (
        not User.objects.filter(pk=owner_id, is_active=True)
        .exclude(role__in=[Role.ASSISTANT, Role.STORE_STAFF])
        .exists()
    ):
        errors.append(FieldError("owner", "invalid", _("This user cannot own customers.")))


@transaction.atomic
def customer_import(*, user: User, data: CustomerInput, now: datetime) -> Customer:
    """A customer from an import, owned by the named active user (any team: importers act for the
    company); its stage is the template's first unless the data names another."""
    _refuse_unless_importer(user)
    errors: list[FieldError] = []
    if not data.name.strip():
        errors.append(FieldError("name", "required", _("The customer name is required.")))
    _import_owner_errors(data.owner_id, errors)
    _identity(data.__dict__, errors)
    if data.stage not in catalog_snapshot().active_codes.get("stage", frozenset()):
        errors.append(FieldError("stage", "invalid_choice", _("Unknown or inactive stage.")))
    if errors:
        raise RuleViolation(errors)
    assert data.owner_id is not None  # checked above
    return _customer_new(user=user, data=data, owner_id=data.owner_id, now=now)


@transaction.atomic
def customer_import_update(*, user: User, customer_id: int, data: CustomerInput, now: datetime) -> bool:
    """A re-imported customer's details follow the file (name, kind, region, city, industry, owner);
    False when nothing differs. A new owner is recorded as a reassignment, as in `customer_update`;
    a pooled lead keeps its frozen owner."""
    _refuse_unless_importer(user)
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer_id)
    wanted: dict[str, Any] = {
        "name": data.name.strip()[:200],
        "kind": data.kind,
        "region": data.region.strip(),
        "city": data.city.strip(),
        "industry": data.industry.strip(),
        "owner_id": data.owner_id,
        "phones": data.phones.strip(),
        "address": data.address.strip(),
        "credit_code": dedupe.credit_code(data.credit_code),
        "contacts": data.contacts.strip(),
    }
    if customer.status == Customer.Status.DORMANT:
        wanted.pop("owner_id")
    changes = {k: v for k, v in wanted.items() if v not in (None, "") and getattr(customer, k) != v}
    if not changes:
        return False
    errors: list[FieldError] = []
    if "owner_id" in changes:
        _import_owner_errors(changes["owner_id"], errors)
    _identity(changes, errors)
    if errors:
        raise RuleViolation(errors)
    if "owner_id" in changes:
        PoolMove.objects.create(
            customer=customer,
            kind=PoolMove.Kind.REASSIGNED,
            at=now,
            by=user,
            from_owner_id=customer.owner_id,
            to_owner_id=changes["owner_id"],
            reason=str(_("Import")),
        )
        customer.assigned_at = now
    if "name" in changes:
        customer.name_pinyin, customer.name_initials = pinyin_keys(changes["name"])
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.updated_at = now
    customer.save()
    if "name" in changes or "phones" in changes:
        _file_keys(customer)
    return True


@dataclass(frozen=True)
class DealRecord:
    """A deal as another system knew it: its details, where it stands and how it ended."""

    title: str
    owner_id: int
    engaged_on: date
    stage: str
    outcome: str = Deal.Outcome.OPEN
    closed_on: date | None = None
    product: str = ""
    amount: Decimal = Decimal("0")
    currency: str = "CNY"
    expected_close: date | None = None
    lost_reason: str = ""


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _deal_record_errors(data: DealRecord, snapshot: CatalogSnapshot) -> list[FieldError]:
    values = {k: v for k, v in data.__dict__.items() if k in DEAL_EDITABLE_FIELDS and k != "owner_id"}
    errors = _deal_errors(values)
    _import_owner_errors(data.owner_id, errors)
    stages = snapshot.active_codes.get("stage", frozenset())
    if data.stage not in stages:
        errors.append(FieldError("stage", "invalid_choice", _("Unknown or inactive stage.")))
    closing = CLOSED_STAGES.get(data.stage, Deal.Outcome.OPEN)
    if data.outcome != closing:
        errors.append(FieldError("outcome", "stage_outcome", _("The outcome does not agree with the stage.")))
    if (data.outcome == Deal.Outcome.OPEN) != (data.closed_on is None):
        errors.append(FieldError("closed_on", "invalid", _("A won or lost deal has a closing date; an open one none.")))
    if data.closed_on is not None and data.closed_on < data.engaged_on:
        errors.append(FieldError("closed_on", "invalid", _("The deal cannot close before it was engaged.")))
    return errors


def _deal_moves(deal: Deal, *, to_stage: str, at: datetime, by: User) -> None:
    if to_stage != deal.stage:
        StageHistory.objects.create(
            customer_id=deal.customer_id,
            deal=deal,
            from_stage=deal.stage,
            to_stage=to_stage,
            changed_at=at,
            changed_by=by,
        )
        deal.stage = to_stage


@transaction.atomic
def deal_import(*, user: User, customer_id: int, data: DealRecord, now: datetime, follow: bool = True) -> Deal:
    """A deal from an import, with its history: opened at the template's first stage on its engaged
    date, moved to its stage (on its closing date when it is closed, else on its engaged date).

    Unlike `deal_create` it may be closed already, and its dates are the history's. The customer
    follows its deals unless `follow` is False (a bulk import calls `customers_follow_deals` once
    per customer at the end)."""
    _refuse_unless_importer(user)
    snapshot = catalog_snapshot()
    if not snapshot.uses_deals:
        raise RuleViolation([FieldError(None, "deals_not_used", _("The loaded template does not use deals."))])
    if errors := _deal_record_errors(data, snapshot):
        raise RuleViolation(errors)
    customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer_id)
    engaged_at = _day_start(data.engaged_on)
    deal = _new_deal(
        customer,
        title=data.title.strip(),
        owner_id=data.owner_id,
        engaged_on=data.engaged_on,
        by=user,
        now=engaged_at,
        snapshot=snapshot,
    )
    _deal_moves(deal, to_stage=data.stage, at=_day_start(data.closed_on or data.engaged_on), by=user)
    deal.product, deal.amount, deal.currency = data.product.strip(), data.amount, data.currency or "CNY"
    deal.expected_close, deal.lost_reason = data.expected_close, data.lost_reason.strip()
    deal.outcome, deal.closed_on = data.outcome, data.closed_on
    deal.updated_at = now
    deal.save()
    if follow:
        customers_follow_deals(customer_ids=[customer.pk], now=now)
    return deal


@transaction.atomic
def deal_import_update(*, user: User, deal_id: int, data: DealRecord, now: datetime, follow: bool = True) -> bool:
    """A re-imported deal follows the file: its details, and its stage and outcome (the move dated
    on its closing date, or today for an open deal that moved); False when nothing differs."""
    _deals_used()
    _refuse_unless_importer(user)
    if errors := _deal_record_errors(data, catalog_snapshot()):
        raise RuleViolation(errors)
    deal = Deal.objects.select_for_update(of=("self",)).get(pk=deal_id)
    wanted: dict[str, Any] = {
        "title": data.title.strip()[:200],
        "owner_id": data.owner_id,
        "engaged_on": data.engaged_on,
        "product": data.product.strip(),
        "amount": data.amount,
        "currency": data.currency or "CNY",
        "expected_close": data.expected_close,
        "lost_reason": data.lost_reason.strip(),
        "outcome": data.outcome,
        "closed_on": data.closed_on,
    }
    changes = {k: v for k, v in wanted.items() if getattr(deal, k) != v}
    if not changes and deal.stage == data.stage:
        return False
    _deal_moves(deal, to_stage=data.stage, at=_day_start(data.closed_on) if data.closed_on else now, by=user)
    for name, value in changes.items():
        setattr(deal, name, value)
    deal.updated_at = now
    deal.save()
    if follow:
        customers_follow_deals(customer_ids=[deal.customer_id], now=now)
    return True


class LockedCustomers:
    """The customers an import's transaction has locked and loaded (`rows`), kept current as its
    actions are recorded; those changed since the last `flush` are written by it, once each, however
    many chunks of the file named them. The caller flushes before its transaction ends (and before
    dropping `rows`)."""

    FIELDS = ("stage", "status", "last_active_at", "updated_at")

    def __init__(self) -> None:
        self.rows: dict[int, Customer] = {}
        self.changed: set[int] = set()

    def flush(self) -> None:
        _imported_customers_write(self.rows, sorted(self.changed))
        self.changed.clear()

    def forget(self) -> None:
        """Write those changed and drop every row (a later call reads and locks them again)."""
        self.flush()
        self.rows.clear()


def _imported_customers_write(customers: Mapping[int, Customer], ids: Iterable[int]) -> None:
    update_rows(
        Customer,
        LockedCustomers.FIELDS,
        [
            (c.stage, c.status, _stored(c.last_active_at), _stored(c.updated_at), c.pk)
            for c in (customers[pk] for pk in ids)
        ],
    )


def imported_actions_record(
    *,
    customers: Mapping[int, Customer],
    deals: Mapping[int, Deal],
    actions: Sequence[tuple[int, int | None, LoggedAction]],
    uses_deals: bool,
    changed: set[int] | None = None,
) -> None:
    """Imported actions — (customer id, deal id, action), in the file's order — are history: each
    makes its customer (and deal) active as of when it happened, and moves an open deal (or, without
    deals, the customer) like a logged action when it is the latest; it never reopens a closed deal,
    nor moves a customer whose stage follows its deals. The end state and stage history are those
    of one action at a time, written in sets (an import of a million actions cannot afford a query
    per row). The customers and deals are the caller's locked instances; none is in the pool
    (imports refuse those). With `changed` (a `LockedCustomers`' set), the customers changed are
    added to it for the caller to write later, instead of being written now."""
    history: list[dict[str, Any]] = []
    touched: dict[int, datetime | None] = {}  # customer -> the updated_at its last follow set, if any
    follow_deals: dict[int, datetime] = {}
    moved_deals: set[int] = set()
    for customer_id, deal_id, action in actions:
        customer = customers[customer_id]
        deal = deals.get(deal_id) if deal_id is not None else None
        newer = customer.last_active_at is None or action.occurred_at >= customer.last_active_at
        if deal is not None and deal.outcome == Deal.Outcome.OPEN:
            if deal.last_action_at is None or action.occurred_at >= deal.last_action_at:
                if action.stage != deal.stage:
                    history.append(_history(customer_id, deal, deal.stage, action))
                    deal.stage = action.stage
                outcome = CLOSED_STAGES.get(deal.stage, Deal.Outcome.OPEN)
                if outcome != deal.outcome:
                    deal.outcome = outcome
                    deal.closed_on = None if outcome == Deal.Outcome.OPEN else timezone.localdate(action.occurred_at)
                deal.last_action_at, deal.updated_at = action.occurred_at, action.logged_at
                moved_deals.add(deal.pk)
            if newer:
                customer.last_active_at = action.occurred_at
            follow_deals[customer_id] = action.logged_at
            touched.setdefault(customer_id, None)
        elif deal is None and not uses_deals:
            if customer.last_active_at is not None and action.occurred_at < customer.last_active_at:
                continue
            if action.stage != customer.stage:
                history.append(_history(customer_id, None, customer.stage, action))
                customer.stage = action.stage
            customer.last_active_at = action.occurred_at
            customer.status = status_for_stage(customer.stage)
            touched[customer_id] = action.logged_at
        else:
            if deal is not None and (deal.last_action_at is None or action.occurred_at > deal.last_action_at):
                deal.last_action_at = action.occurred_at
                moved_deals.add(deal.pk)
            if customer.last_active_at is None or action.occurred_at > customer.last_active_at:
                customer.last_active_at = action.occurred_at
                touched.setdefault(customer_id, None)
    insert_with_ids(StageHistory, history)
    update_rows(
        Deal,
        ["stage", "outcome", "closed_on", "last_action_at", "updated_at"],
        [
            (d.stage, d.outcome, stored_date(d.closed_on), _stored(d.last_action_at), _stored(d.updated_at), d.pk)
            for d in (deals[pk] for pk in moved_deals)
        ],
    )
    for customer_id, updated_at in touched.items():
        if updated_at is not None:
            customers[customer_id].updated_at = updated_at
    if changed is not None:
        changed.update(touched)
    else:
        _imported_customers_write(customers, touched)
    for customer_id, at in follow_deals.items():
        _customer_follow_deals(customers[customer_id], now=at)


def _stored(value: datetime | None) -> Any:
    return None if value is None else stored_datetime(value)


def _history(customer_id: int, deal: Deal | None, from_stage: str, action: LoggedAction) -> dict[str, Any]:
    """A stage history row as the database stores it (written in sets by `imported_actions_record`)."""
    return {
        "customer_id": customer_id,
        "deal_id": deal.pk if deal is not None else None,
        "from_stage": from_stage,
        "to_stage": action.stage,
        "changed_at": stored_datetime(action.occurred_at),
        "action_id": action.pk,
        "changed_by_id": action.rep.pk,
    }


def customers_follow_deals(*, customer_ids: Iterable[int], now: datetime) -> None:
    """Each customer shows its deals again (its most advanced open one), after a bulk import."""
    for customer in Customer.objects.select_for_update(of=("self",)).filter(pk__in=list(customer_ids)).order_by("pk"):
        _customer_follow_deals(customer, now=now)


# --- merging two records of one customer -----------------------------------------------------------

# Apps above this one keep rows that name a customer by id without a foreign key (imports' external
# ids): each registers `hook(drop_id, keep_id) -> rows moved` (see imports.apps).
MERGE_HOOKS: dict[str, Callable[[int, int], int]] = {}


@transaction.atomic
def customer_merge(*, user: User, keep_id: int, drop_id: int, now: datetime) -> CustomerMerge:
    """Make two records of one customer one: everything that names the dropped one (actions, deals,
    evidence, tasks, stage history, pool moves, phones, external ids …) moves to the kept one, its
    details fill what the kept one lacks, and the merge is recorded; the dropped record is deleted.
    Supervisors and above, for two customers both in their scope."""
    if not is_manager(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only supervisors and above may merge customers."))])
    if keep_id == drop_id:
        raise RuleViolation([FieldError("drop_id", "same", _("Choose two different customers."))])
    first, second = sorted((keep_id, drop_id))
    locked = {pk: customer_get(user=user, customer_id=pk, for_write=True, lock=True) for pk in (first, second)}
    keep, drop = locked[keep_id], locked[drop_id]
    # A number both have stays once (phones are unique per customer).
    CustomerPhone.objects.filter(
        customer=drop, number__in=CustomerPhone.objects.filter(customer=keep).values("number")
    ).delete()
    moved: dict[str, int] = {}
    for relation in Customer._meta.get_fields(include_hidden=True):
        if not (relation.one_to_many and relation.auto_created) or relation.related_model is None:
            continue
        name = relation.field.name  # type: ignore[union-attr]
        model = relation.related_model
        count = model._default_manager.filter(**{name: drop}).update(**{name: keep})
        if count:
            moved[model._meta.model_name or name] = count
    for label, hook in MERGE_HOOKS.items():
        if count := hook(drop.pk, keep.pk):
            moved[label] = count
    typed = CustomerInput(
        name=drop.name,
        region=drop.region,
        city=drop.city,
        industry=drop.industry,
        phones=drop.phones,
        address=drop.address,
        credit_code=drop.credit_code,
        contacts=drop.contacts,
    )
    record = CustomerMerge.objects.create(
        kept=keep,
        dropped_id=drop.pk,
        dropped_name=drop.name,
        dropped_owner_id=drop.owner_id,
        moved=moved,
        by=user,
        at=now,
    )
    drop.delete()
    keep = _merge_typed(user=user, customer_id=keep.pk, data=typed, now=now)
    if catalog_snapshot().uses_deals and Deal.objects.filter(customer=keep).exists():
        _customer_follow_deals(keep, now=now)
    latest = keep.actions.order_by("-occurred_at", "-id").first()
    if latest is not None and (keep.last_active_at is None or latest.occurred_at > keep.last_active_at):
        customer_recompute_from_log(customer=keep, by=user, now=now)
    return record
