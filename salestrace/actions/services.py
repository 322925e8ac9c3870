"""The only writers of the action log. Every write checks the rules; every edit is kept."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from salestrace.actions.evidence_services import (
    Pending,
    Upload,
    evidence_attach,
    evidence_check,
    evidence_discard_pending,
    evidence_keep_pending,
    evidence_receive,
    evidence_save_pending,
    evidence_write,
)
from salestrace.actions.models import ActionEdit, ActionLog, Evidence, IdempotencyRecord
from salestrace.actions.rules import ActionDraft, Problem, check_draft
from salestrace.actions.selectors import (
    action_get,
    may_change,
    own_uploads,
)
from salestrace.catalog.selectors import CatalogSnapshot, catalog_snapshot
from salestrace.core.bulk import insert_with_ids, stored_date, stored_datetime
from salestrace.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from salestrace.customers.models import Customer, Deal
from salestrace.customers.selectors import customer_get, customer_ref
from salestrace.customers.services import (
    LockedCustomers,
    action_edit_refusal,
    action_on_dormant_refusal,
    customer_brief,
    customer_recompute_from_log,
    customer_record_action,
    deal_for_action,
    deal_recompute_from_log,
    deal_record_action,
    imported_actions_record,
)
from salestrace.notify.models import WebhookEvent
from salestrace.notify.webhook_services import webhook_batch, webhook_emit
from salestrace.org.models import User
from salestrace.org.selectors import can_import, can_log_actions

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


def _check(
    draft: ActionDraft,
    *,
    now: datetime,
    check_time_window: bool = True,
    evidence_kinds: Collection[str] = (),
    before: ActionDraft | None = None,
    snapshot: CatalogSnapshot | None = None,
) -> None:
    """Refuse the draft with every problem. For an edit (`before` given), only what the edit
    breaks counts: an entry logged before a rule existed (a visit from before the photo rule)
    can still have its emotion corrected, but cannot be edited into breaking that rule."""
    snapshot = snapshot or catalog_snapshot()
    backdate_days = snapshot.threshold("action_backdate_days", settings.SALESTRACE_BACKDATE_DAYS)

    def problems_of(candidate: ActionDraft) -> list[Problem]:
        return check_draft(
            candidate,
            active_codes=snapshot.active_codes,
            rules=snapshot.rules,
            now=now,
            backdate=timedelta(days=float(backdate_days)),
            clock_skew=timedelta(seconds=settings.SALESTRACE_CLOCK_SKEW_SECONDS),
            local_tz=timezone.get_default_timezone(),
            check_time_window=check_time_window,
            evidence_kinds=evidence_kinds,
        )

    problems = problems_of(draft)
    if problems and before is not None:
        already = {(p.field, p.code) for p in problems_of(before)}
        problems = [p for p in problems if (p.field, p.code) not in already]
    if problems:
        raise RuleViolation([_to_field_error(p) for p in problems])


def _request_hash(customer_id: int, draft: ActionDraft, deal_id: int | None = None) -> str:
    payload = {"customer_id": customer_id, **draft.as_values()}
    if deal_id is not None:
        payload["deal_id"] = deal_id
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


PURGE_BATCH = 1000


def idempotency_purge(*, now: datetime) -> int:
    """Forget Idempotency-Keys older than IDEMPOTENCY_RETENTION_HOURS (a retry after that logs a
    new action), a batch per transaction so phones' saves are not held behind a long delete.
    Returns records deleted; a rerun finds nothing."""
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(
                IdempotencyRecord.objects.filter(created_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:PURGE_BATCH]
            )
            if not batch:
                return deleted
            deleted += IdempotencyRecord.objects.filter(pk__in=batch).delete()[0]


def action_log(
    *,
    user: User,
    customer_id: int,
    draft: ActionDraft,
    now: datetime,
    idempotency_key: str | None = None,
    evidence_ids: Sequence[int] = (),
    deal_id: int | None = None,
    pending: Sequence[Pending] = (),
) -> tuple[ActionLog, bool]:
    """Log one action; returns (action, created). A retry with the same key returns the first action.

    `evidence_ids` are the user's uploads for this customer (`evidence_upload`), attached in the
    same transaction so the rules can require them; `pending` are files of the same request
    (`action_log_with_files`), saved with it. Neither is part of the request's
    identity: a retry that uploaded its files again gets the first action, and the new uploads stay
    unattached until they are swept. The customer's stage, stage history and last active time
    change in the same transaction; where the template uses deals, the action works on `deal_id`
    (or the customer's one open deal, or a new one: `deal_for_action`) and moves that deal.
    """
    request_hash = _request_hash(customer_id, draft, deal_id) if idempotency_key else ""
    if idempotency_key and (previous := _replay(user=user, key=idempotency_key, request_hash=request_hash)):
        return previous, False
    try:
        with webhook_batch():
            action = _action_log(
                user=user,
                customer_id=customer_id,
                draft=draft,
                now=now,
                key=idempotency_key,
                request_hash=request_hash,
                evidence_ids=evidence_ids,
                deal_id=deal_id,
                pending=pending,
            )
        return action, True
    except IntegrityError:
        # A concurrent request with the same key won the race; answer with its action.
        if idempotency_key and (previous := _replay(user=user, key=idempotency_key, request_hash=request_hash)):
            return previous, False
        raise


@dataclass(frozen=True)
class NewFile:
    """A file sent with an action: `field` names it in a refusal (the form input or the API part)."""

    field: str
    kind: str
    upload: Upload


def action_log_with_files(
    *,
    user: User,
    customer_id: int,
    draft: ActionDraft,
    now: datetime,
    files: Sequence[NewFile],
    kept: list[Evidence],
    idempotency_key: str | None = None,
    evidence_ids: Sequence[int] = (),
    deal_id: int | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    customer: Customer | None = None,
) -> tuple[ActionLog, bool]:
    """`action_log` with files sent in the same request (a visit and its photo): one answer, and
    nothing kept but a complete action or files the rep need not send again.

    The files are checked first (type, size, pixels, completeness; a refusal names each by its
    `field`) and their originals written; then the action is checked and saved, with the files'
    rows in its transaction (one commit, not one per file and one for the action). Their digests
    are made on another core from the moment they are read until that save. When the action is
    not saved (refused, or a retry answered with the first action), or a file is refused,
    the files that passed are stored unattached and added to `kept`, as `evidence_upload` would
    have: the corrected entry attaches them by id. `customer` is the caller's own
    `customer_get(for_write=True)` of `customer_id`, when it has one (the files are written only
    for a customer the user may change; the save checks it again, under its lock).
    """
    written = (
        _files_written(
            user=user, customer_id=customer_id, customer=customer, files=files, kept=kept,
            now=now, latitude=latitude, longitude=longitude,
        )
        if files
        else []  # a plain save does not look the customer up twice
    )  # fmt: skip
    try:
        action, created = action_log(
            user=user,
            customer_id=customer_id,
            draft=draft,
            now=now,
            idempotency_key=idempotency_key,
            evidence_ids=evidence_ids,
            deal_id=deal_id,
            pending=written,
        )
    except DomainError:
        kept += evidence_keep_pending(written)
        raise
    except BaseException:
        evidence_discard_pending(written)
        raise
    if not created:
        kept += evidence_keep_pending(written)
    return action, created


def _files_written(
    *,
    user: User,
    customer_id: int,
    customer: Customer | None,
    files: Sequence[NewFile],
    kept: list[Evidence],
    now: datetime,
    latitude: Decimal | None,
    longitude: Decimal | None,
) -> list[Pending]:
    """The files of `action_log_with_files` read, checked and written; when one is refused, the
    others are kept (added to `kept`) and InvalidInput names each refused one by its field."""
    if not can_log_actions(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Your role may not log sales actions."))])
    received, errors = [], []
    for item in files:  # read first: the digests are made on another core from now until the save
        try:
            received.append((item, evidence_receive(item.upload, item.kind)))
        except InvalidInput as exc:
            errors += [FieldError(item.field, e.code, e.message) for e in exc.errors]
    if customer is None or customer.pk != customer_id:
        customer = customer_ref(user=user, customer_id=customer_id, for_write=True)
    checked = []
    for item, got in received:
        try:
            evidence = evidence_check(
                user=user, customer=customer, received=got, now=now, latitude=latitude, longitude=longitude
            )
        except InvalidInput as exc:
            errors += [FieldError(item.field, e.code, e.message) for e in exc.errors]
        else:
            checked.append((evidence, got))
    written: list[Pending] = []
    try:
        for evidence, got in checked:
            written.append(evidence_write(evidence, got))
    except BaseException:
        evidence_discard_pending(written)
        raise
    if errors:
        kept += evidence_keep_pending(written)
        raise InvalidInput(errors)
    return written


@transaction.atomic
def _action_log(
    *,
    user: User,
    customer_id: int,
    draft: ActionDraft,
    now: datetime,
    key: str | None,
    request_hash: str,
    evidence_ids: Sequence[int],
    deal_id: int | None,
    pending: Sequence[Pending],
) -> ActionLog:
    if not can_log_actions(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Your role may not log sales actions."))])
    customer = customer_get(user=user, customer_id=customer_id, for_write=True, lock=True)
    if refusal := action_on_dormant_refusal(user=user, customer=customer, now=now):
        raise RuleViolation([refusal])
    wanted = set(evidence_ids)
    evidence = own_uploads(user=user, customer_id=customer.pk, evidence_ids=wanted, now=now, lock=True)
    if len(evidence) != len(wanted):
        raise InvalidInput(
            [
                FieldError(
                    "evidence_ids",
                    "unknown_evidence",
                    _(
                        "Some files were not found: each must be your own upload for this customer, "
                        "not attached to another action, and less than a day old."
                    ),
                )
            ]
        )
    snapshot = catalog_snapshot()
    kinds = [e.kind for e in evidence] + [p.evidence.kind for p in pending]
    _check(draft, now=now, evidence_kinds=kinds, snapshot=snapshot)
    deal = deal_for_action(
        user=user, customer=customer, deal_id=deal_id, occurred_at=draft.occurred_at, snapshot=snapshot
    )
    action = ActionLog.objects.create(
        customer=customer, deal=deal, rep=user, logged_at=now, updated_at=now, **_clean(draft.as_values())
    )
    if deal is None:
        customer_record_action(customer=customer, action=action)
    else:
        deal_record_action(customer=customer, deal=deal, action=action)
    if key:
        IdempotencyRecord.objects.create(user=user, key=key, request_hash=request_hash, action=action, created_at=now)
    # Their digests were made on another core while everything above ran. Saved before the
    # earlier uploads are attached, so "summary needed" sees the new recordings still being read.
    evidence_save_pending(action=action, pending=pending)
    if evidence:
        evidence_attach(action=action, evidence=evidence, now=now)
    webhook_emit(event=WebhookEvent.ACTION_LOGGED, data=lambda: _action_brief(action, customer), now=now)
    return action


def _action_brief(action: ActionLog, customer: Customer) -> dict[str, Any]:
    """A logged action as webhook receivers get it: its fields by code, the customer, the rep."""
    values = {name: getattr(action, name) for name in ActionDraft.__dataclass_fields__}
    return {
        "action": {"id": action.pk, "logged_at": action.logged_at, "deal_id": action.deal_id, **values},
        "customer": customer_brief(customer),
        "rep": {"username": action.rep.username, "name": str(action.rep)},
    }


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@transaction.atomic
def action_update(*, user: User, action_id: int, changes: dict[str, Any], now: datetime) -> ActionLog:
    """Edit a logged action under the same rules; the change is kept as an ActionEdit.

    Only the rep who logged it (or an admin) may edit; others in scope get PermissionDenied. The
    edit holds the customer's lock and passes its scope and pool rules like a new action: a rep
    who no longer owns the customer cannot edit its actions, and a pooled lead stays pooled.
    """
    action = action_get(user=user, action_id=action_id)
    if not may_change(user, action.rep_id):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only the rep who logged an action may edit it."))])
    changes = _clean({k: v for k, v in changes.items() if k in DRAFT_FIELDS})
    current = ActionDraft(**{name: getattr(action, name) for name in DRAFT_FIELDS})
    # A null clears a text or choice field; next_step_date is the one field that may be None.
    cleared: dict[str, Any] = {k: ("" if v is None and k != "next_step_date" else v) for k, v in changes.items()}
    updated = replace(current, **cleared)
    changed = {name for name in DRAFT_FIELDS if getattr(current, name) != getattr(updated, name)}
    if not changed:
        return action
    try:
        customer = customer_get(user=user, customer_id=action.customer_id, for_write=True, lock=True)
    except NotFound:
        message = _("This customer is no longer yours: its actions can no longer be edited.")
        raise PermissionDenied([FieldError(None, "forbidden", message)]) from None
    moves_customer = bool(changed & {"stage", "occurred_at"})
    if refusal := action_edit_refusal(user=user, customer=customer, moves_customer=moves_customer, now=now):
        raise RuleViolation([refusal])
    # The back-dating window is judged at entry; an edit is only held to it when it moves the time.
    kinds = list(Evidence.objects.filter(action=action).values_list("kind", flat=True))
    _check(updated, now=now, check_time_window="occurred_at" in changed, evidence_kinds=kinds, before=current)
    before = {name: _jsonable(getattr(current, name)) for name in sorted(changed)}
    after = {name: _jsonable(getattr(updated, name)) for name in sorted(changed)}
    for name in changed:
        setattr(action, name, getattr(updated, name))
    action.updated_at = now
    action.edit_count += 1
    action.save(update_fields=[*changed, "updated_at", "edit_count"])
    ActionEdit.objects.create(action=action, edited_by=user, edited_at=now, before=before, after=after)
    if moves_customer and action.deal_id is not None:
        deal_recompute_from_log(customer=customer, deal_id=action.deal_id, by=user, now=now)
    elif moves_customer:
        customer_recompute_from_log(customer=customer, by=user, now=now)
    return action


@dataclass(frozen=True)
class ImportedAction:
    """One action of an import, as `action_import` takes it; `key` is the caller's (a row number)."""

    key: int
    rep: User
    customer_id: int
    deal_id: int | None
    draft: ActionDraft
    logged_at: datetime | None


IMPORT_LOOKUP_CHUNK = 500  # ids per IN (…): SQLite allows a few hundred to thousands of variables
# What an imported action reads and writes of its customer (`imported_actions_record`): the rest of
# a customer's two dozen columns is not loaded for each of a million rows.
IMPORT_CUSTOMER_FIELDS = ("id", *LockedCustomers.FIELDS)


def action_import_many(
    *,
    user: User,
    items: Sequence[ImportedAction],
    now: datetime,
    locked: LockedCustomers | None = None,
) -> tuple[dict[int, int], dict[int, list[FieldError]]]:
    """`action_import` for many actions at once, with the same checks item by item and the same
    result, written in sets: ({key: action id} for those written, {key: errors} for those refused).
    The refused ones change nothing; the caller's transaction decides whether the others stay.

    `locked`: customers this transaction has already locked and loaded (by an earlier call), kept
    current by these calls; those missing are locked, loaded and added to it, and the customers
    changed are left for its `flush`. A caller that writes a file chunk by chunk in one transaction
    passes the same one to each call (and flushes it before the end), so a customer with a hundred
    actions spread over the file is read and written once, not once per chunk. Without it, the
    customers are written before this returns."""
    if not can_import(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins and assistants may import data."))])
    snapshot = catalog_snapshot()
    skew = timedelta(seconds=settings.SALESTRACE_CLOCK_SKEW_SECONDS)
    local_tz = timezone.get_default_timezone()
    customers: dict[int, Customer] = {} if locked is None else locked.rows
    customer_ids = sorted({item.customer_id for item in items} - customers.keys())
    deal_ids = sorted({item.deal_id for item in items if item.deal_id is not None})
    deals: dict[int, Deal] = {}
    for start in range(0, len(customer_ids), IMPORT_LOOKUP_CHUNK):
        chunk = customer_ids[start : start + IMPORT_LOOKUP_CHUNK]
        customers.update(Customer.objects.select_for_update(of=("self",)).only(*IMPORT_CUSTOMER_FIELDS).in_bulk(chunk))
    for start in range(0, len(deal_ids), IMPORT_LOOKUP_CHUNK):
        chunk = deal_ids[start : start + IMPORT_LOOKUP_CHUNK]
        deals.update(Deal.objects.select_for_update(of=("self",)).in_bulk(chunk))
    may_log: dict[int, bool] = {}
    errors: dict[int, list[FieldError]] = {}
    written: list[ImportedAction] = []
    for item in items:
        problems: list[FieldError] = []
        if may_log.setdefault(item.rep.pk, can_log_actions(item.rep)) is False:
            problems.append(FieldError("rep", "invalid", _("This user cannot log sales actions.")))
        customer = customers.get(item.customer_id)
        if customer is None:
            gone = _("What this id was imported as no longer exists; give it a new id.")
            errors[item.key] = [FieldError("customer_external_id", "gone", gone)]
            continue
        if customer.status == Customer.Status.DORMANT:
            message = _("This customer is in the dormant pool: claim or reassign it before importing its actions.")
            problems.append(FieldError("customer_external_id", "dormant", message))
        if not item.draft.stage:
            # History that names no stage (a CRM's calls and meetings) happened where its deal, or
            # its customer, stands.
            deal = deals.get(item.deal_id) if item.deal_id is not None else None
            item = replace(item, draft=replace(item.draft, stage=deal.stage if deal is not None else customer.stage))
        found = check_draft(
            item.draft,
            active_codes=snapshot.active_codes,
            rules=(),
            now=now,
            backdate=timedelta(days=365_000),
            clock_skew=skew,
            local_tz=local_tz,
        )
        problems += [_to_field_error(p) for p in found]
        if item.logged_at is not None and item.logged_at > now + skew:
            problems.append(FieldError("logged_at", "in_future", _BUILTIN_MESSAGES["in_future"]))
        if item.deal_id is not None and (
            (deal := deals.get(item.deal_id)) is None or deal.customer_id != item.customer_id
        ):
            message = _("This deal is not one of this customer's.")
            problems.append(FieldError("deal_external_id", "unknown_deal", message))
        if problems:
            errors[item.key] = problems
            continue
        written.append(item)
    # Written as the database stores them, in one set (`bulk_create` would prepare every value of a
    # million rows through its field); read back as ActionLog rows only by those who ask.
    stored_now = stored_datetime(now)
    rows = []
    for item in written:
        values = _clean(item.draft.as_values())
        values["occurred_at"] = stored_datetime(item.draft.occurred_at)
        values["next_step_date"] = stored_date(item.draft.next_step_date)
        logged_at = item.logged_at or item.draft.occurred_at
        rows.append(
            values
            | {
                "customer_id": item.customer_id,
                "deal_id": item.deal_id,
                "rep_id": item.rep.pk,
                "logged_at": stored_datetime(logged_at),
                "updated_at": stored_now,
                "source": ActionLog.Source.IMPORTED.value,
            }
        )
    ids = insert_with_ids(ActionLog, rows)
    logged = [
        ImportedLog(pk, item.draft.stage, item.draft.occurred_at, item.logged_at or item.draft.occurred_at, item.rep)
        for pk, item in zip(ids, written, strict=True)
    ]
    imported_actions_record(
        customers=customers,
        deals=deals,
        actions=[(item.customer_id, item.deal_id, log) for item, log in zip(written, logged, strict=True)],
        uses_deals=snapshot.uses_deals,
        changed=None if locked is None else locked.changed,
    )
    return {item.key: log.pk for item, log in zip(written, logged, strict=True)}, errors


class ImportedLog(NamedTuple):
    """An imported action as the customers' follow-up reads it (no model instance per row)."""

    pk: int
    stage: str
    occurred_at: datetime
    logged_at: datetime
    rep: User


@transaction.atomic
def action_import(
    *,
    user: User,
    rep: User,
    customer_id: int,
    draft: ActionDraft,
    logged_at: datetime | None,
    now: datetime,
    deal_id: int | None = None,
) -> ActionLog:
    """An action from another system's history, logged by `rep`, marked imported.

    It keeps its own occurred_at and logged_at (logged_at defaults to occurred_at): the back-dating
    window and the entry rules' required fields judge what a rep types now, not history, so they
    are not applied; option codes, a time not in the future and a next step not before the action
    are. It may name any deal of the customer, a closed one too (history happened before it
    closed), and never reopens it. A pooled lead is refused: claim or reassign it first."""
    item = ImportedAction(0, rep, customer_id, deal_id, draft, logged_at)
    written, refused = action_import_many(user=user, items=[item], now=now)
    if refused:
        raise RuleViolation(refused[0])
    return ActionLog.objects.get(pk=written[0])
