"""/api/v1/field: route plans, check-ins and check-outs, visit compliance, store locations."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Form, Query, Router, Schema, UploadedFile
from ninja.params.functions import File as FileParam

from salestrace.core import clock
from salestrace.core.api import ERRORS, MAX_ID, BodyInt, IdPath, IsoDate, IsoDateTime
from salestrace.core.errors import FieldError, InvalidInput, PermissionDenied, RuleViolation
from salestrace.customers.services import customer_locate
from salestrace.field import compute
from salestrace.field.forms import today
from salestrace.field.models import CheckIn, ExecutionReport, Promotion, Redemption, RouteStop
from salestrace.field.promotion_selectors import promotion_get, promotions_visible, store_facts
from salestrace.field.promotion_services import PromotionInput, execution_report, promotion_create, redemption_record
from salestrace.field.selectors import (
    REPORT_DAYS_MAX,
    check_in_get,
    check_ins_on,
    compliance_report,
    field_rep_get,
    field_reps,
    route_of,
)
from salestrace.field.services import check_in, check_out, route_plan_copy_week, route_plan_set
from salestrace.org.models import User
from salestrace.org.selectors import is_manager

router = Router(tags=["field"])

MAX_KEY = 100


class RouteStopOut(Schema):
    position: int
    customer_id: int
    customer_name: str
    latitude: Decimal | None
    longitude: Decimal | None
    source: str

    @staticmethod
    def resolve_customer_name(obj: RouteStop) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_latitude(obj: RouteStop) -> Decimal | None:
        return obj.customer.latitude

    @staticmethod
    def resolve_longitude(obj: RouteStop) -> Decimal | None:
        return obj.customer.longitude


class RouteOut(Schema):
    rep_id: int
    day: date
    stops: list[RouteStopOut]


class RouteQuery(Schema):
    rep_id: int | None = Field(None, ge=1, le=MAX_ID, description="Default: yourself.")
    day: IsoDate | None = Field(None, description="Default: today (Asia/Shanghai).")


class RouteIn(Schema):
    customer_ids: list[Annotated[BodyInt, Field(ge=1, le=MAX_ID)]] = Field(
        ..., max_length=compute.MAX_STOPS, description="The stores in visiting order; empty clears the day."
    )

    model_config = {"extra": "forbid"}


class WeekCopyIn(Schema):
    from_monday: IsoDate
    to_monday: IsoDate

    model_config = {"extra": "forbid"}


class WeekCopyOut(Schema):
    stops: int = Field(..., description="Route stops written into the target week.")


@router.get("/field/routes", response={200: RouteOut, **ERRORS})
def get_route(request: HttpRequest, query: Query[RouteQuery]) -> dict[str, Any]:
    """A rep's route for a day, in visiting order (yours by default; supervisors: their reps')."""
    user: User = request.user  # type: ignore[assignment]
    rep = field_rep_get(user=user, rep_id=query.rep_id or user.pk)
    day = query.day or today()
    return {"rep_id": rep.pk, "day": day, "stops": route_of(rep_id=rep.pk, day=day)}


@router.put("/field/routes/{rep_id}/{day}", response={200: RouteOut, **ERRORS})
def put_route(request: HttpRequest, rep_id: IdPath, day: date, payload: RouteIn) -> dict[str, Any]:
    """Replace a rep's route for a day (today or later; supervisors and above)."""
    user: User = request.user  # type: ignore[assignment]
    route_plan_set(by=user, rep_id=rep_id, day=day, customer_ids=payload.customer_ids, now=clock.now())
    return {"rep_id": rep_id, "day": day, "stops": route_of(rep_id=rep_id, day=day)}


@router.post("/field/routes/copy-week", response={200: WeekCopyOut, **ERRORS})
def copy_week(request: HttpRequest, payload: WeekCopyIn) -> dict[str, int]:
    """Copy your reps' routes of one week (Monday) into another: planned days there are kept."""
    user: User = request.user  # type: ignore[assignment]
    written = route_plan_copy_week(
        by=user, from_monday=payload.from_monday, to_monday=payload.to_monday, now=clock.now()
    )
    return {"stops": written}


class CheckInOut(Schema):
    id: int
    rep_id: int
    customer_id: int
    occurred_at: datetime
    received_at: datetime
    checked_out_at: datetime | None
    latitude: Decimal | None
    longitude: Decimal | None
    accuracy_m: int | None
    distance_m: int | None = Field(..., description="Metres from the store's coordinates; null when either is unknown.")
    out_distance_m: int | None
    flags: list[str] = Field(
        ...,
        description="out_of_range, same_spot_elsewhere, no_location, no_store_location, low_accuracy, late_sync.",
    )
    photo_id: int | None


