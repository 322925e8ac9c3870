"""The writers of promotions: campaigns, execution reports, redemptions (card and POS import),
members and stock (imports), and which store a store-staff account works in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salestrace.actions.evidence_services import Upload, evidence_upload
from salestrace.actions.models import Evidence
from salestrace.core.bulk import insert_ignoring_conflicts, stored_date, stored_datetime
from salestrace.core.errors import Conflict, FieldError, PermissionDenied, RuleViolation
from salestrace.customers import dedupe
from salestrace.customers.models import Customer
from salestrace.field import compute
from salestrace.field.models import ExecutionReport, Member, Promotion, Redemption, StockLevel, StoreStaff
from salestrace.field.promotion_selectors import card_store_get, member_by_phone, placeable_staff, promotion_get
from salestrace.org.models import Role, User
from salestrace.org.selectors import can_import, customer_scope, is_manager

CENT = Decimal("0.01")


def _refuse_unless_manager(user: User) -> None:
    if not is_manager(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only supervisors and above manage promotions."))])


@dataclass(frozen=True)
class PromotionInput:
    name: str
    rule_text: str
    starts_on: date
    ends_on: date
    store_ids: Sequence[int]
    threshold: Decimal | None = None
    discount: Decimal | None = None
    product: str = ""


@transaction.atomic
def promotion_create(*, user: User, data: PromotionInput, now: datetime) -> Promotion:
    """A campaign over stores in the creator's scope. 满299减50 in the rule fills the numbers when
    they are not given; the discount must be below the threshold."""
    _refuse_unless_manager(user)
    errors: list[FieldError] = []
    if not data.name.strip():
        errors.append(FieldError("name", "required", _("Give the promotion a name.")))
    parsed = compute.parse_rule(data.rule_text)
    threshold = data.threshold if data.threshold is not None else parsed[0] if parsed else None
    discount = data.discount if data.discount is not None else parsed[1] if parsed else None
    if threshold is None or discount is None:
        message = _("Give the amount to spend and the discount (满299减50 in the rule fills them).")
        errors.append(FieldError("threshold", "required", message))
    elif not Decimal(0) < discount < threshold:
        errors.append(
            FieldError("discount", "invalid", _("The discount is more than 0 and less than the amount to spend."))
        )
    if data.ends_on < data.starts_on:
        errors.append(FieldError("ends_on", "before_start", _("The promotion ends on or after its first day.")))
    stores = list(
        Customer.objects.filter(customer_scope(user), pk__in=list(data.store_ids)).values_list("pk", flat=True)
    )
    if not data.store_ids:
        errors.append(FieldError("store_ids", "required", _("Choose the stores that run it.")))
    elif len(stores) != len(set(data.store_ids)):
        errors.append(FieldError("store_ids", "not_allowed", _("Some of these stores are not in your teams.")))
    if errors:
        raise RuleViolation(errors)
    assert threshold is not None
    assert discount is not None
    promotion = Promotion.objects.create(
        name=data.name.strip(),
        rule_text=data.rule_text.strip(),
        threshold=threshold.quantize(CENT),
        discount=discount.quantize(CENT),
        product=data.product.strip(),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_by=user,
        created_at=now,
    )
    promotion.stores.set(stores)
    return promotion


def execution_report(
    *, user: User, promotion_id: int, store_id: int, now: datetime, photo: Upload | None = None, note: str = ""
) -> ExecutionReport:
    """Report that a store runs the promotion (a rep at the store, or its staff), with a photo."""
    promotion = promotion_get(user=user, promotion_id=promotion_id)
    store = card_store_get(user=user, store_id=store_id)
    if not promotion.stores.filter(pk=store.pk).exists():
        raise RuleViolation([FieldError("store_id", "not_in_promotion", _("This store does not run this promotion."))])
    evidence: Evidence | None = None
    if photo is not None:
        if user.role == Role.STORE_STAFF:
            raise PermissionDenied([FieldError("photo", "forbidden", _("Store staff report without a photo."))])
        evidence = evidence_upload(
            user=user, customer_id=store.pk, kind=Evidence.Kind.PHOTO, upload=photo, now=now, kept=True
        )
    return ExecutionReport.objects.create(
        promotion=promotion, store=store, reported_by=user, reported_at=now, photo=evidence, note=note.strip()[:200]
    )


def redemption_record(
    *,
    user: User,
    promotion_id: int,
    store_id: int,
    amount: Decimal,
    now: datetime,
    member_phone: str = "",
    key: str | None = None,
) -> tuple[Redemption, bool]:
    """One discount given at the till, recorded on the promotion card: the receipt must reach the
    threshold on a day the store runs it. A retry with the same key is the same redemption."""
    if key and (earlier := Redemption.objects.filter(source=Redemption.Source.CARD, external_id=key).first()):
        if earlier.recorded_by_id != user.pk:
            raise Conflict([FieldError(None, "key_reused", _("This Idempotency-Key was used by someone else."))])
        return earlier, False
    promotion = promotion_get(user=user, promotion_id=promotion_id)
    store = card_store_get(user=user, store_id=store_id)
    day = timezone.localtime(now).date()
    running = promotion.starts_on <= day <= promotion.ends_on and promotion.stores.filter(pk=store.pk).exists()
    check = compute.check_redemption(amount=amount, threshold=promotion.threshold, running=running)
    if not check.allowed:
        if check.code == "not_running":
            message = _("This store does not run this promotion today.")
        else:
            message = _("The receipt is below %(threshold)s: no discount.") % {
                "threshold": f"{promotion.threshold:,.2f}"
            }
        raise RuleViolation([FieldError("amount", check.code, message)])
    member = member_by_phone(member_phone) if member_phone else None
    try:
        with transaction.atomic():
            made = Redemption.objects.create(
                promotion=promotion,
                store=store,
                day=day,
                receipts=1,
                discount_total=promotion.discount,
                receipt_amount=amount.quantize(CENT),
                source=Redemption.Source.CARD,
                member_phone=member.phone if member else dedupe.phone_key(member_phone)[:20],
                recorded_by=user,
                external_id=key or uuid.uuid4().hex,
                created_at=now,
            )
    except IntegrityError:
        earlier = Redemption.objects.filter(source=Redemption.Source.CARD, external_id=key).first()
        if earlier is None:
            raise
        return earlier, False
    return made, True


@transaction.atomic
def store_staff_assign(*, by: User, user_id: int, store_id: int | None) -> StoreStaff | None:
    """Place a store-staff account in a store (or take it out, with None); supervisors and above,
    for stores in their scope."""
    _refuse_unless_manager(by)
    person = placeable_staff(by).filter(pk=user_id).first()
    if person is None:
        raise RuleViolation([FieldError("user_id", "not_staff", _("Choose an account with the store staff role."))])
    if store_id is None:
        StoreStaff.objects.filter(user=person).delete()
        return None
    if not Customer.objects.filter(customer_scope(by), pk=store_id).exists():
        raise RuleViolation([FieldError("store_id", "not_allowed", _("This store is not in your teams."))])
    post, _created = StoreStaff.objects.update_or_create(user=person, defaults={"store_id": store_id})
    return post


# --- imports (called by the imports app, row by row or in sets) ----------------------------------------


def _refuse_unless_importer(user: User) -> None:
    if not can_import(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins and assistants may import data."))])


@dataclass(frozen=True)
class RedemptionRow:
    promotion_id: int
    store_id: int
    day: date
    receipts: int
    discount_total: Decimal
    external_id: str


def redemptions_import_many(*, user: User, rows: Sequence[RedemptionRow], now: datetime) -> dict[str, int]:
    """POS redemptions in one set: new external ids created, known ones updated to the file's
    figures (a corrected export), unchanged ones left; the caller has checked each row."""
    _refuse_unless_importer(user)
    ids = [r.external_id for r in rows]
    known = {
        r.external_id: r
        for r in Redemption.objects.filter(source=Redemption.Source.POS, external_id__in=ids).only(
            "pk", "external_id", "receipts", "discount_total", "day", "store_id", "promotion_id"
        )
    }
    new: list[dict[str, object]] = []
    changed: list[Redemption] = []
    created_at = stored_datetime(now)
    for row in rows:
        earlier = known.get(row.external_id)
        if earlier is None:
            # Written as raw rows (core.bulk): a POS export is a million of them, and preparing
            # each value through its model field was most of the import's time.
            new.append(
                {
                    "promotion_id": row.promotion_id,
                    "store_id": row.store_id,
                    "day": stored_date(row.day),
                    "receipts": row.receipts,
                    "discount_total": row.discount_total,
                    "source": Redemption.Source.POS.value,
                    "external_id": row.external_id,
                    "created_at": created_at,
                }
            )
        elif (earlier.receipts, earlier.discount_total, earlier.day, earlier.store_id, earlier.promotion_id) != (
            row.receipts,
            row.discount_total,
            row.day,
            row.store_id,
            row.promotion_id,
        ):
            earlier.receipts, earlier.discount_total, earlier.day = row.receipts, row.discount_total, row.day
            earlier.store_id, earlier.promotion_id = row.store_id, row.promotion_id
            changed.append(earlier)
    with transaction.atomic():
        insert_ignoring_conflicts(Redemption, new)
        Redemption.objects.bulk_update(
            changed, ["receipts", "discount_total", "day", "store_id", "promotion_id"], batch_size=2000
        )
    return {"created": len(new), "updated": len(changed), "unchanged": len(rows) - len(new) - len(changed)}


def member_import(*, user: User, phone: str, level: str, name: str, now: datetime) -> str:
    """A member from the CRM's export: created, updated or unchanged."""
    _refuse_unless_importer(user)
    digits = dedupe.phone_key(phone)
    if not digits:
        raise RuleViolation([FieldError("phone", "invalid", _("Not a phone number."))])
    member, created = Member.objects.get_or_create(
        phone=digits, defaults={"level": level, "name": name, "updated_at": now}
    )
    if created:
        return "created"
    if (member.level, member.name) == (level, name):
        return "unchanged"
    member.level, member.name, member.updated_at = level, name, now
    member.save(update_fields=["level", "name", "updated_at"])
    return "updated"


def stock_import(*, user: User, store_id: int, product: str, quantity: int, as_of: datetime) -> str:
    """A store's stock of a product from the ERP's export; the latest import wins."""
    _refuse_unless_importer(user)
    _level, created = StockLevel.objects.update_or_create(
        store_id=store_id, product=product, defaults={"quantity": quantity, "as_of": as_of}
    )
    return "created" if created else "updated"
