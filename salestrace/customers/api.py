from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import field_validator

from salestrace.core import clock
from salestrace.core.api import ERRORS, MAX_ID, BodyInt, IdPath, IsoDate, Pagination
from salestrace.customers.models import Customer, Deal
from salestrace.customers.selectors import (
    CustomerFilters,
    DealFilters,
    customer_get,
    customer_list,
    customer_pool_moves,
    customer_stage_history,
    deal_get,
    deal_list,
    deal_stage_history,
    duplicate_check,
    pool_list,
    pool_policy,
)
from salestrace.customers.services import (
    CustomerInput,
    DealInput,
    customer_create,
    customer_merge,
    customer_update,
    deal_create,
    deal_update,
    pool_claim,
    pool_reassign,
    pool_release,
)

router = Router(tags=["customers"])
pool_router = Router(tags=["pool"])
deals_router = Router(tags=["deals"])


class StageChangeOut(Schema):
    from_stage: str
    to_stage: str
    changed_at: datetime
    action_id: int | None
    changed_by_id: int | None


class CustomerOut(Schema):
    id: int
    kind: Customer.Kind
    name: str
    region: str
    city: str
    industry: str
    owner_id: int
    owner_name: str
    stage: str
    status: Customer.Status
    last_active_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_owner_name(obj: Any) -> str:
        return str(obj.owner)


class PoolMoveOut(Schema):
    kind: str
    at: datetime
    by_id: int | None
    from_owner_id: int | None
    to_owner_id: int | None
    reason: str


class CustomerDetailOut(CustomerOut):
    phones: str
    address: str
    credit_code: str
    contacts: str
    stage_history: list[StageChangeOut]
    pool_entered_at: datetime | None
    pool_moves: list[PoolMoveOut]

    @staticmethod
    def resolve_pool_moves(obj: Customer) -> list[Any]:
        return list(customer_pool_moves(customer=obj))

    @staticmethod
    def resolve_stage_history(obj: Customer) -> list[Any]:
        return list(customer_stage_history(customer=obj))


class CustomerIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    kind: Customer.Kind = Customer.Kind.LEAD
    region: str = Field("", max_length=100)
    city: str = Field("", max_length=100)
    industry: str = Field("", max_length=100)
    stage: str = Field("lead", min_length=1, max_length=50, description="A `stage` option code.")
    owner_id: BodyInt | None = Field(
        None, ge=1, le=MAX_ID, description="Defaults to you; supervisors and above may name another owner in scope."
    )
    phones: str = Field("", max_length=200, description="One or more numbers, separated by commas.")
    address: str = Field("", max_length=300)
    credit_code: str = Field("", max_length=30, description="统一社会信用代码 (18 characters, checked).")
    contacts: str = Field("", max_length=200, description="Contact names, separated by 、 or commas.")
    duplicates: Literal["check", "create", "merge"] = Field(
        "check",
        description=(
            "What to do when the customer may already exist. `check`: refuse a near match "
            "(422 `possible_duplicate`) and an exact one (422 `duplicate`, or `held_by_other` when a "
            "colleague holds it: its details are not given and the supervisors are told). `create`: "
            "create despite near matches. `merge`: with an exact match you can see, add what you typed "
            "to it and answer 200 with it."
        ),
    )

    model_config = {"extra": "forbid"}


class CustomerPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: Customer.Kind | None = None
    region: str | None = Field(None, max_length=100)
    city: str | None = Field(None, max_length=100)
    industry: str | None = Field(None, max_length=100)
    owner_id: BodyInt | None = Field(None, ge=1, le=MAX_ID)
    phones: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=300)
    credit_code: str | None = Field(None, max_length=30)
    contacts: str | None = Field(None, max_length=200)

    model_config = {"extra": "forbid"}

    @field_validator("name", "kind", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    @field_validator("region", "city", "industry", "phones", "address", "credit_code", "contacts", mode="before")
    @classmethod
    def _null_is_blank(cls, value: Any) -> Any:
        return "" if value is None else value


class CustomerQuery(Schema):
    q: str | None = Field(None, max_length=100, description="Part of the name.")
    stage: str | None = Field(None, max_length=50)
    status: Customer.Status | None = None
    kind: Customer.Kind | None = None
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.get("/customers", response={200: list[CustomerOut], **ERRORS})
@paginate(Pagination)
def list_customers(request: HttpRequest, filters: Query[CustomerQuery]) -> Any:
    """Customers in your scope, most recently active first."""
    return customer_list(user=request.user, filters=CustomerFilters(**filters.dict()))  # type: ignore[arg-type]


@router.post("/customers", response={201: CustomerDetailOut, 200: CustomerDetailOut, **ERRORS})
def create_customer(request: HttpRequest, payload: CustomerIn) -> tuple[int, Customer]:
    """Create a customer (lead, account or store); you own it unless you name an owner. It is
    checked against the existing customers first (查重: credit code, phone, name): see `duplicates`."""
    now = clock.now()
    values = payload.dict()
    duplicates = values.pop("duplicates")
    customer = customer_create(user=request.user, data=CustomerInput(**values), now=now, duplicates=duplicates)  # type: ignore[arg-type]
    return (201 if customer.created_at == now else 200), customer


class DuplicateMatchOut(Schema):
    customer_id: int
    name: str
    owner_name: str
    reason: str = Field(..., description="credit_code, phone, name (exact) or similar, sound (near).")
    exact: bool


class DuplicateCheckOut(Schema):
    matches: list[DuplicateMatchOut] = Field(..., description="Customers you can see that may be this one.")
    held_by_other: bool = Field(..., description="An exact match exists that a colleague holds (no details).")
    possibly_held_by_other: bool = Field(..., description="A near match exists that a colleague holds.")


class DuplicateQuery(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    phones: str = Field("", max_length=200)
    credit_code: str = Field("", max_length=30)


@router.get("/customers/duplicates", response={200: DuplicateCheckOut, **ERRORS})
def check_duplicates(request: HttpRequest, query: Query[DuplicateQuery]) -> dict[str, Any]:
    """Before creating a customer: those that may be the same one (the phone form asks as you type)."""
    return duplicate_check(user=request.user, **query.dict())  # type: ignore[arg-type]


class MergeIn(Schema):
    drop_id: BodyInt = Field(..., ge=1, le=MAX_ID, description="The duplicate to merge into this customer.")

    model_config = {"extra": "forbid"}


class MergeOut(Schema):
    kept_id: int
    dropped_id: int
    dropped_name: str
    moved: dict[str, int] = Field(..., description="Rows moved to the kept customer, by kind.")


@router.post("/customers/{customer_id}/merge", response={200: MergeOut, **ERRORS})
def merge_customers(request: HttpRequest, customer_id: IdPath, payload: MergeIn) -> dict[str, Any]:
    """Merge a duplicate into this customer: its actions, deals, evidence, tasks and history move
    here, and it is deleted; recorded. Supervisors and above, both customers in scope."""
    record = customer_merge(user=request.user, keep_id=customer_id, drop_id=payload.drop_id, now=clock.now())  # type: ignore[arg-type]
    return {
        "kept_id": record.kept_id,
        "dropped_id": record.dropped_id,
        "dropped_name": record.dropped_name,
        "moved": record.moved,
    }


@router.get("/customers/{customer_id}", response={200: CustomerDetailOut, **ERRORS})
def get_customer(request: HttpRequest, customer_id: IdPath) -> Customer:
    """One customer with its stage history (newest first)."""
    return customer_get(user=request.user, customer_id=customer_id)  # type: ignore[arg-type]


@router.patch("/customers/{customer_id}", response={200: CustomerDetailOut, **ERRORS})
def patch_customer(request: HttpRequest, customer_id: IdPath, payload: CustomerPatch) -> Customer:
    """Change details or the owner; the stage moves only through logged actions."""
    changes = payload.dict(exclude_unset=True)
    customer = customer_update(user=request.user, customer_id=customer_id, changes=changes, now=clock.now())  # type: ignore[arg-type]
    return customer


# --- the dormant pool ----------------------------------------------------------------------------


class PoolEntryOut(CustomerOut):
    pool_entered_at: datetime | None


class PoolQuery(Schema):
    q: str | None = Field(None, max_length=100)


class ReleaseIn(Schema):
    reason: str = Field("", max_length=300)

    model_config = {"extra": "forbid"}


class ReassignIn(Schema):
    owner_id: BodyInt = Field(..., ge=1, le=MAX_ID)
    reason: str = Field("", max_length=300)

    model_config = {"extra": "forbid"}


@pool_router.get("", response={200: list[PoolEntryOut], **ERRORS})
@paginate(Pagination)
def list_pool(request: HttpRequest, filters: Query[PoolQuery]) -> Any:
    """The dormant pool (休眠线索池) you may claim from, longest-waiting first."""
    scope = pool_policy().claim_scope
    return pool_list(user=request.user, claim_scope=scope, q=filters.q)  # type: ignore[arg-type]


@pool_router.post("/{customer_id}/claim", response={200: CustomerDetailOut, **ERRORS})
def claim(request: HttpRequest, customer_id: IdPath) -> Customer:
    """Claim a pooled lead; the template's rules say who may, how many, and when the old owner may."""
    return pool_claim(user=request.user, customer_id=customer_id, now=clock.now())  # type: ignore[arg-type]


@pool_router.post("/{customer_id}/release", response={200: CustomerDetailOut, **ERRORS})
def release(request: HttpRequest, customer_id: IdPath, payload: ReleaseIn) -> Customer:
    """Give up an active lead: it goes to the pool at once."""
    return pool_release(user=request.user, customer_id=customer_id, reason=payload.reason, now=clock.now())  # type: ignore[arg-type]


@pool_router.post("/{customer_id}/reassign", response={200: CustomerDetailOut, **ERRORS})
def reassign(request: HttpRequest, customer_id: IdPath, payload: ReassignIn) -> Customer:
    """Supervisors and above: give a pooled lead to someone in scope."""
    return pool_reassign(
        user=request.user,  # type: ignore[arg-type]
        customer_id=customer_id,
        owner_id=payload.owner_id,
        reason=payload.reason,
        now=clock.now(),
    )


# --- deals (商机) ----------------------------------------------------------------------------------

Money = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]


class DealOut(Schema):
    id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    title: str
    product: str
    amount: Decimal = Field(..., description="Decimal, as a string: never a float.")
    currency: str
    owner_id: int
    owner_name: str
    engaged_on: date
    expected_close: date | None
    stage: str = Field(..., description="A `stage` option code; moves with the deal's actions.")
    outcome: Deal.Outcome
    closed_on: date | None
    lost_reason: str
    last_action_at: datetime | None

    @staticmethod
    def resolve_owner_name(obj: Any) -> str:
        return str(obj.owner)


class DealDetailOut(DealOut):
    stage_history: list[StageChangeOut]

    @staticmethod
    def resolve_stage_history(obj: Deal) -> list[Any]:
        return list(deal_stage_history(deal=obj))


class DealIn(Schema):
    customer_id: BodyInt = Field(..., ge=1, le=MAX_ID)
    title: str = Field(..., min_length=1, max_length=200)
    product: str = Field("", max_length=300, description="The product or products, as the rep names them.")
    amount: Money = Decimal("0")
    currency: str = Field("CNY", min_length=3, max_length=3, description="ISO 4217 code.")
    engaged_on: IsoDate | None = Field(None, description="Defaults to today (Asia/Shanghai).")
    expected_close: IsoDate | None = None
    owner_id: BodyInt | None = Field(
        None, ge=1, le=MAX_ID, description="Defaults to you; supervisors and above may name another owner in scope."
    )

    model_config = {"extra": "forbid"}


class DealPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    product: str | None = Field(None, max_length=300)
    amount: Money | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    engaged_on: IsoDate | None = None
    expected_close: IsoDate | None = None
    owner_id: BodyInt | None = Field(None, ge=1, le=MAX_ID)
    lost_reason: str | None = Field(None, max_length=300)

    model_config = {"extra": "forbid"}

    @field_validator("title", "amount", "currency", "owner_id", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    @field_validator("product", "lost_reason", mode="before")
    @classmethod
    def _null_is_blank(cls, value: Any) -> Any:
        return "" if value is None else value


class DealQuery(Schema):
    customer_id: int | None = Field(None, ge=1, le=MAX_ID)
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    outcome: Deal.Outcome | None = None
    stage: str | None = Field(None, max_length=50)


@deals_router.get("", response={200: list[DealOut], **ERRORS})
@paginate(Pagination)
def list_deals(request: HttpRequest, filters: Query[DealQuery]) -> Any:
    """Deals (商机) of the customers in your scope: open ones first, by expected close."""
    return deal_list(user=request.user, filters=DealFilters(**filters.dict()))  # type: ignore[arg-type]


@deals_router.post("", response={201: DealDetailOut, **ERRORS})
def create_deal(request: HttpRequest, payload: DealIn) -> tuple[int, Deal]:
    """Open a deal on a customer you may change, at the template's first stage (templates with deals only)."""
    data = payload.dict()
    customer_id = data.pop("customer_id")
    deal = deal_create(user=request.user, customer_id=customer_id, data=DealInput(**data), now=clock.now())  # type: ignore[arg-type]
    return 201, deal_get(user=request.user, deal_id=deal.pk)  # type: ignore[arg-type]


@deals_router.get("/{deal_id}", response={200: DealDetailOut, **ERRORS})
def get_deal(request: HttpRequest, deal_id: IdPath) -> Deal:
    """One deal with its stage history (newest first)."""
    return deal_get(user=request.user, deal_id=deal_id)  # type: ignore[arg-type]


@deals_router.patch("/{deal_id}", response={200: DealDetailOut, **ERRORS})
def patch_deal(request: HttpRequest, deal_id: IdPath, payload: DealPatch) -> Deal:
    """Change title, products, amount, dates, owner or the reason lost; stage and outcome move only
    through logged actions (an action at 成交 or 输单 closes the deal)."""
    deal_update(user=request.user, deal_id=deal_id, changes=payload.dict(exclude_unset=True), now=clock.now())  # type: ignore[arg-type]
    return deal_get(user=request.user, deal_id=deal_id)  # type: ignore[arg-type]
