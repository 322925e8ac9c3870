"""The deal pages' numbers: facts read in scope, funnel, cycle time and the cached top-performer analysis."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from salestrace.analytics.fetch import action_facts, deal_facts
from salestrace.analytics.models import AnalysisResult
from salestrace.analytics.services import analysis_compute, analysis_purge
from salestrace.analytics.tests.factories import OCT, SHANGHAI, make_deals, won
from salestrace.catalog.selectors import catalog_snapshot
from salestrace.org.models import User

pytestmark = pytest.mark.django_db


def test_deal_facts_read_stages_in_local_dates_within_scope(personas: Any, book: None, now: datetime) -> None:
    # when
    facts = deal_facts(user=personas.sam, since=date(2026, 8, 29), until=date(2026, 11, 26))
    # then: East only, stages without won/lost, in order
    assert len(facts) == 24
    assert {f.rep_id for f in facts} == {personas.alice.pk, User.objects.get(username="carol").pk}
    first = min(facts, key=lambda f: f.deal_id)
    assert [(s.stage, s.entered_on) for s in first.stages] == [("lead", OCT), ("needs_confirmed", date(2026, 10, 6))]
    assert first.outcome == "won"
    assert first.closed_on == date(2026, 10, 21)
    actions = action_facts([first.deal_id])
    assert [(a.stage, a.key_action, a.occurred_at.date()) for a in actions] == [
        ("lead", "book_demo", date(2026, 10, 2))
    ]


def test_deal_facts_leave_out_deals_closed_before_the_period(personas: Any, book: None) -> None:
    # when the period starts after every deal closed
    facts = deal_facts(user=personas.diana, since=date(2026, 11, 20), until=date(2026, 11, 26))
    # then
    assert facts == []


def test_deal_facts_read_in_a_fixed_number_of_queries(
    personas: Any, b2b: None, django_assert_max_num_queries: Any
) -> None:
    # given 60 deals with stages and actions
    make_deals([won(personas.alice, OCT, days=20, amount="1", lead_actions=[("book_demo", "visit")])] * 60)
    catalog_snapshot()  # built once per catalog change; then one query checks its version
    # when / then: the catalog version, the team walk, the deals, their stages
    with django_assert_max_num_queries(4):
        facts = deal_facts(user=personas.sam, since=date(2026, 8, 29), until=date(2026, 11, 26))
    with django_assert_max_num_queries(2):
        actions = action_facts([f.deal_id for f in facts])
    assert len(facts) == 60
    assert len(actions) == 60


def test_the_funnel_api_counts_a_supervisors_subtree(personas: Any, api_as: Any, book: None, now: datetime) -> None:
    # when
    response = api_as(personas.sam).get("/analytics/funnel")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["since"], body["until"]) == ("2026-08-29", "2026-11-26")
    scope = body["scope"]
    assert (scope["won"], scope["lost"], scope["open"]) == (16, 8, 0)
    assert scope["won_value"] == "2600000.00"
    assert body["mine"] is None
    lead = scope["stages"][0]
    assert lead["stage"] == "lead"
    assert lead["label"] == "线索"
    assert lead["reached"] == 24
    assert scope["win_rate"] == pytest.approx(16 / 24)
    assert [s["stall"] for s in scope["stages"]].count(True) == 1


def test_a_rep_sees_their_own_funnel_beside_the_teams_and_no_other_region(
    personas: Any, api_as: Any, book: None, now: datetime
) -> None:
    # when
    body = api_as(personas.alice).get("/analytics/funnel").json()
    # then: the team is East-1 (Alice and Carol), never Bob's West-1
    assert body["scope"]["won"] + body["scope"]["lost"] == 24
    assert body["mine"]["won"] == 12
    assert body["mine"]["lost"] == 0
    assert body["pipeline"] == []


def test_the_cycle_time_api_gives_km_per_group(personas: Any, api_as: Any, book: None, now: datetime) -> None:
    # when
    body = api_as(personas.sam).get("/analytics/cycle-time?top_n=1").json()
    # then
    team, top = body["groups"]
    assert (team["key"], team["n_deals"], team["n_won"], team["n_censored"]) == ("team", 24, 16, 8)
    assert (top["key"], top["n_deals"], top["median_days"], top["km_median_days"]) == ("top", 12, 20.0, 20.0)
    assert top["enough"] is True
    assert top["curve"][-1] == {"day": 20.0, "share_won": 1.0}


@pytest.mark.parametrize("path", ["/analytics/funnel", "/analytics/cycle-time", "/analytics/top-performers"])
def test_assistants_may_not_see_deal_analyses(personas: Any, api_as: Any, b2b: None, path: str) -> None:
    response = api_as(personas.fay).get(path)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "forbidden"


def test_reps_may_not_see_the_top_performer_analysis(personas: Any, api_as: Any, b2b: None) -> None:
    assert api_as(personas.alice).get("/analytics/top-performers").status_code == 403


def test_a_period_that_ends_before_it_starts_is_refused(personas: Any, api_as: Any, b2b: None) -> None:
    response = api_as(personas.sam).get("/analytics/funnel?since=2026-11-01&until=2026-10-01")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "since"


def test_top_performers_are_queued_once_then_computed(
    personas: Any, api_as: Any, book: None, now: datetime, queued: list[int], committed: Any
) -> None:
    # given
    api = api_as(personas.sam, "en")
    # when asked twice before the consumer runs
    first = committed(api.get, "/analytics/top-performers?top_n=1").json()
    second = committed(api.get, "/analytics/top-performers?top_n=1").json()
    # then one computation is pending
    assert first["status"] == second["status"] == "pending"
    assert len(queued) == 1
    assert AnalysisResult.objects.count() == 1
    # when it runs
    assert analysis_compute(result_id=queued[0], now=now)
    body = committed(api.get, "/analytics/top-performers?top_n=1").json()
    # then
    assert body["status"] == "done"
    assert body["computed_at"] is not None
    assert (body["n_a"], body["n_b"], body["top_reps"]) == (12, 12, ["alice"])
    demo = next(f for f in body["findings"] if f["code"] == "book_demo" and f["kind"] == "key_action")
    assert (demo["a_count"], demo["a_n"], demo["b_count"], demo["b_n"]) == (12, 12, 0, 12)
    assert demo["significant"] is True
    assert "Correlation, not causation." in demo["sentence"]
    # Carol won only 4 deals: no speed difference is claimed
    assert body["speed"]["enough"] is False
    assert body["speed_sentence"].startswith("Not enough data")


def test_recompute_queues_again_but_not_while_pending(
    personas: Any, api_as: Any, book: None, now: datetime, queued: list[int], committed: Any
) -> None:
    # given a computed analysis
    api = api_as(personas.sam)
    committed(api.get, "/analytics/top-performers")
    analysis_compute(result_id=queued[0], now=now)
    # when the recompute button is pressed twice
    committed(api.post, "/analytics/top-performers/recompute")
    body = committed(api.post, "/analytics/top-performers/recompute").json()
    # then one more computation, and the previous result is shown meanwhile
    assert len(queued) == 2
    assert body["status"] == "pending"
    assert body["computed_at"] is not None


def test_the_analysis_of_a_supervisor_never_counts_another_region(
    personas: Any, api_as: Any, book: None, now: datetime, queued: list[int], committed: Any
) -> None:
    # given Bob (West) has the most won value of the company
    committed(api_as(personas.sam).get, "/analytics/top-performers?top_n=1")
    committed(api_as(personas.diana).get, "/analytics/top-performers?top_n=1")
    for pk in queued:
        analysis_compute(result_id=pk, now=now)
    # when
    east = committed(api_as(personas.sam).get, "/analytics/top-performers?top_n=1").json()
    company = committed(api_as(personas.diana).get, "/analytics/top-performers?top_n=1").json()
    # then
    assert east["top_reps"] == ["alice"]
    assert east["n_a"] + east["n_b"] == 24
    assert company["top_reps"] == ["bob"]
    assert company["n_a"] + company["n_b"] == 27


def test_tiny_data_says_not_enough(
    personas: Any, api_as: Any, b2b: None, now: datetime, queued: list[int], committed: Any
) -> None:
    # given two deals
    make_deals([won(personas.alice, OCT, days=20, amount="1", lead_actions=[("book_demo", "visit")])] * 2)
    api = api_as(personas.sam, "en")
    committed(api.get, "/analytics/top-performers?group=won_lost")
    analysis_compute(result_id=queued[0], now=now)
    # when
    body = committed(api.get, "/analytics/top-performers?group=won_lost").json()
    cycle = committed(api.get, "/analytics/cycle-time").json()
    # then
    assert body["findings"]
    assert {f["kind"] for f in body["findings"]} == {"insufficient"}
    assert all("not enough data" in f["sentence"] for f in body["findings"])
    assert cycle["groups"][0]["enough"] is False


def test_fmcg_customers_are_implicit_deals(personas: Any, api_as: Any, now: datetime) -> None:
    # given the FMCG template (no deals): a store won after visits, one still open
    from salestrace.actions.tests.factories import make_customer
    from salestrace.customers.models import Customer, StageHistory

    created = now - timedelta(days=30)
    shop = make_customer(owner=personas.alice, created_at=created, status=Customer.Status.WON, stage="won")
    make_customer(owner=personas.alice, created_at=created)
    make_customer(owner=personas.bob, created_at=created)
    StageHistory.objects.create(customer=shop, to_stage="lead", changed_at=created)
    StageHistory.objects.create(customer=shop, to_stage="won", changed_at=now - timedelta(days=10))
    # when
    facts = sorted(deal_facts(user=personas.sam, since=date(2026, 8, 28), until=date(2026, 11, 26)), key=str)
    body = api_as(personas.sam).get("/analytics/cycle-time").json()
    funnel = api_as(personas.sam).get("/analytics/funnel").json()
    # then
    assert [(f.outcome, f.closed_on, f.amount) for f in facts if f.deal_id == shop.pk] == [
        ("won", date(2026, 11, 16), Decimal(0))
    ]
    assert len(facts) == 2
    assert (funnel["scope"]["won"], funnel["scope"]["open"]) == (1, 1)
    assert funnel["scope"]["stages"][0]["reached"] == 1
    assert body["groups"][0]["n_won"] == 1
    assert body["groups"][0]["median_days"] == 20.0


def test_the_api_is_documented(client: Any) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/analytics/funnel", "/api/v1/analytics/cycle-time", "/api/v1/analytics/top-performers"):
        assert "200" in schema["paths"][path]["get"]["responses"]
        assert "403" in schema["paths"][path]["get"]["responses"]


@pytest.mark.parametrize(("path", "budget"), [("/analytics/funnel", 17), ("/analytics/cycle-time", 13)])
def test_deal_endpoints_have_a_query_budget(
    personas: Any, api_as: Any, book: None, now: datetime, path: str, budget: int, django_assert_max_num_queries: Any
) -> None:
    # given a warm catalog and token
    api = api_as(personas.sam)
    api.get(path)
    # when / then: auth, catalog, nothing kept, team walk, the tallies (the top reps too), labels, pipeline; none per deal
    with django_assert_max_num_queries(budget):
        assert api.get(path).status_code == 200


def test_the_cached_analysis_has_a_query_budget(
    personas: Any,
    api_as: Any,
    book: None,
    now: datetime,
    queued: list[int],
    committed: Any,
    django_assert_max_num_queries: Any,
) -> None:
    # given
    api = api_as(personas.sam)
    committed(api.get, "/analytics/top-performers")
    analysis_compute(result_id=queued[0], now=now)
    # when / then: reading the cache does not recompute anything
    with django_assert_max_num_queries(8):
        assert api.get("/analytics/top-performers").status_code == 200


def test_analyses_nobody_asked_for_in_a_month_are_purged(personas: Any, now: datetime) -> None:
    # given one analysis asked for 31 days ago and one today
    for days, key in ((31, "old"), (0, "new")):
        AnalysisResult.objects.create(
            kind="top_performers", params_key=key, params={}, requested_at=now - timedelta(days=days)
        )
    # when
    deleted = analysis_purge(now=now)
    # then
    assert deleted == 1
    assert list(AnalysisResult.objects.values_list("params_key", flat=True)) == ["new"]


def test_a_failed_analysis_is_kept_and_may_be_asked_for_again(
    personas: Any, api_as: Any, book: None, now: datetime, queued: list[int], committed: Any, monkeypatch: Any
) -> None:
    # given a computation that breaks
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("salestrace.analytics.services.top_performers_compute", broken)
    api = api_as(personas.sam)
    committed(api.get, "/analytics/top-performers")
    # when
    analysis_compute(result_id=queued[0], now=now)
    # then
    assert api.get("/analytics/top-performers").json()["status"] == "failed"
    assert AnalysisResult.objects.get().error == "boom"
    assert committed(api.post, "/analytics/top-performers/recompute").json()["status"] == "pending"
    assert len(queued) == 2


def test_the_request_queues_the_huey_task_that_computes_it(
    personas: Any, api_as: Any, book: None, now: datetime, committed: Any
) -> None:
    # given huey in immediate mode (this test only): the task runs where it is enqueued
    from huey.contrib.djhuey import HUEY

    api = api_as(personas.sam)
    HUEY.immediate = True
    try:
        # when the request commits
        committed(api.get, "/analytics/top-performers?top_n=1")
    finally:
        HUEY.immediate = False
    # then salestrace.analytics.tasks.analysis_compute_task has computed it
    result = AnalysisResult.objects.get()
    assert result.status == AnalysisResult.Status.DONE
    assert result.payload is not None
    assert result.payload["top_rep_ids"] == [personas.alice.pk]


def test_the_answer_does_not_read_the_deal_lists(
    personas: Any, api_as: Any, book: None, now: datetime, queued: list[int], committed: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salestrace.analytics.services import analysis_compute

    # given a computed analysis
    api = api_as(personas.sam)
    committed(api.get, "/analytics/top-performers?top_n=1")
    analysis_compute(result_id=queued[0], now=now)
    result = AnalysisResult.objects.get()
    # then its groups' deals are kept apart from the payload, the counts in it
    assert result.deal_ids is not None
    assert result.payload is not None
    assert (result.payload["n_a"], result.payload["n_b"]) == (len(result.deal_ids["a"]), len(result.deal_ids["b"]))
    assert result.payload["n_a"] == 12
    assert "a_deal_ids" not in result.payload
    # and an answer reads no deal list (a company's year is hundreds of thousands of ids)
    with CaptureQueriesContext(connection) as context:
        body = api.get("/analytics/top-performers?top_n=1").json()
    assert body["n_a"] == 12
    assert not [q for q in context.captured_queries if "deal_ids" in q["sql"]]


def test_a_company_sized_scope_is_kept_refreshed_by_the_worker_and_a_team_is_computed_every_time(
    personas: Any, api_as: Any, book: None, now: datetime, settings: Any, queued: list[int], committed: Any
) -> None:
    import time_machine

    from salestrace.analytics.models import AnalysisResult
    from salestrace.analytics.services import analysis_compute
    from salestrace.customers.models import Deal

    # given a company larger than what is computed on every request
    settings.SALESTRACE_ANALYSIS_INLINE_DEALS = 5
    settings.SALESTRACE_ANALYSIS_MAX_AGE_MINUTES = 10
    diana = api_as(personas.diana)
    with time_machine.travel(now, tick=False):
        # when the director first asks, the request is answered at once and the worker computes it
        pending = committed(diana.get, "/analytics/funnel").json()
        assert (pending["status"], pending["scope"], pending["computed_at"]) == ("pending", None, None)
        again = committed(diana.get, "/analytics/funnel").json()
        assert again["status"] == "pending"
        assert len(queued) == 1  # queued once, however often she asks meanwhile
        assert analysis_compute(result_id=queued.pop(), now=now)
        first = diana.get("/analytics/funnel").json()
        assert first["status"] == "done"
        # when every won deal turns out lost, then within the kept time the director sees the same figures
        Deal.objects.filter(outcome="won").update(outcome="lost")
    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        kept = committed(diana.get, "/analytics/funnel").json()
    assert kept["computed_at"] == first["computed_at"]
    assert kept["scope"]["won"] == first["scope"]["won"] > 0
    assert AnalysisResult.objects.filter(kind="funnel").count() == 1
    assert queued == []
    # and once it is older than that, the kept figures answer at once while the worker computes them again
    with time_machine.travel(now + timedelta(minutes=11), tick=False):
        stale = committed(diana.get, "/analytics/funnel").json()
        again = committed(diana.get, "/analytics/funnel").json()
    assert stale["computed_at"] == again["computed_at"] == first["computed_at"]
    row = AnalysisResult.objects.get(kind="funnel")
    assert queued == [row.pk]  # queued once, not once per request
    assert analysis_compute(result_id=row.pk, now=now + timedelta(minutes=12))
    with time_machine.travel(now + timedelta(minutes=13), tick=False):
        later = diana.get("/analytics/funnel").json()
    assert later["computed_at"] != first["computed_at"]
    assert later["scope"]["won"] == 0
    # and a scope within the limit is computed on every request
    settings.SALESTRACE_ANALYSIS_INLINE_DEALS = 10_000
    with time_machine.travel(now + timedelta(minutes=14), tick=False):
        fresh = diana.get("/analytics/cycle-time").json()
    assert datetime.fromisoformat(fresh["computed_at"].replace("Z", "+00:00")) == now + timedelta(minutes=14)
    assert not AnalysisResult.objects.filter(kind="cycle_time").exists()


def test_the_night_computes_the_directors_first_look(
    personas: Any, api_as: Any, book: None, now: datetime, settings: Any, django_assert_max_num_queries: Any
) -> None:
    import time_machine

    from salestrace.analytics.services import analysis_warm

    # given a company larger than what is computed on every request
    settings.SALESTRACE_ANALYSIS_INLINE_DEALS = 5
    night = now.astimezone(SHANGHAI).replace(hour=5, minute=10)
    # when the night's job runs
    assert analysis_warm(now=night) == 2
    # then the director's first requests of the morning are answered from it: no tally runs
    diana = api_as(personas.diana)
    with time_machine.travel(night + timedelta(hours=3), tick=False):
        diana.get("/analytics/funnel")  # (a warm catalog and token)
        with django_assert_max_num_queries(8):
            funnel = diana.get("/analytics/funnel").json()
        cycle = diana.get("/analytics/cycle-time").json()
    computed = datetime.fromisoformat(funnel["computed_at"].replace("Z", "+00:00"))
    assert computed == night
    assert cycle["computed_at"] == funnel["computed_at"]
    assert funnel["scope"]["won"] == 19
    # and a company small enough to be computed on every request is left alone
    settings.SALESTRACE_ANALYSIS_INLINE_DEALS = 10_000
    assert analysis_warm(now=night) == 0


@pytest.mark.parametrize("bad", ["until=0", "since=20261101", "since=1900-01-01", "team_id=0", "until=2026-13-01"])
def test_bad_periods_and_teams_are_refused_not_guessed(personas: Any, api_as: Any, b2b: None, bad: str) -> None:
    # given a supervisor asking with a malformed query
    api = api_as(personas.sam)
    # then each endpoint refuses it with 400 and names the parameter, instead of reading 0 as 1970-01-01
    for path in ("/analytics/funnel", "/analytics/cycle-time", "/analytics/top-performers"):
        response = api.get(f"{path}?{bad}")
        assert response.status_code == 400, (path, bad, response.content[:200])
