"""The only writers of customers and their stage history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.selectors import catalog_snapshot
from salestrace.core.errors import FieldError, PermissionDenied, RuleViolation
from salestrace.customers.models import STAGE_LEAD, STAGE_LOST, STAGE_WON, Customer, StageHistory
from salestrace.customers.selectors import customer_get
from salestrace.org.models import User
from salestrace.org.selectors import assignable_users, can_assign_owner, can_log_actions

if TYPE_CHECKING:
    from salestrace.actions.models import ActionLog

EDITABLE_FIELDS = ("kind", "name", "region", "city", "industry", "owner_id")


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


def _check_owner(*, user: User, owner_id: int, errors: list[FieldError]) -> None:
    if owner_id == user.pk:
        return
    if not can_assign_owner(user):
        raise PermissionDenied([FieldError("owner_id", "forbidden", _("You may not assign customers to others."))])
    if not User.objects.filter(assignable_users(user), pk=owner_id).exists():
        errors.append(FieldError("owner_id", "invalid", _("This user cannot own customers in your scope.")))


@transaction.atomic
def customer_create(*, user: User, data: CustomerInput, now: datetime) -> Customer:
    """A new customer owned by `user` unless a supervisor or above names another owner in scope."""
    if not can_log_actions(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Your role may not create customers."))])
    errors: list[FieldError] = []
    if not data.name.strip():
        errors.append(FieldError("name", "required", _("The customer name is required.")))
    owner_id = data.owner_id if data.owner_id is not None else user.pk
    _check_owner(user=user, owner_id=owner_id, errors=errors)
    snapshot = catalog_snapshot()
    if data.stage not in snapshot.active_codes.get("stage", frozenset()):
        errors.append(FieldError("stage", "invalid_choice", _("Unknown or inactive stage.")))
    if errors:
        raise RuleViolation(errors)
    customer = Customer.objects.create(
        kind=data.kind,
        name=data.name.strip(),
        region=data.region.strip(),
        city=data.city.strip(),
        industry=data.industry.strip(),
        owner_id=owner_id,
        stage=data.stage,
        status=status_for_stage(data.stage),
        created_at=now,
        updated_at=now,
    )
    StageHistory.objects.create(customer=customer, from_stage="", to_stage=data.stage, changed_at=now, changed_by=user)
    return customer


@transaction.atomic
def customer_update(*, user: User, customer_id: int, changes: dict[str, Any], now: datetime) -> Customer:
    """Change a customer's details; stage and status move only through the action log."""
    customer = customer_get(user=user, customer_id=customer_id, for_write=True)
    errors: list[FieldError] = []
    changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    if "name" in changes and not str(changes["name"]).strip():
        errors.append(FieldError("name", "required", _("The customer name is required.")))
    if "owner_id" in changes and changes["owner_id"] != customer.owner_id:
        if changes["owner_id"] is None:
            errors.append(FieldError("owner_id", "required", _("A customer needs an owner.")))
        else:
            _check_owner(user=user, owner_id=changes["owner_id"], errors=errors)
    if errors:
        raise RuleViolation(errors)
    for name, value in changes.items():
        setattr(customer, name, value.strip() if isinstance(value, str) else value)
    customer.updated_at = now
    customer.save(update_fields=[*changes.keys(), "updated_at"])
    return customer


def customer_record_action(*, customer: Customer, action: ActionLog) -> None:
    """Move the customer to the action's stage and mark it active, if the action is its latest.

    A back-dated action older than the latest one changes nothing: the log is ordered by when
    things happened, not by when they were typed in.
    """
    if customer.last_active_at is not None and action.occurred_at < customer.last_active_at:
        return
    fields = ["last_active_at", "status", "updated_at"]
    if action.stage != customer.stage:
        StageHistory.objects.create(
            customer=customer,
            from_stage=customer.stage,
            to_stage=action.stage,
            changed_at=action.occurred_at,
            action=action,
            changed_by=action.rep,
        )
        customer.stage = action.stage
        fields.append("stage")
    customer.last_active_at = action.occurred_at
    customer.status = status_for_stage(customer.stage)
    customer.updated_at = action.logged_at
    customer.save(update_fields=fields)


def customer_recompute_from_log(*, customer: Customer, by: User, now: datetime) -> None:
    """After an edit of a logged action: stage and last active time follow the latest action again."""
    latest = customer.actions.order_by("-occurred_at", "-id").first()
    if latest is None:
        return
    fields = ["last_active_at", "status", "updated_at"]
    if latest.stage != customer.stage:
        StageHistory.objects.create(
            customer=customer,
            from_stage=customer.stage,
            to_stage=latest.stage,
            changed_at=now,
            action=latest,
            changed_by=by,
        )
        customer.stage = latest.stage
        fields.append("stage")
    customer.last_active_at = latest.occurred_at
    customer.status = status_for_stage(customer.stage)
    customer.updated_at = now
    customer.save(update_fields=fields)
