"""The one valid FMCG action body both the load clients and the query counter send, and the
Idempotency-Key they send with it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def action_body(customer_id: int, stage: str) -> bytes:
    """A price-negotiation-style e-mail logged now (Shanghai time) that passes every FMCG rule
    (a visit would need a photo uploaded first)."""
    now = datetime.now(SHANGHAI)
    return json.dumps(
        {
            "customer_id": customer_id,
            "occurred_at": now.isoformat(),
            "contact_method": "email",
            "stage": stage,
            "key_action": "send_quote",
            "emotion": "neutral",
            "obstacle": "budget_shortage",
            "next_step_plan": "重新报价",
            "next_step_date": (now.date() + timedelta(days=3)).isoformat(),
        },
        ensure_ascii=False,
    ).encode("utf-8")


def idempotency_key() -> str:
    """A new key for each save, as the phone makes one per entry (and sends it again on a retry)."""
    return uuid.uuid4().hex
