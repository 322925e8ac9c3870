"""The 线索活力仪表盘 numbers: colour counts per rep, team and stage, week by week, in scope."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from salestrace.actions.models import ActionLog
from salestrace.actions.tests.factories import make_customer
from salestrace.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(personas: Any, now: datetime) -> None:
    """Alice: idle 1, 10, 20 and 40 days; Bob (other region): idle 3 days; one won deal."""
    for days in (1, 10, 20, 40):
        make_customer(
            owner=personas.alice,
            last_active_at=now - timedelta(days=days, hours=1),
            created_at=now - timedelta(days=60),
        )
    make_customer(owner=personas.bob, last_active_at=now - timedelta(days=3), created_at=now - timedelta(days=60))
    make_customer(
        owner=personas.alice, stage="won", status=Customer.Status.WON, last_active_at=now - timedelta(days=50)
    )


def test_director_sees_every_colour_per_rep(personas: Any, api_as: Any, book: None) -> None:
    body = api_as(personas.diana).get("/analytics/vitality?group=rep").json()
    assert body["bands"] == {"green_days": 7, "yellow_days": 15, "orange_days": 30}
    assert body["totals"] == {"green": 2, "yellow": 1, "orange": 1, "red": 1, "total": 5}
    rows = {r["key"]: r["counts"] for r in body["rows"]}
    assert rows[str(personas.alice.pk)] == {"green": 1, "yellow": 1, "orange": 1, "red": 1, "total": 4}
    assert rows[str(personas.bob.pk)]["green"] == 1


def test_a_supervisor_sees_only_the_subtree(personas: Any, api_as: Any, book: None) -> None:
    body = api_as(personas.sam).get("/analytics/vitality?group=team").json()
    assert [(r["label"], r["counts"]["total"]) for r in body["rows"]] == [("East-1", 4)]


def test_by_stage(personas: Any, api_as: Any, book: None) -> None:
    body = api_as(personas.diana).get("/analytics/vitality?group=stage").json()
    assert [(r["key"], r["counts"]["total"]) for r in body["rows"]] == [("lead", 5)]


@pytest.mark.parametrize("who", ["alice", "fay"])
def test_reps_and_assistants_are_refused(personas: Any, api_as: Any, who: str) -> None:
    response = api_as(getattr(personas, who)).get("/analytics/vitality")
    assert response.status_code == 403


def test_weekly_trend_judges_each_week_by_the_actions_before_its_end(personas: Any, api_as: Any, now: datetime) -> None:
    # a customer contacted 20 days ago (a Friday) and never since: green, then yellow, then orange
    shop = make_customer(
        owner=personas.alice, created_at=now - timedelta(days=40), last_active_at=now - timedelta(days=20)
    )
    ActionLog.objects.create(
        customer=shop,
        rep=personas.alice,
        occurred_at=now - timedelta(days=20),
        logged_at=now - timedelta(days=20),
        updated_at=now,
        contact_method="email",
        stage="lead",
    )
    weekly = api_as(personas.diana).get("/analytics/vitality?weeks=4").json()["weekly"]
    colours = [next(c for c in ("green", "yellow", "orange", "red") if w["counts"][c]) for w in weekly]
    assert colours == ["green", "yellow", "orange", "orange"]
    assert weekly[-1]["week_start"] == "2026-11-23"


def test_vitality_has_a_query_budget(
    personas: Any, api_as: Any, book: None, django_assert_max_num_queries: Any
) -> None:
    for _ in range(20):
        make_customer(owner=personas.alice)
    diana = api_as(personas.diana)  # minting her token is not the endpoint's cost
    # token (2), thresholds, the grouped counts, one per week (8), and transaction bookkeeping
    with django_assert_max_num_queries(15):
        assert diana.get("/analytics/vitality").status_code == 200


def test_bands_per_kind_and_stage_beat_the_default() -> None:
    from decimal import Decimal

    from salestrace.customers.compute import VitalityBands, vitality_colour

    bands = VitalityBands.from_thresholds(
        {
            "vitality_orange_days": Decimal(30),
            "vitality_orange_days__contract_signing": Decimal(45),
            "vitality_green_days__store": Decimal(3),
        }
    )
    assert vitality_colour(40, bands.for_customer("lead", "lead")) == "red"
    assert vitality_colour(40, bands.for_customer("store", "contract_signing")) == "orange"
    assert vitality_colour(5, bands.for_customer("store", "lead")) == "yellow"
    assert vitality_colour(5, bands.for_customer("account", "lead")) == "green"


def test_a_stage_with_its_own_bands_is_counted_and_filtered_by_them(
    personas: Any, api_as: Any, client: Any, now: datetime
) -> None:
    from salestrace.catalog.models import Threshold

    Threshold.objects.create(code="vitality_orange_days__contract_signing", value=45)
    signing = make_customer(
        owner=personas.alice,
        name="签约中",
        stage="contract_signing",
        last_active_at=now - timedelta(days=40, hours=1),
        created_at=now - timedelta(days=90),
    )
    make_customer(
        owner=personas.alice,
        name="线索甲",
        stage="lead",
        last_active_at=now - timedelta(days=40, hours=1),
        created_at=now - timedelta(days=90),
    )
    body = api_as(personas.diana).get("/analytics/vitality?group=stage").json()
    rows = {r["key"]: r["counts"] for r in body["rows"]}
    assert (rows["contract_signing"]["orange"], rows["contract_signing"]["red"]) == (1, 0)
    assert (rows["lead"]["orange"], rows["lead"]["red"]) == (0, 1)
    client.force_login(personas.alice)
    page = client.get("/customers/?colour=orange").content.decode()
    assert signing.name in page
    assert "线索甲" not in page
