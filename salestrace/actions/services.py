"""The only writers of the action log. Every write checks the rules; every edit is kept."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from salestrace.actions.models import ActionEdit, ActionLog, IdempotencyRecord
from salestrace.actions.rules import ActionDraft, Problem, check_draft
from salestrace.actions.selectors import action_get
from salestrace.catalog.selectors import catalog_snapshot
from salestrace.core.errors import Conflict, FieldError, PermissionDenied, RuleViolation
from salestrace.customers.models import Customer
from salestrace.customers.selectors import customer_get
from salestrace.customers.services import (
    action_on_dormant_refusal,
    customer_recompute_from_log,
    customer_record_action,
)
from salestrace.org.models import Role, User
from salestrace.org.selectors import can_log_actions

DRAFT_FIELDS = tuple(f.name for f in fields(ActionDraft))

_BUILTIN_MESSAGES = {
    "invalid_choice": _("Not one of the available options."),
    "in_future": _("The time of the action cannot be in the future."),
    "too_old": _("The action is older than the allowed back-dating window."),
    "before_occurred": _("The next step cannot be dated before the action."),
}


def _to_field_error(problem: Problem) -> FieldError:
    if problem.code == "required":
        english = (get_language() or "").startswith("en")
        return FieldError(
            problem.field, "required", problem.message_en if english and problem.message_en else problem.message_zh
        )
    return FieldError(problem.field, problem.code, _BUILTIN_MESSAGES[problem.code])


def _check(draft: ActionDraft, *, now: datetime, check_time_window: bool = True) -> None:
    snapshot = catalog_snapshot()
    backdate_days = snapshot.threshold("action_backdate_days", settings.SALESTRACE_BACKDATE_DAYS)
    problems = check_draft(
        draft,
        active_codes=snapshot.active_codes,
        rules=snapshot.rules,
        now=now,
        backdate=timedelta(days=float(backdate_days)),
        clock_skew=timedelta(seconds=settings.SALESTRACE_CLOCK_SKEW_SECONDS),
        local_tz=timezone.get_default_timezone(),
        check_time_window=check_time_window,
    )
    if problems:
        raise RuleViolation([_to_field_error(p) for p in problems])


def _request_hash(customer_id: int, draft: ActionDraft) -> str:
    payload = {"customer_id": customer_id, **draft.as_values()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _replay(*, user: User, key: str, request_hash: str) -> ActionLog | None:
    record = IdempotencyRecord.objects.select_related("action").filter(user=user, key=key).first()
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise Conflict(
            [
                FieldError(
                    None, "idempotency_key_reused", _("This Idempotency-Key was already used for a different action.")
                )
            ]
        )
    return record.action


def action_log(
    *, user: User, customer_id: int, draft: ActionDraft, now: datetime, idempotency_key: str | None = None
) -> tuple[ActionLog, bool]:
    """Log one action; returns (action, created). A retry with the same key returns the first action.

    The customer's stage, stage history and last active time change in the same transaction.
    """
    request_hash = _request_hash(customer_id, draft) if idempotency_key else ""
    if idempotency_key and (previous := _replay(user=user, key=idempotency_key, request_hash=request_hash)):
        return previous, False
    try:
        return _action_log(
            user=user, customer_id=customer_id, draft=draft, now=now, key=idempotency_key, request_hash=request_hash
        ), True
    except IntegrityError:
        # A concurrent request with the same key won the race; answer with its action.
        if idempotency_key and (previous := _replay(user=user, key=idempotency_key, request_hash=request_hash)):
            return previous, False
        raise


@transaction.atomic
def _action_log(
    *, user: User, customer_id: int, draft: ActionDraft, now: datetime, key: str | None, request_hash: str
) -> ActionLog:
    if not can_log_actions(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Your role may not log sales actions."))])
    customer = customer_get(user=user, customer_id=customer_id, for_write=True, lock=True)
    if refusal := action_on_dormant_refusal(user=user, customer=customer, now=now):
        raise RuleViolation([refusal])
    _check(draft, now=now)
    action = ActionLog.objects.create(
        customer=customer, rep=user, logged_at=now, updated_at=now, **_clean(draft.as_values())
    )
    customer_record_action(customer=customer, action=action)
    if key:
        IdempotencyRecord.objects.create(user=user, key=key, request_hash=request_hash, action=action, created_at=now)
    return action


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@transaction.atomic
def action_update(*, user: User, action_id: int, changes: dict[str, Any], now: datetime) -> ActionLog:
    """Edit a logged action under the same rules; the change is kept as an ActionEdit.

    Only the rep who logged it (or an admin) may edit; others in scope get PermissionDenied.
    """
    action = action_get(user=user, action_id=action_id)
    if action.rep_id != user.pk and not (user.role == Role.ADMIN or user.is_superuser):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only the rep who logged an action may edit it."))])
    changes = _clean({k: v for k, v in changes.items() if k in DRAFT_FIELDS})
    current = ActionDraft(**{name: getattr(action, name) for name in DRAFT_FIELDS})
    # A null clears a text or choice field; next_step_date is the one field that may be None.
    cleared: dict[str, Any] = {k: ("" if v is None and k != "next_step_date" else v) for k, v in changes.items()}
    updated = replace(current, **cleared)
    changed = {name for name in DRAFT_FIELDS if getattr(current, name) != getattr(updated, name)}
    if not changed:
        return action
    # The back-dating window is judged at entry; an edit is only held to it when it moves the time.
    _check(updated, now=now, check_time_window="occurred_at" in changed)
    before = {name: _jsonable(getattr(current, name)) for name in sorted(changed)}
    after = {name: _jsonable(getattr(updated, name)) for name in sorted(changed)}
    for name in changed:
        setattr(action, name, getattr(updated, name))
    action.updated_at = now
    action.edit_count += 1
    action.save(update_fields=[*changed, "updated_at", "edit_count"])
    ActionEdit.objects.create(action=action, edited_by=user, edited_at=now, before=before, after=after)
    if changed & {"stage", "occurred_at"}:
        customer = Customer.objects.select_for_update().get(pk=action.customer_id)
        customer_recompute_from_log(customer=customer, by=user, now=now)
    return action
