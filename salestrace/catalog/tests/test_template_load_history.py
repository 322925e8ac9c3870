"""Loading a template keeps the history of the action-health key fields (completeness judges each
action by the fields in force when it was logged)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from salestrace.catalog.models import KeyFieldsChange, Policy
from salestrace.catalog.services import template_load

pytestmark = pytest.mark.django_db


def test_a_change_of_the_key_fields_starts_a_new_period_and_a_reload_does_not(now: datetime) -> None:
    # given the FMCG template loaded, then loaded again unchanged
    template_load(code="fmcg", now=now)
    template_load(code="fmcg", now=now + timedelta(days=1))
    assert list(KeyFieldsChange.objects.values_list("valid_from", "fields")) == [
        (now, ["stage", "obstacle", "next_step_plan"])
    ]
    # when someone had narrowed them and the pack is loaded again a week later
    Policy.objects.filter(code="health_key_fields").update(value=["stage"])
    later = now + timedelta(days=7)
    template_load(code="fmcg", now=later)
    # then the pack's fields are in force from that moment (the narrowing was never loaded: no period)
    assert list(KeyFieldsChange.objects.values_list("valid_from", "fields")) == [
        (now, ["stage", "obstacle", "next_step_plan"])
    ]
    # and when the policy changes through a load, the new fields start at that load
    Policy.objects.filter(code="health_key_fields").update(value=["stage"])
    KeyFieldsChange.objects.create(valid_from=later, fields=["stage"])
    template_load(code="fmcg", now=later + timedelta(days=1))
    assert [f for _at, f in KeyFieldsChange.objects.values_list("valid_from", "fields")] == [
        ["stage", "obstacle", "next_step_plan"],
        ["stage"],
        ["stage", "obstacle", "next_step_plan"],
    ]
