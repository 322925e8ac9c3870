"""Action-health definitions (pure): hand-computed cases and properties. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from salestrace.analytics.health import (
    INCOMPLETE,
    LATE,
    LOW_CONTACT_QUALITY,
    ActionRecord,
    CellCount,
    HealthCounts,
    HealthRules,
    LintRule,
    Share,
    StageMove,
    Weights,
    audit_sample,
    blocking_sentence,
    completeness,
    contact_quality,
    counts_of,
    delay_hours,
    effectiveness,
    expected_actions,
    health_score,
    is_complete,
    lint_plan,
    missing_fields,
    moved_later,
    rep_health,
    score_explanation,
    stage_obstacle_table,
    stage_ranks,
    timeliness,
)

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
STAGES = ("lead", "needs_confirmed", "solution_compare", "price_negotiation", "contract_signing", "won")
WAITING = LintRule("wait", "complex_decision_chain", "mentions", ("等待客户回复", "wait for reply"))
NO_CONCESSION = LintRule("budget", "budget_shortage", "lacks", ("账期", "折扣"))
RULES = HealthRules(
    effective={"needs_confirmed": frozenset({"submit_custom_proposal"}), "lead": frozenset({"book_demo"})},
    stage_order=STAGES,
    lint=(WAITING, NO_CONCESSION),
    moved_within_days=14,
)


def action(*, late_minutes: int = 0, customer: int = 1, **fields: object) -> ActionRecord:
    base: dict[str, object] = {
        "rep_id": 1,
        "customer_id": customer,
        "occurred_at": T0,
        "logged_at": T0 + timedelta(minutes=late_minutes),
        "stage": "needs_confirmed",
        "key_action": "submit_custom_proposal",
        "obstacle": "technical_doubt",
        "next_step_plan": "安排技术交流",
    }
    base.update(fields)
    return ActionRecord(**base)  # type: ignore[arg-type]


# --- completeness ------------------------------------------------------------------------------


def test_an_action_is_complete_when_stage_obstacle_and_next_step_are_filled() -> None:
    assert is_complete(action(), RULES.key_fields)
    assert missing_fields(action(obstacle="", next_step_plan="  "), RULES.key_fields) == ["obstacle", "next_step_plan"]


def test_completeness_of_a_hand_counted_log() -> None:
    # given 4 actions, one without an obstacle
    log = [action(), action(), action(obstacle=""), action()]
    # then
    share = completeness(log, RULES.key_fields)
    assert (share.numerator, share.denominator, share.value) == (3, 4, 0.75)
    assert share.below(0.95)


def test_each_action_is_judged_by_the_key_fields_in_force_when_it_was_logged() -> None:
    # given the obstacle stopped being a key field on day 3, and the deliverable became one on day 6
    day3, day6 = T0 + timedelta(days=3), T0 + timedelta(days=6)
    rules = HealthRules(
        key_fields=("stage", "next_step_plan", "next_step_deliverable"),
        earlier_key_fields=((day3, ("stage", "obstacle", "next_step_plan")), (day6, ("stage", "next_step_plan"))),
    )
    no_obstacle: dict[str, Any] = {"obstacle": "", "next_step_deliverable": ""}
    log = [
        action(**no_obstacle),  # day 0: the obstacle was required: incomplete
        action(logged_at=day3, **no_obstacle),  # day 3: no longer: complete
        action(logged_at=day6 - timedelta(seconds=1), **no_obstacle),  # still complete
        action(logged_at=day6, **no_obstacle),  # day 6: the deliverable is missing: incomplete
        action(logged_at=day6, obstacle="", next_step_deliverable="方案书"),  # complete
    ]
    # then
    assert [rules.key_fields_at(a.logged_at) for a in log[:2]] == [
        ("stage", "obstacle", "next_step_plan"),
        ("stage", "next_step_plan"),
    ]
    assert counts_of(log, rules).complete == 3


def test_completeness_of_nothing_is_not_judged() -> None:
    share = completeness([], RULES.key_fields)
    assert share.value is None
    assert not share.below(0.95)


texts = st.sampled_from(["", " ", "x", "技术疑虑"])
actions = st.builds(
    action, obstacle=texts, next_step_plan=texts, stage=st.sampled_from(["", "lead", "needs_confirmed"])
)


@given(st.lists(actions, max_size=30))
def test_completeness_is_a_share_between_0_and_1(log: list[ActionRecord]) -> None:
    value = completeness(log, RULES.key_fields).value
    assert value is None or 0 <= value <= 1


@given(st.lists(actions, max_size=20), st.integers(min_value=1, max_value=20))
def test_adding_complete_actions_never_lowers_completeness(log: list[ActionRecord], extra: int) -> None:
    before = completeness(log, RULES.key_fields).value
    after = completeness(log + [action()] * extra, RULES.key_fields).value
    assert after is not None
    assert before is None or after >= before
    if before == 1:  # a complete log stays exactly complete
        assert after == 1


# --- timeliness --------------------------------------------------------------------------------


def test_timeliness_counts_the_2_hour_limit_as_in_time_and_buckets_the_rest() -> None:
    # given delays of 0 min, 30 min, exactly 2 h, 2 h 1 min, 5 h, 3 days
    delays = [delay_hours(T0, T0 + timedelta(minutes=m)) for m in (0, 30, 120, 121, 300, 4320)]
    # when
    result = timeliness(delays, late_hours=2)
    # then 3 of 6 in time; the buckets add up and the late ones are flagged
    assert (result.share.numerator, result.share.denominator) == (3, 6)
    buckets = [(b.low_hours, b.high_hours, b.count, b.late) for b in result.buckets]
    assert buckets == [
        (0, 1, 2, False),
        (1, 2, 1, False),
        (2, 4, 1, True),
        (4, 8, 1, True),
        (8, 24, 0, True),
        (24, 72, 1, True),
        (72, None, 0, True),
    ]


def test_an_entry_logged_before_the_moment_it_names_is_not_negative() -> None:
    assert delay_hours(T0, T0 - timedelta(minutes=5)) == 0


def test_a_late_line_between_the_edges_becomes_an_edge() -> None:
    result = timeliness([0.5, 1.4, 1.6], late_hours=1.5)
    assert result.share.numerator == 2
    assert [b.high_hours for b in result.buckets][:3] == [1, 1.5, 2]


@given(st.lists(st.floats(min_value=0, max_value=1000), max_size=40), st.sampled_from([1.0, 2.0, 3.5]))
def test_delay_buckets_add_up_to_the_entries(delays: list[float], late: float) -> None:
    result = timeliness(delays, late_hours=late)
    assert sum(b.count for b in result.buckets) == len(delays)
    assert sum(b.count for b in result.buckets if not b.late) == result.share.numerator


# --- effectiveness -----------------------------------------------------------------------------


def test_an_action_is_effective_when_its_key_action_is_listed_for_its_stage() -> None:
    # given 需求确认 → 提交定制方案 effective; the same action at 线索 is not
    log = [
        action(),
        action(stage="lead"),
        action(key_action="send_brochure"),
        action(stage="lead", key_action="book_demo"),
    ]
    # then
    share = effectiveness(log, RULES.effective)
    assert (share.numerator, share.denominator) == (2, 4)


def test_moved_counts_a_later_stage_within_the_window_only() -> None:
    ranks = stage_ranks((*STAGES, "lost"))
    a = action()
    # a move to 方案对比 13 days later, to the same customer
    assert moved_later(a, [StageMove(1, "solution_compare", T0 + timedelta(days=13))], within_days=14, ranks=ranks)
    # too late, another customer, backwards, to lost, or before the action
    for move in (
        StageMove(1, "solution_compare", T0 + timedelta(days=15)),
        StageMove(2, "solution_compare", T0 + timedelta(days=1)),
        StageMove(1, "lead", T0 + timedelta(days=1)),
        StageMove(1, "lost", T0 + timedelta(days=1)),
        StageMove(1, "won", T0 - timedelta(days=1)),
    ):
        assert not moved_later(a, [move], within_days=14, ranks=ranks)
    assert moved_later(a, [StageMove(1, "won", T0 + timedelta(days=2))], within_days=14, ranks=ranks)


# --- contact quality and plan lint --------------------------------------------------------------


def test_contact_quality_counts_only_recorded_responses() -> None:
    share = contact_quality(
        ["active_question", "confirm_details", "request_delay", "", "explicit_refusal"], RULES.high_value_responses
    )
    assert (share.numerator, share.denominator) == (2, 4)


def test_plan_lint_flags_waiting_on_a_complex_decision_chain_and_a_budget_plan_without_concession() -> None:
    assert lint_plan("complex_decision_chain", "等待客户回复", RULES.lint) == [WAITING]
    assert lint_plan("complex_decision_chain", "Wait for reply from IT", RULES.lint) == [WAITING]
    assert lint_plan("complex_decision_chain", "约见采购总监", RULES.lint) == []
    assert lint_plan("budget_shortage", "再沟通", RULES.lint) == [NO_CONCESSION]
    assert lint_plan("budget_shortage", "按新账期重新报价", RULES.lint) == []
    assert lint_plan("budget_shortage", "", RULES.lint) == []  # blank: completeness's concern
    assert lint_plan("technical_doubt", "等待客户回复", RULES.lint) == []


# --- expected actions and the score --------------------------------------------------------------


def test_expected_actions_come_from_open_customers_by_stage_and_weeks() -> None:
    # given 10 leads at 0.5 a week and 2 price negotiations at 1 a week, over 4 weeks
    result = expected_actions({"lead": 10, "price_negotiation": 2}, {"": 0.5, "price_negotiation": 1}, days=28)
    # then 10 × 0.5 × 4 + 2 × 1 × 4
    assert result.total == 28
    assert [(p.stage, p.expected) for p in result.parts] == [("lead", 20.0), ("price_negotiation", 8.0)]


def test_the_score_is_the_seed_formula_with_its_inputs_kept() -> None:
    # given 34 effective of 40 expected, completeness 96%, timeliness 72%, weights 0.5/0.5
    score = health_score(
        effective=34, expected=40, completeness=Share(48, 50), timeliness=Share(36, 50), weights=Weights(0.5, 0.5)
    )
    # then 0.85 × 0.84 = 0.714
    assert score.ratio == pytest.approx(0.85)
    assert score.coefficient == pytest.approx(0.84)
    assert score.score == 71
    with translation.override("zh-hans"):
        text = score_explanation(score)
    assert "34" in text
    assert "40" in text
    assert "71" in text


def test_more_effective_actions_than_expected_do_not_pass_100() -> None:
    score = health_score(effective=50, expected=10, completeness=Share(5, 5), timeliness=Share(5, 5), weights=Weights())
    assert score.score == 100


def test_no_actions_and_nothing_expected_has_no_score() -> None:
    score = health_score(effective=0, expected=0, completeness=Share(0, 0), timeliness=Share(0, 0), weights=Weights())
    assert score.score is None
    assert score_explanation(score)


@given(
    st.integers(0, 200),
    st.integers(0, 200),
    st.integers(1, 100),
    st.integers(0, 100),
    st.floats(0, 5),
    st.floats(0, 5),
)
def test_the_score_stays_between_0_and_100(
    effective: int, expected: int, n: int, good: int, wc: float, wt: float
) -> None:
    good = min(good, n)
    score = health_score(
        effective=effective,
        expected=expected,
        completeness=Share(good, n),
        timeliness=Share(n - good, n),
        weights=Weights(wc, wt),
    )
    assert score.score is not None
    assert 0 <= score.score <= 100


def test_rep_health_flags_the_dimensions_under_their_lines() -> None:
    # given half the entries late, every other thing fine but one response of two high value
    log = [
        action(late_minutes=m, response_strength=r)
        for m, r in ((10, "active_question"), (300, "request_delay"), (20, ""), (600, ""))
    ]
    counts = counts_of(log, RULES)
    # when
    health = rep_health(counts, RULES, expected=4)
    # then
    assert (counts.actions, counts.complete, counts.timely, counts.effective) == (4, 4, 2, 4)
    assert health.flags == (LATE, LOW_CONTACT_QUALITY)
    assert health.score.score == 75  # 4/4 × (0.5 × 100% + 0.5 × 50%)
    assert sum(b.count for b in health.delays) == 4
    health = rep_health(counts_of([action(obstacle="")], RULES), RULES, expected=1)
    assert INCOMPLETE in health.flags


def test_no_actions_against_expected_ones_score_0_and_say_so() -> None:
    health = rep_health(HealthCounts(), RULES, expected=3)
    assert health.score.score == 0
    assert health.flags == ()  # no share to judge: nothing is flagged
    with translation.override("zh-hans"):
        assert score_explanation(health.score) == "应完成 3 个动作，一个也没有录入：得分为 0。"
    assert rep_health(HealthCounts(), RULES, expected=0).score.score is None


def test_the_audit_sample_is_reproducible_by_its_seed() -> None:
    reps = range(1, 41)
    first = audit_sample(reps, n=10, seed=20261126)
    assert first == audit_sample(reversed(reps), n=10, seed=20261126)
    assert len(first) == 10
    assert first != audit_sample(reps, n=10, seed=1)
    assert audit_sample([3, 1], n=10, seed=5) == [1, 3]


# --- the stage × obstacle table ------------------------------------------------------------------


def planted_counts() -> list[CellCount]:
    """100 actions at each of 4 stages; at 方案对比 37 are 决策链复杂, elsewhere 10."""
    stages = ("lead", "needs_confirmed", "solution_compare", "price_negotiation")
    obstacles = ("technical_doubt", "budget_shortage", "complex_decision_chain", "competitor_interference")
    cells = []
    for s in stages:
        chain = 37 if s == "solution_compare" else 10
        rest = (100 - chain) // 3
        spread = {"complex_decision_chain": chain, "technical_doubt": rest, "budget_shortage": rest}
        spread["competitor_interference"] = 100 - chain - 2 * rest
        cells += [CellCount(s, o, spread[o], spread[o]) for o in obstacles]
    return cells


def test_the_planted_cell_is_marked_and_nothing_else() -> None:
    # when
    heat = stage_obstacle_table(
        planted_counts(),
        stages=STAGES[:5],
        obstacles=("technical_doubt", "budget_shortage", "complex_decision_chain", "competitor_interference"),
        stage_customers={"lead": 100, "needs_confirmed": 100, "solution_compare": 100, "price_negotiation": 100},
    )
    # then
    assert heat.enough
    assert heat.n == 400
    marked = [(c.stage, c.obstacle) for c in heat.cells if c.marked]
    assert marked == [("solution_compare", "complex_decision_chain")]
    cell = heat.cell("solution_compare", "complex_decision_chain")
    assert cell is not None
    assert cell.share_of_stage == pytest.approx(0.37)
    assert cell.residual is not None
    assert cell.residual > heat.critical
    # a stage nobody is at is shown but not tested
    empty = heat.cell("contract_signing", "budget_shortage")
    assert empty is not None
    assert (empty.actions, empty.residual, empty.marked) == (0, None, False)


def test_hand_computed_adjusted_residuals() -> None:
    # given a 2 × 2 table: [[10, 20], [30, 5]] (obstacles down, stages across)
    counts = [
        CellCount("lead", "a", 10),
        CellCount("needs_confirmed", "a", 20),
        CellCount("lead", "b", 30),
        CellCount("needs_confirmed", "b", 5),
    ]
    heat = stage_obstacle_table(counts, stages=("lead", "needs_confirmed"), obstacles=("a", "b"))
    # then (o − e) / sqrt(e (1 − row share)(1 − column share)): e = 40 × 30 / 65
    e = 40 * 30 / 65
    expected = (10 - e) / (e * (1 - 30 / 65) * (1 - 40 / 65)) ** 0.5
    cell = heat.cell("lead", "a")
    assert cell is not None
    assert cell.expected == pytest.approx(e)
    assert cell.residual == pytest.approx(expected)


def test_below_the_sample_threshold_there_is_not_enough_data() -> None:
    heat = stage_obstacle_table(
        [CellCount("lead", "a", 3), CellCount("needs_confirmed", "b", 4)],
        stages=("lead", "needs_confirmed"),
        obstacles=("a", "b"),
        min_sample=10,
    )
    assert not heat.enough
    assert all(c.residual is None and not c.marked for c in heat.cells)


def test_the_seed_sentence_names_stage_share_obstacle_and_waiting_plans() -> None:
    # given
    heat = stage_obstacle_table(
        [
            *planted_counts()[:10],
            CellCount("solution_compare", "complex_decision_chain", 37, 37, 21),
            *planted_counts()[11:],
        ],
        stages=STAGES[:4],
        obstacles=("technical_doubt", "budget_shortage", "complex_decision_chain", "competitor_interference"),
        stage_customers={"solution_compare": 100},
    )
    cell = heat.cell("solution_compare", "complex_decision_chain")
    assert cell is not None
    labels = {"solution_compare": "方案对比", "complex_decision_chain": "决策链复杂"}
    # when
    with translation.override("zh-hans"):
        text = blocking_sentence(cell, labels=labels, rules=[WAITING])
    # then
    assert text == "方案对比阶段 37% 的客户障碍为决策链复杂，其中 21 条下一步为“等待客户回复”。"
