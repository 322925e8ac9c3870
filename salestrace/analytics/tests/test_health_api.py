"""GET /api/v1/analytics/{health,heatmap,contact-quality}: per role, periods, languages, query budgets."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from salestrace.actions.models import ActionLog
from salestrace.analytics.tests.factories import at, generated_team, logged, make_customers, random_log
from salestrace.catalog.selectors import catalog_snapshot
from salestrace.org.models import Role, User

pytestmark = pytest.mark.django_db

NOV = "?since=2026-11-01&until=2026-11-26"
PATHS = ["/analytics/health", "/analytics/heatmap", "/analytics/contact-quality"]


@pytest.fixture
def two_reps(personas: Any, now: datetime) -> None:
    """Alice: 3 actions, one logged 5 h late; Bob: 2 actions in time, one without a next step."""
    shop, other = make_customers(personas.alice, 1)[0], make_customers(personas.bob, 1)[0]
    ActionLog.objects.bulk_create(
        [
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 20)), response_strength="active_question"),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 21)), late=timedelta(hours=5)),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 22)), response_strength="request_delay"),
            logged(other, rep=personas.bob, occurred=at(date(2026, 11, 20))),
            logged(other, rep=personas.bob, occurred=at(date(2026, 11, 21)), next_step_plan=""),
        ]
    )


def test_a_rep_sees_their_own_health_with_their_late_entries(personas: Any, api_as: Any, two_reps: None) -> None:
    # when Alice asks, even for the team view or Bob's row
    body = api_as(personas.alice).get(f"/analytics/health{NOV}&group=team&rep_id={personas.bob.pk}").json()
    # then only her own row, her late entry, the 4-week default not applied (the period was given)
    assert body["group"] == "rep"
    assert [r["name"] for r in body["rows"]] == ["alice"]
    row = body["rows"][0]["figures"]
    assert (row["actions"], row["timeliness"]["numerator"], row["timeliness"]["line"]) == (3, 2, 0.8)
    assert row["timeliness"]["below"] is True
    assert row["flags"] == ["late", "low_contact_quality"]
    assert [e["delay_hours"] for e in body["late_entries"]] == [5.0]
    assert body["total"]["actions"] == 3
    assert [f["code"] for f in body["key_fields"]] == ["stage", "obstacle", "next_step_plan"]
    assert body["key_fields"][1]["label"] == "障碍类型"


def test_the_score_says_why_in_the_request_language(personas: Any, api_as: Any, two_reps: None) -> None:
    # given Alice holds one open store: 1 action a week expected over the 26 days
    zh = api_as(personas.alice).get(f"/analytics/health{NOV}").json()["rows"][0]["score"]
    en = api_as(personas.alice, "en").get(f"/analytics/health{NOV}").json()["rows"][0]["score"]
    # then 3 effective of 4 expected (26 / 7 weeks, rounded up), × (0.5 × 100% + 0.5 × 67%)
    assert (zh["effective"], zh["expected"], zh["score"]) == (3, 4, 62)
    assert zh["expected_from"] == [{"stage": "lead", "label": "线索", "open": 1, "per_week": 1.0, "expected": 26 / 7}]
    assert zh["explanation"].startswith("有效动作数 3 / 应完成动作数 4 = 75%")
    assert en["explanation"].startswith("Effective actions 3 / expected actions 4 = 75%")


def test_a_supervisor_sees_the_subtree_and_may_open_one_rep(personas: Any, api_as: Any, two_reps: None) -> None:
    api = api_as(personas.sam)
    assert [r["name"] for r in api.get(f"/analytics/health{NOV}").json()["rows"]] == ["alice"]
    one = api.get(f"/analytics/health{NOV}&rep_id={personas.alice.pk}").json()
    assert len(one["late_entries"]) == 1
    # Bob is West-1: nothing of his, not even his late entries
    other = api.get(f"/analytics/health{NOV}&rep_id={personas.bob.pk}").json()
    assert (other["rows"], other["late_entries"]) == ([], [])
    teams = api.get(f"/analytics/health{NOV}&group=team").json()
    assert [r["name"] for r in teams["rows"]] == ["East-1"]


def test_a_director_sees_everyone_and_may_narrow_to_a_team(personas: Any, api_as: Any, two_reps: None) -> None:
    api = api_as(personas.diana)
    assert {r["name"] for r in api.get(f"/analytics/health{NOV}").json()["rows"]} == {"alice", "bob"}
    west = api.get(f"/analytics/health{NOV}&team_id={personas.west1.pk}").json()
    assert [r["name"] for r in west["rows"]] == ["bob"]
    assert west["rows"][0]["figures"]["flags"] == ["incomplete"]
    quality = api.get(f"/analytics/contact-quality{NOV}").json()
    assert {r["name"]: r["ratio"] for r in quality["rows"]} == {"alice": 0.5, "bob": None}


@pytest.mark.parametrize("path", PATHS)
def test_assistants_may_not_see_action_health(personas: Any, api_as: Any, path: str) -> None:
    response = api_as(personas.fay).get(path)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "forbidden"


@pytest.mark.parametrize("path", PATHS)
def test_action_health_needs_a_signed_in_user(personas: Any, api_as: Any, path: str) -> None:
    assert api_as(None).get(path).status_code == 401


def test_reps_see_their_own_contact_quality_but_not_the_team_heatmap(
    personas: Any, api_as: Any, two_reps: None
) -> None:
    api = api_as(personas.alice)
    assert api.get("/analytics/heatmap").status_code == 403
    rows = api.get(f"/analytics/contact-quality{NOV}").json()["rows"]
    assert [(r["name"], r["responses"], r["high_value"], r["below_line"]) for r in rows] == [("alice", 2, 1, True)]
    assert {r["code"]: r["count"] for r in rows[0]["by_response"]} == {"active_question": 1, "request_delay": 1}


@pytest.mark.parametrize("path", PATHS)
def test_a_bad_period_is_refused(personas: Any, api_as: Any, path: str) -> None:
    api = api_as(personas.diana)
    response = api.get(f"{path}?since=2026-11-20&until=2026-11-01")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "since"
    assert api.get(f"{path}?until=0").status_code == 400
    assert api.get(f"{path}?team_id=0").status_code == 400


def test_the_default_period_is_the_last_four_weeks(personas: Any, api_as: Any, now: datetime) -> None:
    body = api_as(personas.diana).get("/analytics/health").json()
    assert (body["since"], body["until"]) == ("2026-10-30", "2026-11-26")


def test_a_thin_heatmap_says_not_enough_data(personas: Any, api_as: Any, two_reps: None) -> None:
    body = api_as(personas.diana).get(f"/analytics/heatmap{NOV}").json()
    assert body["enough"] is False
    assert body["message"] == "数据不足：有障碍类型的动作 5 条，至少需要 10 条。"
    assert not any(c["marked"] for c in body["cells"])
    assert body["findings"] == []


def test_the_generated_team_through_the_api(personas: Any, api_as: Any, now: datetime) -> None:
    # given
    generated_team(personas)
    api = api_as(personas.sam)
    # when
    health = api.get(f"/analytics/health{NOV}").json()
    heat = api.get(f"/analytics/heatmap{NOV}").json()
    # then exactly the late rep and the sloppy rep are flagged, and the 37% cell is marked
    flags = {r["name"]: r["figures"]["flags"] for r in health["rows"]}
    assert flags == {"alice": [], "carol": [], "lily": ["late"], "sid": ["incomplete"]}
    marked = [(c["stage"], c["obstacle"]) for c in heat["cells"] if c["marked"]]
    assert marked == [("solution_compare", "complex_decision_chain")]
    assert (
        heat["findings"][0]["sentence"] == "方案对比阶段 37% 的客户障碍为决策链复杂，其中 21 条下一步为“等待客户回复”。"
    )
    assert heat["stages"][2] == {"code": "solution_compare", "label": "方案对比"}
    en = api_as(personas.sam, "en").get(f"/analytics/heatmap{NOV}").json()
    assert en["findings"][0]["sentence"].startswith("At Solution comparison, 37% of customers are blocked by Complex")


def test_the_endpoints_keep_a_query_budget(
    personas: Any, api_as: Any, now: datetime, django_assert_max_num_queries: Any
) -> None:
    # given 150 actions and a warm catalog
    random_log([personas.alice, personas.bob], seed=9, deals=False)
    api = api_as(personas.sam)
    catalog_snapshot()
    # when / then: the token and user, the catalog's four, the team walk, whether the rep is in scope,
    # the counts, open work, the weeks, the late entries, labels
    with django_assert_max_num_queries(13):
        assert api.get(f"/analytics/health{NOV}&rep_id={personas.alice.pk}").status_code == 200
    # a team's scope: also whether a kept result exists, the team's people, and the count that
    # says it is small
    with django_assert_max_num_queries(13):
        assert api.get(f"/analytics/heatmap{NOV}").status_code == 200
    with django_assert_max_num_queries(13):
        assert api.get(f"/analytics/contact-quality{NOV}").status_code == 200
    with django_assert_max_num_queries(10):
        path = f"/analytics/heatmap/actions{NOV}&stage=lead&obstacle=budget_shortage"
        assert api.get(path).status_code == 200
    with django_assert_max_num_queries(12):
        assert api.get("/analytics/health/audit").status_code == 200


def test_a_bubble_drills_down_to_its_actions_misfits_first(personas: Any, api_as: Any, now: datetime) -> None:
    # given the generated team
    generated_team(personas)
    # when Sam opens 方案对比 × 决策链复杂
    response = api_as(personas.sam).get(
        f"/analytics/heatmap/actions{NOV}&stage=solution_compare&obstacle=complex_decision_chain"
    )
    # then its 37 actions, the 21 waiting for a reply first, each naming the rule it breaks
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 37
    assert [r["lint"] for r in rows[:21]] == [["decision_chain_waiting_for_reply"]] * 21
    assert all(r["next_step_plan"] == "等待客户回复" for r in rows[:21])
    assert not any(r["lint"] for r in rows[21:])


def test_a_bubble_of_unknown_codes_is_refused_and_reps_may_not_open_one(personas: Any, api_as: Any) -> None:
    response = api_as(personas.sam).get("/analytics/heatmap/actions?stage=moon&obstacle=budget_shortage")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("stage", "unknown")]
    path = "/analytics/heatmap/actions?stage=lead&obstacle=budget_shortage"
    assert api_as(personas.alice).get(path).status_code == 403


def test_the_completeness_audit_draws_the_same_reps_for_the_same_seed(
    personas: Any, api_as: Any, now: datetime
) -> None:
    # given 12 more reps in East-1, each with one action this week, every third one incomplete
    shop = make_customers(personas.alice, 1)[0]
    actions = []
    for i in range(12):
        rep = User.objects.create_user(username=f"rep{i:02d}", role=Role.REP, team=personas.east1)
        actions.append(logged(shop, rep=rep, occurred=at(date(2026, 11, 24)), obstacle="" if i % 3 == 0 else "x"))
    ActionLog.objects.bulk_create(actions)
    api = api_as(personas.sam)
    # when
    first = api.get("/analytics/health/audit?seed=42").json()
    again = api.get("/analytics/health/audit?seed=42").json()
    other = api.get("/analytics/health/audit?seed=7").json()
    default = api.get("/analytics/health/audit").json()
    # then 10 of the 13 East reps (Alice too), the seed shown, the same draw again
    assert (first["seed"], first["drawn_from"], len(first["rows"])) == (42, 13, 10)
    assert first == again
    assert [r["rep_id"] for r in other["rows"]] != [r["rep_id"] for r in first["rows"]]
    assert default["seed"] == 20261126
    assert (first["since"], first["until"]) == ("2026-11-20", "2026-11-26")
    total = first["total"]
    assert total["denominator"] == sum(r["completeness"]["denominator"] for r in first["rows"])
    assert total["line"] == 0.95
    assert api_as(personas.alice).get("/analytics/health/audit").status_code == 403
