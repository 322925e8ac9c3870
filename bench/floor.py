"""The floor of the stack: a plain Django view doing only what a save must do.

It authenticates the bearer token with the same lookup as the API
(salestrace.org.services.api_token_authenticate) and performs the same database writes as a real
save (salestrace.actions.services.action_log): look up the Idempotency-Key, then in one
transaction lock the customer (scoped to its owner), insert the ActionLog row, its
IdempotencyRecord, insert a StageHistory row when the stage changes, and update
the customer's stage, status and last_active_at. No schema, no rules, no catalog, no serializer:
whatever the API spends on top of this is the cost of its validation and framework.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from salestrace.actions.models import ActionLog, IdempotencyRecord
from salestrace.customers.models import STAGE_LOST, STAGE_WON, Customer, StageHistory
from salestrace.org.services import api_token_authenticate

FIELDS = (
    "contact_method",
    "stage",
    "key_action",
    "obstacle",
    "next_step_plan",
    "next_step_deliverable",
    "emotion",
    "summary",
    "channel",
    "content_type",
    "response_strength",
)


def _status(stage: str) -> str:
    if stage == STAGE_WON:
        return Customer.Status.WON
    if stage == STAGE_LOST:
        return Customer.Status.LOST
    return Customer.Status.ACTIVE


@csrf_exempt
def floor_action_create(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "method"}, status=405)
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    now = timezone.now()
    user = api_token_authenticate(raw=raw.strip(), now=now) if scheme.lower() == "bearer" else None
    if user is None:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    data = json.loads(request.body)
    key = request.headers.get("Idempotency-Key", "")
    if key and (seen := IdempotencyRecord.objects.filter(user=user, key=key).values_list("action_id", flat=True)):
        return JsonResponse({"id": seen[0]}, status=200)
    occurred_at = datetime.fromisoformat(data["occurred_at"])
    next_step_date = date.fromisoformat(data["next_step_date"]) if data.get("next_step_date") else None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=data["customer_id"], owner=user).first()
        if customer is None:
            return JsonResponse({"error": "not_found"}, status=404)
        action = ActionLog.objects.create(
            customer=customer,
            rep=user,
            occurred_at=occurred_at,
            logged_at=now,
            updated_at=now,
            next_step_date=next_step_date,
            **{name: data.get(name, "") for name in FIELDS},
        )
        if key:
            IdempotencyRecord.objects.create(user=user, key=key, request_hash="", action=action, created_at=now)
        if customer.last_active_at is None or occurred_at >= customer.last_active_at:
            fields = ["last_active_at", "status", "updated_at"]
            if action.stage != customer.stage:
                StageHistory.objects.create(
                    customer=customer,
                    from_stage=customer.stage,
                    to_stage=action.stage,
                    changed_at=occurred_at,
                    action=action,
                    changed_by=user,
                )
                customer.stage = action.stage
                fields.append("stage")
            customer.last_active_at = occurred_at
            customer.status = _status(customer.stage)
            customer.updated_at = now
            customer.save(update_fields=fields)
    return JsonResponse({"id": action.pk}, status=201)
