"""A threshold for one stage or customer kind, added from the Settings picker: checked, read by the
lead aging at once, recorded, removable, and each change undoable."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from salestrace.catalog.models import SettingChange, Threshold
from salestrace.catalog.selectors import threshold_values
from salestrace.catalog.services import setting_rollback, template_load, threshold_override_set
from salestrace.catalog.thresholds import CUSTOMER_KINDS
from salestrace.core.errors import PermissionDenied, RuleViolation
from salestrace.customers.models import Customer
from salestrace.customers.rules import IdleLimits

pytestmark = pytest.mark.django_db


def test_the_kinds_offered_are_the_customer_kinds() -> None:
    assert set(CUSTOMER_KINDS) == set(Customer.Kind.values)


def test_an_override_is_added_read_removed_and_undone(personas: Any, now: datetime) -> None:
    template_load(code="fmcg", now=now)
    code = threshold_override_set(
        user=personas.admin, base="vitality_dormant_days", key="contract_signing", value=Decimal(45), now=now
    )
    assert code == "vitality_dormant_days__contract_signing"
    assert Threshold.objects.get(code=code).description_zh.endswith("（合同签署）")
    limits = IdleLimits.from_thresholds(threshold_values())
    assert limits.dormant(kind="store", stage="contract_signing") == 45
    assert limits.dormant(kind="store", stage="lead") == 30
    threshold_override_set(
        user=personas.admin, base="vitality_dormant_days", key="contract_signing", value=None, now=now
    )
    assert not Threshold.objects.filter(code=code).exists()
    removal = SettingChange.objects.filter(key=code).order_by("-pk").first()
    assert removal is not None
    setting_rollback(user=personas.admin, change_id=removal.pk, now=now)
    assert Threshold.objects.get(code=code).value == 45


def test_bad_overrides_are_refused(personas: Any, now: datetime) -> None:
    template_load(code="fmcg", now=now)
    with pytest.raises(RuleViolation) as refused:
        threshold_override_set(user=personas.admin, base="late_entry_hours", key="nowhere", value=Decimal(3), now=now)
    assert {e.field for e in refused.value.errors} == {"base", "key"}
    with pytest.raises(RuleViolation):
        threshold_override_set(
            user=personas.admin, base="vitality_green_days", key="store", value=Decimal("2.5"), now=now
        )
    with pytest.raises(PermissionDenied):
        threshold_override_set(user=personas.sam, base="vitality_green_days", key="store", value=Decimal(5), now=now)


def test_the_picker_on_the_thresholds_page(personas: Any, now: datetime) -> None:
    template_load(code="fmcg", now=now)
    admin = Client()
    admin.force_login(personas.admin)
    post = {"do": "override", "base": "vitality_wakeup_days", "key": "store", "value": "10"}
    assert admin.post("/settings/thresholds/", post).status_code == 302
    page = admin.get("/settings/thresholds/").content.decode()
    assert 'id="t-vitality_wakeup_days__store"' in page
    bad = admin.post("/settings/thresholds/", {**post, "value": "ten"})
    assert bad.status_code == 422
    removed = admin.post("/settings/thresholds/", {"do": "override_remove", "code": "vitality_wakeup_days__store"})
    assert removed.status_code == 302
    assert not Threshold.objects.filter(code="vitality_wakeup_days__store").exists()