PHOTO_PART = FileParam(None, description="An on-site photo, stamped with the time and place by the worker.")


def _key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > MAX_KEY:
        raise InvalidInput([FieldError("Idempotency-Key", "too_long", _("The Idempotency-Key header is too long."))])
    return key


@router.post("/field/check-ins", response={201: CheckInOut, 200: CheckInOut, **ERRORS})
def create_check_in(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: Form[Annotated[int, Field(ge=1, le=MAX_ID)]],
    occurred_at: Form[IsoDateTime | None] = None,
    latitude: Form[Annotated[Decimal, Field(ge=-90, le=90)] | None] = None,
    longitude: Form[Annotated[Decimal, Field(ge=-180, le=180)] | None] = None,
    accuracy_m: Form[Annotated[int, Field(ge=0, le=1_000_000)] | None] = None,
    photo: UploadedFile | None = PHOTO_PART,
) -> tuple[int, CheckIn]:
    """Check in at a store (multipart): the phone's position, an optional photo.

    `occurred_at` is when it happened on the phone (one queued offline keeps it; default now).
    Send an `Idempotency-Key` header so a retry or a re-sync is the same check-in (200 and
    `Idempotent-Replayed: true`). Flags are never a refusal: a supervisor reads them.
    """
    made, created = check_in(
        rep=request.user,  # type: ignore[arg-type]
        customer_id=customer_id,
        now=clock.now(),
        occurred_at=occurred_at,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy_m,
        photo=photo,
        key=_key(request),
    )
    if not created:
        response["Idempotent-Replayed"] = "true"
    return (201 if created else 200), made


class CheckOutIn(Schema):
    occurred_at: IsoDateTime | None = None
    latitude: Decimal | None = Field(None, ge=-90, le=90)
    longitude: Decimal | None = Field(None, ge=-180, le=180)

    model_config = {"extra": "forbid"}


@router.post("/field/check-ins/{check_in_id}/check-out", response={200: CheckInOut, **ERRORS})
def create_check_out(request: HttpRequest, check_in_id: IdPath, payload: CheckOutIn) -> CheckIn:
    """Check out of a store you checked in at; repeating it changes nothing."""
    return check_out(
        rep=request.user,  # type: ignore[arg-type]
        check_in_id=check_in_id,
        now=clock.now(),
        occurred_at=payload.occurred_at,
        latitude=payload.latitude,
        longitude=payload.longitude,
    )


class CheckInQuery(Schema):
    day: IsoDate | None = Field(None, description="Default: today (Asia/Shanghai).")
    rep_id: int | None = Field(None, ge=1, le=MAX_ID, description="Default: every rep you may see.")
    flagged: bool = False


@router.get("/field/check-ins", response={200: list[CheckInOut], **ERRORS})
def list_check_ins(request: HttpRequest, query: Query[CheckInQuery]) -> list[CheckIn]:
    """Check-ins of a day: yours, or your reps' as a supervisor; `flagged` for those with a flag."""
    user: User = request.user  # type: ignore[assignment]
    if query.rep_id is not None:
        rep_ids = [field_rep_get(user=user, rep_id=query.rep_id).pk]
    else:
        rep_ids = list(field_reps(user).values_list("pk", flat=True))
    rows = check_ins_on(rep_ids=rep_ids, day=query.day or today())
    if query.flagged:
        rows = rows.exclude(flags=[])
    return list(rows[:2000])


@router.get("/field/check-ins/{check_in_id}", response={200: CheckInOut, **ERRORS})
def get_check_in(request: HttpRequest, check_in_id: IdPath) -> CheckIn:
    """One check-in (yours, or a rep's in your teams)."""
    return check_in_get(user=request.user, check_in_id=check_in_id)  # type: ignore[arg-type]


class ComplianceQuery(Schema):
    first: IsoDate | None = Field(None, description="Default: today (Asia/Shanghai).")
    last: IsoDate | None = Field(None, description="Default: `first`.")
    team_id: int | None = Field(None, ge=1, le=MAX_ID)


class ComplianceFigures(Schema):
    rep_days: int
    planned: int
    planned_visited: int
    planned_logged: int
    visits: int
    visits_logged: int
    unplanned_visits: int
    visit_rate: float | None = Field(..., description="Planned stores checked in at / planned; null: nothing planned.")
    missing_record_rate: float | None = Field(
        ..., description="Planned stores with no visit logged / planned (the seed's 23 %)."
    )
    unlogged_visit_rate: float | None = Field(..., description="Check-ins with no visit logged / check-ins.")


