"""Thresholds as a manager edits them: units and ranges, the checks between them (pure); the
service's conflicts, history and rollback; the Settings pages per role."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from salestrace.catalog.models import SettingChange, Threshold
from salestrace.catalog.services import setting_rollback, template_load, thresholds_update
from salestrace.catalog.thresholds import DAYS, HOURS, SHARE, threshold_problems, unit_of
from salestrace.core.errors import Conflict, PermissionDenied, RuleViolation

D = Decimal


def test_each_code_has_its_unit() -> None:
    assert unit_of("vitality_green_days").code == DAYS
    assert unit_of("late_entry_hours").code == HOURS
    assert unit_of("health_completeness_line").code == SHARE
    assert unit_of("health_expected_actions_per_week__price_negotiation").code == "rate"
    assert unit_of("pool_max_held").code == "count"


def test_out_of_range_and_out_of_order_values_are_named() -> None:
    with translation.override("en"):
        problems = threshold_problems(
            {
                "vitality_green_days": D(20),
                "vitality_yellow_days": D(15),
                "vitality_orange_days": D(30),
                "health_completeness_line": D("1.2"),
                "pool_max_held": D("2.5"),
            },
            {"vitality_green_days": "Green"},
        )
    assert dict(problems) == {
        "vitality_yellow_days": "Must be more than Green (20).",
        "health_completeness_line": "Between 0% and 100%.",
        "pool_max_held": "A whole number.",
    }


@given(st.lists(st.integers(min_value=0, max_value=3650), min_size=3, max_size=3))
def test_days_in_strictly_rising_order_always_pass(days: list[int]) -> None:
    green, yellow, orange = sorted(days)
    problems = threshold_problems(
        {"vitality_green_days": D(green), "vitality_yellow_days": D(yellow), "vitality_orange_days": D(orange)}
    )
    assert (problems == []) == (green < yellow < orange)


pytestmark_db = pytest.mark.django_db


@pytest.fixture
def loaded(personas: Any, now: datetime) -> None:
    template_load(code="fmcg", now=now)


@pytestmark_db
def test_a_change_is_saved_recorded_and_rolled_back(personas: Any, loaded: None, now: datetime) -> None:
    # when the admin moves the wake-up from 15 to 10 days
    changed = thresholds_update(
        user=personas.admin, values={"vitality_wakeup_days": D(10)}, seen={"vitality_wakeup_days": D(15)}, now=now
    )
    # then it is in force, and the history says who, when, before and after
    assert changed == ["vitality_wakeup_days"]
    assert Threshold.objects.get(code="vitality_wakeup_days").value == 10
    change = SettingChange.objects.get()
    assert (change.key, change.before, change.after, change.changed_by) == (
        "vitality_wakeup_days",
        "15",
        "10",
        personas.admin,
    )
    # when it is rolled back, the old value is back, and the rollback is a change of its own
    setting_rollback(user=personas.admin, change_id=change.pk, now=now + timedelta(minutes=1))
    assert Threshold.objects.get(code="vitality_wakeup_days").value == 15
    undo = SettingChange.objects.exclude(pk=change.pk).get()
    assert (undo.before, undo.after, undo.rolled_back) == ("10", "15", change)


@pytestmark_db
def test_a_value_someone_changed_meanwhile_is_not_overwritten(personas: Any, loaded: None, now: datetime) -> None:
    # given two admins opened the form at 15 days; the first saved 10
    thresholds_update(
        user=personas.admin, values={"vitality_wakeup_days": D(10)}, seen={"vitality_wakeup_days": D(15)}, now=now
    )
    # when the second saves 12 from what they saw
    with pytest.raises(Conflict) as caught:
        thresholds_update(
            user=personas.admin, values={"vitality_wakeup_days": D(12)}, seen={"vitality_wakeup_days": D(15)}, now=now
        )
    # then it is refused, naming the value now in force
    assert caught.value.errors[0].field == "vitality_wakeup_days"
    assert "10" in str(caught.value.errors[0].message)
    assert Threshold.objects.get(code="vitality_wakeup_days").value == 10


@pytestmark_db
def test_an_inconsistent_set_writes_nothing(personas: Any, loaded: None, now: datetime) -> None:
    with pytest.raises(RuleViolation) as caught:
        thresholds_update(
            user=personas.admin,
            values={"vitality_wakeup_days": D(40), "late_entry_hours": D(3)},
            seen={},
            now=now,
        )
    assert [e.field for e in caught.value.errors] == ["vitality_dormant_days"]
    assert Threshold.objects.get(code="late_entry_hours").value == 2
    assert not SettingChange.objects.exists()


@pytestmark_db
def test_only_admins_and_allowed_directors_change_settings(personas: Any, loaded: None, now: datetime) -> None:
    from salestrace.catalog.models import Policy

    values = {"late_entry_hours": D(3)}
    for user in (personas.alice, personas.sam, personas.fay, personas.diana):
        with pytest.raises(PermissionDenied):
            thresholds_update(user=user, values=values, seen={}, now=now)
    Policy.objects.create(code="directors_configure", value=True)
    assert thresholds_update(user=personas.diana, values=values, seen={}, now=now) == ["late_entry_hours"]


@pytestmark_db
def test_the_page_shows_units_and_template_values_and_saves(client: Any, personas: Any, loaded: None) -> None:
    client.force_login(personas.admin)
    page = client.get("/settings/thresholds/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert page.status_code == 200
    assert "线索活力" in html
    assert "绿色活力的最大天数" in html
    assert 'value="95"' in html  # the completeness line as a percentage
    assert "模板默认：7" in html
    form = {f["row"].code: f["shown"] for g in page.context["groups"] for f in g["fields"]}
    seen = {f"seen-{f['row'].code}": f["seen"] for g in page.context["groups"] for f in g["fields"]}
    # when the completeness line is set to 90%
    saved = client.post("/settings/thresholds/", {**form, **seen, "health_completeness_line": "90"})
    assert saved.status_code == 302
    assert Threshold.objects.get(code="health_completeness_line").value == D("0.9")
    # and a wrong value is shown next to its field, nothing saved
    bad = client.post("/settings/thresholds/", {**form, **seen, "vitality_orange_days": "5"})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.content.decode()
    assert Threshold.objects.get(code="vitality_orange_days").value == 30
    # the history lists the change, with a button to roll it back
    history = client.get("/settings/history/").content.decode()
    assert "完整性基准线" in history
    assert "回滚" in history


@pytestmark_db
def test_reps_and_supervisors_cannot_open_the_settings(client: Any, personas: Any, loaded: None) -> None:
    for user in (personas.alice, personas.sam):
        client.force_login(user)
        assert client.get("/settings/thresholds/").status_code == 403
        assert "/settings/" not in client.get("/").content.decode()


@pytestmark_db
def test_the_admin_only_shows_thresholds_and_options(client: Any, personas: Any, loaded: None) -> None:
    # every change goes through the Settings pages' services (checks, history); the admin cannot
    # write around them
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser(username="super", password="pw-super")
    client.force_login(root)
    threshold = Threshold.objects.get(code="late_entry_hours")
    url = f"/admin/catalog/threshold/{threshold.pk}/change/"
    assert client.get(url).status_code == 200  # shown
    response = client.post(url, {"code": "late_entry_hours", "value": "99"})
    assert response.status_code == 403
    assert Threshold.objects.get(pk=threshold.pk).value == 2
    assert client.get("/admin/catalog/optionset/add/").status_code == 403
