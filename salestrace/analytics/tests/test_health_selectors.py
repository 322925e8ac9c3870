"""Action-health selectors: the SQL agrees with the pure definitions, scope, query budgets, and a
generated team whose late rep, sloppy rep and 37% 决策链复杂 cell must be named."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from salestrace.actions.models import ActionLog
from salestrace.analytics.health import ActionRecord, counts_of
from salestrace.analytics.health_selectors import (
    contact_quality_board,
    health_board,
    health_rules,
    health_trend,
    heatmap_board,
    late_entries,
)
from salestrace.analytics.selectors import Period
from salestrace.analytics.tests.factories import at, generated_team, logged, make_customers, random_log

pytestmark = pytest.mark.django_db

NOV = Period(date(2026, 11, 1), date(2026, 11, 26))


def record(a: ActionLog) -> ActionRecord:
    return ActionRecord(
        rep_id=a.rep_id,
        customer_id=a.deal_id if a.deal_id else a.customer_id,
        occurred_at=a.occurred_at,
        logged_at=a.logged_at,
        stage=a.stage,
        key_action=a.key_action,
        obstacle=a.obstacle,
        next_step_plan=a.next_step_plan,
        next_step_date=a.next_step_date,
        response_strength=a.response_strength,
    )


@pytest.mark.parametrize("pack", ["fmcg", "b2b_industrial"])
def test_the_sql_counts_agree_with_the_pure_definitions(personas: Any, now: datetime, pack: str) -> None:
    # given a random log (a stage move per deal where the template uses deals, per customer where not)
    from salestrace.catalog.services import template_load

    template_load(code=pack, now=now)
    actions, moves = random_log([personas.alice, personas.bob], seed=12, deals=pack == "b2b_industrial")
    rules = health_rules()
    # when
    board = health_board(user=personas.diana, period=NOV)
    # then every rep's counts are what the pure definitions count
    assert len(board.rows) == 2
    for row in board.rows:
        mine = [record(a) for a in actions if a.rep_id == row.key]
        assert row.health.counts == counts_of(mine, rules, moves), row.name
    assert board.total.counts.actions == 150
    assert 0 < (board.total.counts.moved or 0) < 150
    assert board.total.counts.mismatched > 0


def test_only_the_period_counts_in_local_days(personas: Any, now: datetime) -> None:
    # given actions at 23:30 on Oct 31 and 00:30 on Nov 1, Shanghai time
    shop = make_customers(personas.alice, 1)[0]
    ActionLog.objects.bulk_create(
        [
            logged(shop, rep=personas.alice, occurred=at(date(2026, 10, 31), 23) + timedelta(minutes=30)),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 1), 0) + timedelta(minutes=30)),
        ]
    )
    # then only the second is in November
    assert health_board(user=personas.alice, period=NOV).rows[0].health.counts.actions == 1


def test_a_rep_reads_only_their_own_health(personas: Any, now: datetime) -> None:
    # given actions by Alice and Bob
    random_log([personas.alice, personas.bob], seed=3, deals=False)
    # when / then
    assert [r.key for r in health_board(user=personas.alice, period=NOV).rows] == [personas.alice.pk]
    assert [r.key for r in health_board(user=personas.bob, period=NOV).rows] == [personas.bob.pk]
    # Sam supervises East: Alice, not Bob; Diana sees both; a team filter narrows her to West-1
    assert [r.key for r in health_board(user=personas.sam, period=NOV).rows] == [personas.alice.pk]
    assert {r.key for r in health_board(user=personas.diana, period=NOV).rows} == {personas.alice.pk, personas.bob.pk}
    west = health_board(user=personas.diana, period=NOV, team_id=personas.west1.pk)
    assert [r.key for r in west.rows] == [personas.bob.pk]
    # an assistant reads nobody's
    assert health_board(user=personas.fay, period=NOV).rows == []


def test_a_rep_with_no_actions_still_sees_their_row_scored_0(personas: Any, now: datetime) -> None:
    make_customers(personas.alice, 4)
    board = health_board(user=personas.alice, period=Period(date(2026, 11, 20), date(2026, 11, 26)))
    assert len(board.rows) == 1
    row = board.rows[0]
    assert row.health.counts.actions == 0
    # 4 open stores × 1 action a week (FMCG) × 1 week: 4 expected, none done: 0
    assert row.health.score.expected == 4
    assert row.health.score.score == 0
    assert row.expected_from == (("lead", 4, 1.0, 4.0),)


def test_the_board_is_a_fixed_number_of_queries(
    personas: Any, now: datetime, django_assert_max_num_queries: Any
) -> None:
    # given 150 actions
    random_log([personas.alice, personas.bob], seed=5, deals=False)
    health_rules()  # the catalog snapshot is built once per catalog change
    # when / then: the catalog version, policies, effective actions, lint rules; the grouped count,
    # open work, the weeks
    with django_assert_max_num_queries(7):
        board = health_board(user=personas.diana, period=NOV)
    assert board.total.counts.actions == 150
    with django_assert_max_num_queries(9):  # + the team walk, the team's people
        health_board(user=personas.sam, period=NOV, group="team")
    with django_assert_max_num_queries(8):  # rules, two grouped counts, labels
        heatmap_board(user=personas.diana, period=NOV)
    with django_assert_max_num_queries(8):
        contact_quality_board(user=personas.diana, period=NOV)


def test_late_entries_are_listed_latest_first_for_whoever_may_read_them(personas: Any, now: datetime) -> None:
    # given
    shop = make_customers(personas.alice, 1)[0]
    ActionLog.objects.bulk_create(
        [
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 3)), late=timedelta(hours=2)),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 4)), late=timedelta(hours=5)),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 5)), late=timedelta(hours=26)),
        ]
    )
    # when
    late = late_entries(user=personas.alice, period=NOV, rep_id=personas.alice.pk)
    # then the 2 h one is in time
    assert [(e.occurred_at.date(), e.delay_hours) for e in late] == [
        (date(2026, 11, 5), 26.0),
        (date(2026, 11, 4), 5.0),
    ]
    assert late_entries(user=personas.bob, period=NOV, rep_id=personas.alice.pk) == []


# --- the generated team ------------------------------------------------------------------------------


def test_the_generated_team_names_the_late_rep_and_the_sloppy_rep(personas: Any, now: datetime) -> None:
    # given
    reps = generated_team(personas)
    # when
    board = health_board(user=personas.sam, period=NOV)
    # then
    by_name = {r.name: r.health for r in board.rows}
    assert set(by_name) == {"alice", "carol", "lily", "sid"}
    assert [name for name, h in by_name.items() if "late" in h.flags] == ["lily"]
    assert [name for name, h in by_name.items() if "incomplete" in h.flags] == ["sid"]
    assert by_name["lily"].timeliness.value == 0.5
    assert by_name["sid"].completeness.value == pytest.approx(0.6)
    assert all(h.effectiveness.value == 1 for h in by_name.values())
    assert not any("low_contact_quality" in h.flags for h in by_name.values())
    late = late_entries(user=personas.sam, period=NOV, rep_id=reps["lily"].pk)
    assert len(late) == 50


def test_the_generated_team_heatmap_marks_the_37_percent_cell(personas: Any, now: datetime) -> None:
    # given
    generated_team(personas)
    # when
    board = heatmap_board(user=personas.sam, period=NOV)
    # then exactly one cell is marked: 方案对比 × 决策链复杂, at 37% of that stage's customers
    heat = board.heatmap
    assert heat.enough
    assert [(c.stage, c.obstacle) for c in heat.cells if c.marked] == [("solution_compare", "complex_decision_chain")]
    cell = heat.cell("solution_compare", "complex_decision_chain")
    assert cell is not None
    assert (cell.actions, cell.customers, cell.share_of_stage, cell.mismatched) == (37, 37, 0.37, 21)
    assert cell.residual is not None
    assert cell.residual > heat.critical
    assert [s for _stage, _obstacle, s in board.findings] == [
        "方案对比阶段 37% 的客户障碍为决策链复杂，其中 21 条下一步为“等待客户回复”。"
    ]


def test_a_supervisor_sees_the_rep_who_logged_nothing(personas: Any, now: datetime) -> None:
    # given Alice holds 3 open stores and logged nothing
    make_customers(personas.alice, 3)
    # when
    board = health_board(user=personas.sam, period=NOV)
    # then her row is there, scored 0 against what was expected of her
    assert [(r.name, r.health.counts.actions, r.health.score.score) for r in board.rows] == [("alice", 0, 0)]
    assert board.rows[0].health.score.expected == 12  # 3 stores × 1 a week × 26 days / 7, rounded up


def test_a_cells_share_is_of_every_customer_at_the_stage(personas: Any, now: datetime) -> None:
    # given 10 stores at 方案对比: 4 blocked by 决策链复杂, 5 by 竞品干扰, 1 with no obstacle recorded
    shops = make_customers(personas.alice, 10)
    obstacles = ["complex_decision_chain"] * 4 + ["competitor_interference"] * 5 + [""]
    ActionLog.objects.bulk_create(
        logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 10)), stage="solution_compare", obstacle=o)
        for shop, o in zip(shops, obstacles, strict=True)
    )
    # when
    heat = heatmap_board(user=personas.diana, period=NOV).heatmap
    # then 4 of the 10 customers at the stage, though only 9 actions carry an obstacle
    cell = heat.cell("solution_compare", "complex_decision_chain")
    assert cell is not None
    assert (cell.actions, cell.share_of_stage, heat.n) == (4, 0.4, 9)


def test_each_reps_trend_is_week_by_week_in_local_weeks(
    personas: Any, now: datetime, django_assert_max_num_queries: Any
) -> None:
    # given Alice: Monday 16 Nov 00:30 local (Sunday in UTC) in time, Wednesday 25 Nov late; Bob one action
    shop, other = make_customers(personas.alice, 1)[0], make_customers(personas.bob, 1)[0]
    ActionLog.objects.bulk_create(
        [
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 16), 0) + timedelta(minutes=30)),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 25)), late=timedelta(hours=3)),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 9, 1))),  # before the 8 weeks
            logged(other, rep=personas.bob, occurred=at(date(2026, 11, 24))),
        ]
    )
    health_rules()
    # when
    with django_assert_max_num_queries(7):
        trend = health_trend(user=personas.diana, today=date(2026, 11, 26))
    # then
    alice = [(w.week_start, w.health.counts.actions, w.health.timeliness.value) for w in trend[personas.alice.pk]]
    assert alice == [(date(2026, 11, 16), 1, 1.0), (date(2026, 11, 23), 1, 0.0)]
    assert trend[personas.alice.pk][0].health.score.expected == 1  # one open store, one action a week
    assert [w.week_start for w in trend[personas.bob.pk]] == [date(2026, 11, 23)]
    # a rep's trend is their own
    assert set(health_trend(user=personas.bob, today=date(2026, 11, 26))) == {personas.bob.pk}


def test_the_native_local_week_agrees_with_truncweek(personas: Any, now: datetime) -> None:
    from django.db.models.functions import TruncWeek

    from salestrace.analytics.health_selectors import _week_start, local_week

    # given actions at local week edges (Sunday 23:59:59, Monday 00:00:00 Shanghai) and across years
    shop = make_customers(personas.alice, 1)[0]
    local_midnight = at(date(2026, 11, 16), 0)  # Monday 00:00 Asia/Shanghai
    moments = [
        local_midnight,
        local_midnight - timedelta(seconds=1),
        local_midnight + timedelta(microseconds=1),
        at(date(2025, 12, 31), 23) + timedelta(minutes=59),
        at(date(2026, 1, 5), 0),
        at(date(2000, 1, 2), 12),
    ]
    ActionLog.objects.bulk_create([logged(shop, rep=personas.alice, occurred=m) for m in moments])
    period = Period(date(1999, 12, 1), date(2026, 11, 26))
    # when each is bucketed natively and by Django's TruncWeek
    rows = ActionLog.objects.annotate(native=local_week("occurred_at", period), django=TruncWeek("occurred_at"))
    # then they name the same Monday
    pairs = [(_week_start(r.native), _week_start(r.django)) for r in rows]
    assert len(pairs) == len(moments)
    assert all(a == b for a, b in pairs), pairs
    assert {a for a, _ in pairs} >= {date(2026, 11, 16), date(2026, 11, 9), date(2025, 12, 29), date(1999, 12, 27)}


def test_completeness_follows_the_key_fields_in_force_when_each_action_was_logged(personas: Any, now: datetime) -> None:
    from salestrace.catalog.models import KeyFieldsChange, Policy
    from salestrace.catalog.selectors import forget_cached_catalog

    # given the template dropped the obstacle from the key fields on 10 November
    shop = make_customers(personas.alice, 1)[0]
    ActionLog.objects.bulk_create(
        [
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 5)), obstacle=""),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 9), 23) + timedelta(minutes=59), obstacle=""),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 10), 0), obstacle=""),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 20)), obstacle=""),
        ]
    )
    assert list(KeyFieldsChange.objects.values_list("fields", flat=True)) == [["stage", "obstacle", "next_step_plan"]]
    KeyFieldsChange.objects.update(valid_from=at(date(2026, 1, 1)))
    KeyFieldsChange.objects.create(valid_from=at(date(2026, 11, 10), 0), fields=["stage", "next_step_plan"])
    Policy.objects.filter(code="health_key_fields").update(value=["stage", "next_step_plan"])
    forget_cached_catalog()
    # when
    rules = health_rules()
    board = health_board(user=personas.diana, period=NOV)
    # then the two actions logged before the change are judged by the old fields, the two after by the new
    assert rules.key_fields == ("stage", "next_step_plan")
    assert board.total.counts.complete == 2
    records = [record(a) for a in ActionLog.objects.all()]
    assert counts_of(records, rules).complete == 2