class MissingStore(Schema):
    day: date
    customer_id: int
    customer_name: str


class RepComplianceOut(Schema):
    rep_id: int
    rep_name: str
    figures: ComplianceFigures
    not_visited: list[MissingStore]
    not_logged: list[MissingStore]


class ComplianceOut(Schema):
    first: date
    last: date
    totals: ComplianceFigures
    reps: list[RepComplianceOut]


def _figures(c: compute.Compliance) -> dict[str, Any]:
    return {
        "rep_days": c.rep_days,
        "planned": c.planned,
        "planned_visited": c.planned_visited,
        "planned_logged": c.planned_logged,
        "visits": c.visits,
        "visits_logged": c.visits_logged,
        "unplanned_visits": c.unplanned_visits,
        "visit_rate": c.visit_rate,
        "missing_record_rate": c.missing_record_rate,
        "unlogged_visit_rate": c.unlogged_visit_rate,
    }


@router.get("/field/compliance", response={200: ComplianceOut, **ERRORS})
def get_compliance(request: HttpRequest, query: Query[ComplianceQuery]) -> dict[str, Any]:
    """Planned vs visited vs logged per rep over a span of days, with the stores behind each gap."""
    first = query.first or today()
    last = query.last or first
    if last < first or last - first > timedelta(days=REPORT_DAYS_MAX - 1):
        message = _("Choose at most %(days)d days, the last not before the first.") % {"days": REPORT_DAYS_MAX}
        raise RuleViolation([FieldError("last", "bad_span", message)])
    report = compliance_report(user=request.user, first=first, last=last, team_id=query.team_id)  # type: ignore[arg-type]
    return {
        "first": report.first,
        "last": report.last,
        "totals": _figures(report.team),
        "reps": [
            {
                "rep_id": row.rep.pk,
                "rep_name": str(row.rep),
                "figures": _figures(row.figures),
                "not_visited": [{"day": d, "customer_id": c.pk, "customer_name": c.name} for d, c in row.not_visited],
                "not_logged": [{"day": d, "customer_id": c.pk, "customer_name": c.name} for d, c in row.not_logged],
            }
            for row in report.reps
        ],
    }


class StoreLocationIn(Schema):
    latitude: Decimal | None = Field(..., ge=-90, le=90, description="WGS-84 (GPS); null with longitude clears it.")
    longitude: Decimal | None = Field(..., ge=-180, le=180)

    model_config = {"extra": "forbid"}


class StoreLocationOut(Schema):
    customer_id: int
    latitude: Decimal | None
    longitude: Decimal | None


@router.put("/field/stores/{customer_id}/location", response={200: StoreLocationOut, **ERRORS})
def put_store_location(request: HttpRequest, customer_id: IdPath, payload: StoreLocationIn) -> dict[str, Any]:
    """Set where a store is (supervisors and above); check-ins are measured against it."""
    customer = customer_locate(
        user=request.user,  # type: ignore[arg-type]
        customer_id=customer_id,
        latitude=payload.latitude,
        longitude=payload.longitude,
        now=clock.now(),
    )
    return {"customer_id": customer.pk, "latitude": customer.latitude, "longitude": customer.longitude}


# --- promotions --------------------------------------------------------------------------------------


class PromotionOut(Schema):
    id: int
    name: str
    rule_text: str
    threshold: Decimal
    discount: Decimal
    product: str
    starts_on: date
    ends_on: date
    store_ids: list[int]

    @staticmethod
    def resolve_store_ids(obj: Promotion) -> list[int]:
        return sorted(s.pk for s in obj.stores.all())


class PromotionIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    rule_text: str = Field(..., min_length=1, max_length=200, description="As stores say it, e.g. 满299减50.")
    threshold: Decimal | None = Field(
        None, gt=0, max_digits=12, decimal_places=2, description="Default: from the rule."
    )
    discount: Decimal | None = Field(None, gt=0, max_digits=12, decimal_places=2, description="Default: from the rule.")
    product: str = Field("", max_length=100)
    starts_on: IsoDate
    ends_on: IsoDate
    store_ids: list[Annotated[BodyInt, Field(ge=1, le=MAX_ID)]] = Field(..., min_length=1, max_length=5000)

    model_config = {"extra": "forbid"}


@router.get("/field/promotions", response={200: list[PromotionOut], **ERRORS})
def list_promotions(request: HttpRequest) -> list[Promotion]:
    """Promotions with a store you may see, newest first."""
    return list(promotions_visible(request.user).prefetch_related("stores")[:500])  # type: ignore[arg-type]


@router.post("/field/promotions", response={201: PromotionOut, **ERRORS})
def create_promotion(request: HttpRequest, payload: PromotionIn) -> tuple[int, Promotion]:
    """A campaign over stores in your scope (supervisors and above)."""
    data = PromotionInput(**payload.dict())
    return 201, promotion_create(user=request.user, data=data, now=clock.now())  # type: ignore[arg-type]


class RegionReality(Schema):
    region: str
    stores: int
    reported: int
    redeemed: int
    unbacked: int
    reported_rate: float | None
    redeemed_rate: float | None
    gap: float | None


class StoreRealityOut(Schema):
    store_id: int
    name: str
    region: str
    reported: bool
    receipts: int
    discount: Decimal
    claim_unbacked: bool


class RealityOut(Schema):
    promotion_id: int
    totals: RegionReality
    regions: list[RegionReality]
    visit_first: list[StoreRealityOut] = Field(
        ..., description="Reported as running but never redeemed, then neither reported nor redeemed."
    )


def _region(name: str, r: compute.Reality) -> dict[str, Any]:
    return {
        "region": name,
        "stores": r.stores,
        "reported": r.reported,
        "redeemed": r.redeemed,
        "unbacked": r.unbacked,
        "reported_rate": r.reported_rate,
        "redeemed_rate": r.redeemed_rate,
        "gap": r.gap,
    }


@router.get("/field/promotions/{promotion_id}/reality", response={200: RealityOut, **ERRORS})
def get_reality(request: HttpRequest, promotion_id: IdPath) -> dict[str, Any]:
    """Reported execution vs actual redemption: in total, per region, and the stores to visit first."""
    user: User = request.user  # type: ignore[assignment]
    if not is_manager(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only supervisors and above see this."))])
    promotion = promotion_get(user=user, promotion_id=promotion_id)
    facts = store_facts(user=user, promotion=promotion)
    return {
        "promotion_id": promotion.pk,
        "totals": _region("", compute.reality(facts)),
        "regions": [_region(name, r) for name, r in compute.reality_by_region(facts).items()],
        "visit_first": [
            {
                "store_id": f.store_id,
                "name": f.name,
                "region": f.region,
                "reported": f.reported,
                "receipts": f.receipts,
                "discount": f.discount,
                "claim_unbacked": f.claim_unbacked,
            }
            for f in compute.visit_first(facts)
        ],
    }


class RedemptionIn(Schema):
    store_id: BodyInt = Field(..., ge=1, le=MAX_ID)
    amount: Decimal = Field(..., ge=0, max_digits=12, decimal_places=2, description="The receipt's total.")
    member_phone: str = Field("", max_length=30)

    model_config = {"extra": "forbid"}


class RedemptionOut(Schema):
    id: int
    promotion_id: int
    store_id: int
    day: date
    receipts: int
    discount_total: Decimal
    source: str
    member_phone: str


@router.post(
    "/field/promotions/{promotion_id}/redemptions", response={201: RedemptionOut, 200: RedemptionOut, **ERRORS}
)
def create_redemption(
    request: HttpRequest, response: HttpResponse, promotion_id: IdPath, payload: RedemptionIn
) -> tuple[int, Redemption]:
    """Record one discount given at the till (the promotion card). Send an `Idempotency-Key` header
    so a retry is the same redemption (200, `Idempotent-Replayed: true`)."""
    made, created = redemption_record(
        user=request.user,  # type: ignore[arg-type]
        promotion_id=promotion_id,
        store_id=payload.store_id,
        amount=payload.amount,
        now=clock.now(),
        member_phone=payload.member_phone,
        key=_key(request),
    )
    if not created:
        response["Idempotent-Replayed"] = "true"
    return (201 if created else 200), made


class ReportOut(Schema):
    id: int
    promotion_id: int
    store_id: int
    reported_by_id: int
    reported_at: datetime
    photo_id: int | None
    note: str


@router.post("/field/promotions/{promotion_id}/reports", response={201: ReportOut, **ERRORS})
def create_report(
    request: HttpRequest,
    promotion_id: IdPath,
    store_id: Form[Annotated[int, Field(ge=1, le=MAX_ID)]],
    note: Form[Annotated[str, Field(max_length=200)]] = "",
    photo: UploadedFile | None = PHOTO_PART,
) -> tuple[int, ExecutionReport]:
    """Report that a store runs the promotion (multipart; a photo of the display for reps)."""
    made = execution_report(
        user=request.user,  # type: ignore[arg-type]
        promotion_id=promotion_id,
        store_id=store_id,
        now=clock.now(),
        photo=photo,
        note=note,
    )
    return 201, made
