"""The pure statistics of deals: hand-computed cases, properties, and the planted-pattern bar."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salestrace.analytics.metrics import (
    INSUFFICIENT,
    KEY_ACTION,
    KTH_CONTACT,
    ActionFacts,
    DealFacts,
    Finding,
    StageEntry,
    compare_groups,
    cycle_time,
    finding_sentence,
    funnel,
    speed_difference,
)

STAGES = ("lead", "needs_confirmed", "solution_compare", "price_negotiation", "contract_signing")
D0 = date(2026, 1, 1)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def at(n: float) -> datetime:
    return datetime.combine(D0, time(9), tzinfo=UTC) + timedelta(days=n)


def deal(
    deal_id: int,
    outcome: str = "open",
    *,
    engaged: int = 0,
    closed: int | None = None,
    stages: tuple[tuple[str, int], ...] = (),
    amount: str = "100",
    rep_id: int = 1,
) -> DealFacts:
    return DealFacts(
        deal_id=deal_id,
        rep_id=rep_id,
        engaged_on=day(engaged),
        outcome=outcome,
        closed_on=None if closed is None else day(closed),
        amount=Decimal(amount),
        stages=tuple(StageEntry(s, day(d)) for s, d in stages),
    )


def action(
    deal_id: int,
    when: float,
    key_action: str,
    *,
    stage: str = "solution_compare",
    method: str = "visit",
    response: str = "",
    next_step: date | None = None,
) -> ActionFacts:
    return ActionFacts(
        deal_id=deal_id,
        occurred_at=at(when),
        stage=stage,
        key_action=key_action,
        contact_method=method,
        response_strength=response,
        next_step_date=next_step,
    )


# --- funnel -------------------------------------------------------------------------------------


def test_funnel_by_hand() -> None:
    # given five deals: won through the stages (skipping price), lost at needs, lost at lead,
    # open sitting in solution_compare, and won with no stage history
    deals = [
        deal(
            1,
            "won",
            closed=29,
            amount="1000",
            stages=(("lead", 0), ("needs_confirmed", 4), ("solution_compare", 14), ("contract_signing", 19)),
        ),
        deal(2, "lost", closed=20, stages=(("lead", 0), ("needs_confirmed", 10))),
        deal(3, "lost", closed=2, stages=(("lead", 0),)),
        deal(4, "open", stages=(("lead", 0), ("needs_confirmed", 3), ("solution_compare", 9))),
        deal(5, "won", closed=40, amount="250.50"),
    ]

    # when
    result = funnel(deals, STAGES, min_sample=2)

    # then reached: everything; 1,2,4,5; 1,4,5; 1,5 (contract implies price); 1,5
    rows = {r.stage: r for r in result.stages}
    assert [r.reached for r in result.stages] == [5, 4, 3, 2, 2]
    assert [r.reached_next for r in result.stages] == [4, 3, 2, 2, 2]
    assert [r.conversion_to_next for r in result.stages] == [0.8, 0.75, pytest.approx(2 / 3), 1.0, 1.0]
    assert [r.conversion_to_won for r in result.stages] == [0.4, 0.5, pytest.approx(2 / 3), 1.0, 1.0]
    # lead: 4, 10, 2 (to closing), 3 days -> 3.5; needs: 10, 10, 6 -> 10
    assert rows["lead"].median_days == 3.5
    assert rows["needs_confirmed"].median_days == 10
    # solution_compare: deal 1's 5 days; the open deal still there is not in the median
    assert (rows["solution_compare"].median_days, rows["solution_compare"].n_days) == (5, 1)
    assert rows["solution_compare"].open_here == 1
    assert rows["price_negotiation"].median_days is None
    assert rows["contract_signing"].median_days == 10
    assert (result.won, result.lost, result.open) == (2, 2, 1)
    assert result.win_rate == 0.5
    assert result.won_value == Decimal("1250.50")
    assert result.stall_stage == "solution_compare"


def test_funnel_stall_needs_the_minimal_sample_and_win_rate_needs_a_closed_deal() -> None:
    # given two open deals
    deals = [deal(1, stages=(("lead", 0),)), deal(2, stages=(("lead", 0), ("needs_confirmed", 1)))]

    # when
    result = funnel(deals, STAGES)

    # then
    assert result.stall_stage is None
    assert result.win_rate is None
    assert result.stages[0].open_here == 1
    assert result.stages[1].open_here == 1


@st.composite
def deal_facts(draw: st.DrawFn, deal_id: int = 0) -> DealFacts:
    engaged = draw(st.integers(0, 400))
    entered = sorted(draw(st.sets(st.integers(0, len(STAGES) - 1), max_size=len(STAGES))))
    when = engaged
    entries = []
    for index in entered:
        when += draw(st.integers(0, 30))
        entries.append(StageEntry(STAGES[index], day(when)))
    outcome = draw(st.sampled_from(["open", "won", "lost"]))
    closed = None if outcome == "open" else day(when + draw(st.integers(0, 60)))
    return DealFacts(
        deal_id=deal_id,
        rep_id=draw(st.integers(1, 3)),
        engaged_on=day(engaged),
        outcome=outcome,
        closed_on=closed,
        amount=Decimal(draw(st.integers(0, 10_000))),
        stages=tuple(entries),
    )


deal_lists = st.lists(deal_facts(), max_size=40).map(
    lambda ds: [
        DealFacts(i, d.rep_id, d.engaged_on, d.outcome, d.closed_on, d.amount, d.stages) for i, d in enumerate(ds)
    ]
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(deals=deal_lists)
def test_funnel_conversions_are_shares_and_reach_only_shrinks(deals: list[DealFacts]) -> None:
    # when
    result = funnel(deals, STAGES, min_sample=1)

    # then
    reached = [r.reached for r in result.stages]
    assert reached == sorted(reached, reverse=True)
    for row in result.stages:
        assert row.reached_next <= row.reached
        for share in (row.conversion_to_next, row.conversion_to_won):
            assert share is None or 0 <= share <= 1
        assert row.median_days is None or row.median_days >= 0
    assert result.won + result.lost + result.open == len(deals)


# --- cycle time ---------------------------------------------------------------------------------


def test_cycle_time_kaplan_meier_by_hand() -> None:
    # given won at 10 and 20 days, lost at 15, open for 30 days (today)
    deals = [
        deal(1, "won", closed=10),
        deal(2, "won", closed=20),
        deal(3, "lost", closed=15),
        deal(4, "open"),
    ]

    # when
    result = cycle_time(deals, today=day(30), min_sample=4)

    # then S(10) = 3/4; at 20 two are at risk, one wins: S(20) = 3/4 * 1/2 = 3/8
    assert [t for t, _ in result.curve] == [0, 10, 15, 20, 30]
    assert [share for _, share in result.curve] == pytest.approx([0, 0.25, 0.25, 0.625, 0.625])
    assert result.km_median_days == 20
    assert (result.n_deals, result.n_won, result.n_censored) == (4, 2, 2)
    assert (result.mean_days, result.median_days) == (15, 15)
    assert result.enough


def test_a_long_open_deal_lowers_the_curve() -> None:
    # given two quick wins, with and without a deal open for 100 days
    wins = [deal(1, "won", closed=10), deal(2, "won", closed=20)]

    # when
    alone = cycle_time(wins, today=day(100))
    with_open = cycle_time([*wins, deal(3, "open")], today=day(100))

    # then every won share is lower, and the curve never reaches 100%
    assert dict(alone.curve)[20.0] == 1.0
    assert dict(with_open.curve)[10.0] == pytest.approx(1 / 3)
    assert dict(with_open.curve)[20.0] == pytest.approx(2 / 3)
    assert alone.km_median_days == 10
    assert with_open.km_median_days == 20
    assert not with_open.enough


def test_cycle_time_with_no_win_has_no_median() -> None:
    # given only lost and open deals
    deals = [deal(1, "lost", closed=5), deal(2, "open")]

    # when
    result = cycle_time(deals, today=day(9))

    # then
    assert result.km_median_days is None
    assert result.mean_days is None
    assert all(share == 0 for _, share in result.curve)


def test_cycle_time_curve_is_capped() -> None:
    # given 500 deals won on 500 distinct days
    deals = [deal(i, "won", closed=i + 1) for i in range(500)]

    # when
    result = cycle_time(deals, today=day(600))

    # then
    assert len(result.curve) <= 200
    assert result.curve[-1] == (500.0, 1.0)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=60)
@given(deals=deal_lists)
def test_cycle_curve_rises_within_zero_and_one(deals: list[DealFacts]) -> None:
    # when
    result = cycle_time(deals, today=day(800))

    # then
    shares = [share for _, share in result.curve]
    times = [t for t, _ in result.curve]
    assert all(0 <= s <= 1 for s in shares)
    assert shares == sorted(shares)
    assert times == sorted(times)
    assert result.n_won + result.n_censored == result.n_deals == len(deals)


# --- speed difference ---------------------------------------------------------------------------


def test_top_reps_win_clearly_faster() -> None:
    # given top won in 10..19 days (mean 14.5), the rest in 30..39 (mean 34.5)
    top = [deal(i, "won", closed=10 + i) for i in range(10)]
    rest = [deal(100 + i, "won", closed=30 + i) for i in range(10)] + [deal(200, "lost", closed=3)]

    # when
    result = speed_difference(top, rest, seed=7)

    # then
    assert result.enough
    assert (result.n_top, result.n_rest) == (10, 10)
    assert result.difference_days == 20
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert 0 < result.ci_low < 20 < result.ci_high
    assert result == speed_difference(top, rest, seed=7)  # seeded: the same CI on every page view


def test_speed_difference_needs_the_minimal_sample() -> None:
    # given nine won deals on top (a tenth only lost)
    top = [deal(i, "won", closed=10 + i) for i in range(9)] + [deal(9, "lost", closed=5)]
    rest = [deal(100 + i, "won", closed=30 + i) for i in range(20)]

    # when
    result = speed_difference(top, rest, seed=1)

    # then
    assert not result.enough
    assert (result.n_top, result.n_rest) == (9, 20)
    assert result.difference_days is None
    assert result.ci_low is None


# --- compare groups -----------------------------------------------------------------------------

ACTIONS = (
    "share_customer_case",
    "book_demo",
    "send_quote",
    "send_proposal",
    "technical_qa",
    "site_survey",
    "reference_call",
    "invite_to_event",
)
PLANTED, NULL = "share_customer_case", "book_demo"
OTHERS = tuple(a for a in ACTIONS if a not in (PLANTED, NULL))


def planted_book(seed: int, n: int = 200) -> tuple[list[DealFacts], list[DealFacts], list[ActionFacts]]:
    """Half won, half lost, 2–6 actions at solution_compare each.

    Planted: the 2nd contact is share_customer_case with probability 0.65 in won deals, 0.15 in
    lost ones (otherwise another action). Null: book_demo replaces one of the other contacts with
    probability 0.4 in both groups.
    """
    rng = random.Random(seed)
    won: list[DealFacts] = []
    lost: list[DealFacts] = []
    actions: list[ActionFacts] = []
    for deal_id in range(n):
        is_won = deal_id % 2 == 0
        engaged = rng.randint(0, 90)
        count = rng.randint(2, 6)
        codes = [rng.choice(OTHERS) for _ in range(count)]
        if rng.random() < (0.65 if is_won else 0.15):
            codes[1] = PLANTED
        if rng.random() < 0.4:
            codes[rng.choice([i for i in range(count) if i != 1])] = NULL
        when = float(engaged)
        for code in codes:
            when += rng.uniform(0.5, 6)
            actions.append(
                action(
                    deal_id,
                    when,
                    code,
                    method=rng.choice(["visit", "phone", "wechat", "email"]),
                    response=rng.choice(
                        ["", "active_question", "confirm_details", "request_delay", "explicit_refusal"]
                    ),
                    next_step=day(int(when) + rng.randint(1, 14)) if rng.random() < 0.7 else None,
                )
            )
        closed = int(when) + rng.randint(1, 10)
        facts = deal(
            deal_id,
            "won" if is_won else "lost",
            engaged=engaged,
            closed=closed,
            stages=(("solution_compare", engaged),),
        )
        (won if is_won else lost).append(facts)
    return won, lost, actions


def test_the_planted_second_contact_is_found_and_the_null_action_is_not() -> None:
    # given 20 seeded books with the planted pattern
    planted_hits = null_hits = 0
    for seed in range(20):
        won, lost, actions = planted_book(seed)

        # when
        findings = compare_groups(won, lost, actions, stage_order=STAGES)

        # then
        by_feature = {(f.stage, f.kind, f.code, f.then_code, f.k): f for f in findings}
        planted = by_feature[("solution_compare", KTH_CONTACT, PLANTED, "", 2)]
        null = by_feature[("solution_compare", KEY_ACTION, NULL, "", None)]
        planted_hits += planted.significant
        null_hits += null.significant
        assert planted.odds_ratio is not None
        assert planted.odds_ratio > 1
        # the other stages have no actions: each says so once
        assert sorted(f.stage for f in findings if f.kind == INSUFFICIENT) == sorted(
            s for s in STAGES if s != "solution_compare"
        )
    assert planted_hits == 20
    assert null_hits <= 1


def test_actions_on_or_after_the_outcome_date_are_ignored() -> None:
    # given three won deals closed on day 10 and three open deals; every deal visits twice before,
    # and does "late_gift" on and after day 10
    won = [deal(i, "won", closed=10) for i in range(3)]
    still_open = [deal(10 + i) for i in range(3)]
    actions = []
    for facts in won + still_open:
        actions += [action(facts.deal_id, 1, "book_demo"), action(facts.deal_id, 2, "send_quote")]
        actions += [action(facts.deal_id, 10, "late_gift"), action(facts.deal_id, 12, "late_gift")]

    # when
    findings = compare_groups(won, still_open, actions, stage_order=["solution_compare"], min_sample=3)

    # then the won deals' late gifts (on day 10 and after) do not count; the open deals' do
    late = [f for f in findings if f.kind == KEY_ACTION and f.code == "late_gift"]
    assert len(late) == 1
    assert (late[0].a_count, late[0].a_n, late[0].b_count, late[0].b_n) == (0, 3, 3, 3)
    second = [f for f in findings if f.kind == KTH_CONTACT and f.k == 3]
    assert [(f.code, f.a_count, f.b_count) for f in second] == [("late_gift", 0, 3)]


def test_a_thin_stage_is_insufficient_not_a_statistic() -> None:
    # given twelve deals per group at solution_compare but only two per group at price_negotiation
    a = [deal(i, "won", closed=50) for i in range(12)]
    b = [deal(100 + i, "lost", closed=50) for i in range(12)]
    actions = [action(d.deal_id, 1, "book_demo") for d in a + b]
    actions += [action(d.deal_id, 2, "send_quote", stage="price_negotiation") for d in a[:2] + b[:2]]

    # when
    findings = compare_groups(a, b, actions, stage_order=["solution_compare", "price_negotiation"])

    # then
    thin = [f for f in findings if f.stage == "price_negotiation"]
    assert thin == [Finding(stage="price_negotiation", kind=INSUFFICIENT, a_n=2, b_n=2, min_sample=10)]
    assert thin[0].p_value is None
    assert thin[0].odds_ratio is None
    assert findings[-1] == thin[0]  # insufficient ones come last
    tested = [f for f in findings if f.stage == "solution_compare"]
    assert tested
    assert all(f.p_value is not None for f in tested)
    book = next(f for f in tested if f.kind == KEY_ACTION)
    # a zero cell: OR and CI from the table + 0.5 (12.5 * 0.5 / (0.5 * 12.5) = 1)
    assert (book.a_count, book.b_count, book.p_value) == (12, 12, 1.0)
    assert book.odds_ratio == pytest.approx(1.0)


@st.composite
def small_books(draw: st.DrawFn) -> tuple[list[DealFacts], list[DealFacts], list[ActionFacts]]:
    n = draw(st.integers(4, 24))
    outcomes = draw(st.lists(st.sampled_from(["won", "lost", "open"]), min_size=n, max_size=n))
    deals = [deal(i, outcome, closed=None if outcome == "open" else 40) for i, outcome in enumerate(outcomes)]
    actions = [
        action(
            draw(st.integers(0, n - 1)),
            draw(st.floats(0, 45)),
            draw(st.sampled_from(ACTIONS[:4])),
            stage=draw(st.sampled_from(STAGES[1:3])),
            method=draw(st.sampled_from(["visit", "phone"])),
            response=draw(st.sampled_from(["", "active_question"])),
            next_step=draw(st.one_of(st.none(), st.integers(0, 50).map(day))),
        )
        for _ in range(draw(st.integers(0, 60)))
    ]
    cut = draw(st.integers(0, n))
    return deals[:cut], deals[cut:], actions


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=40)
@given(book=small_books())
def test_q_values_are_at_least_the_p_values(book: tuple[list[DealFacts], list[DealFacts], list[ActionFacts]]) -> None:
    # given
    a, b, actions = book

    # when
    findings = compare_groups(a, b, actions, stage_order=STAGES, min_sample=2, min_support=1)

    # then
    qs = []
    for f in findings:
        if f.kind == INSUFFICIENT:
            assert f.p_value is None
            assert f.q_value is None
            continue
        assert f.p_value is not None
        assert f.q_value is not None
        assert 0 <= f.p_value <= f.q_value + 1e-12 <= 1 + 1e-12
        qs.append(f.q_value)
    assert qs == sorted(qs)


# --- sentences ----------------------------------------------------------------------------------


def test_a_finding_reads_as_a_sentence() -> None:
    # given the seed's example
    finding = Finding(
        stage="solution_compare",
        kind=KTH_CONTACT,
        code="share_customer_case",
        k=2,
        a_count=68,
        a_n=100,
        b_count=16,
        b_n=112,
        odds_ratio=12.94,
        ci_low=6.08,
        ci_high=27.41,
        p_value=1e-9,
        q_value=1e-8,
        significant=True,
    )
    labels = {"solution_compare": "solution comparison", "share_customer_case": "a customer case video"}

    # when
    with translation.override("en"):
        sentence = finding_sentence(finding, labels=labels, a_name="won deals", b_name="lost deals")

    # then
    assert sentence == (
        "At solution comparison, 68% of won deals did a customer case video at contact no. 2, "
        "against 14% of lost deals (OR 12.9, 95% CI 6.1–27.4, q < 0.001, n = 212). Correlation, not causation."
    )


def test_an_insufficient_finding_says_so() -> None:
    # given
    finding = Finding(stage="price_negotiation", kind=INSUFFICIENT, a_n=2, b_n=7, min_sample=10)

    # when
    with translation.override("en"):
        sentence = finding_sentence(finding, labels={}, a_name="won", b_name="lost")

    # then
    assert sentence == "At price_negotiation: not enough data (2 deals, at least 10 needed)."


def test_every_kind_reads_as_a_sentence() -> None:
    # given the findings of the planted book, every kind among them
    won, lost, actions = planted_book(3)
    findings = compare_groups(won, lost, actions, stage_order=STAGES)

    # when
    with translation.override("en"):
        sentences = {f.kind: finding_sentence(f, labels={}, a_name="won", b_name="lost") for f in findings}

    # then
    assert len(sentences) == 8
    for kind, sentence in sentences.items():
        assert sentence.startswith("At "), kind
        assert "%" not in sentence.replace("% of", "").replace("% CI", ""), kind


def test_odds_ratios_read_without_scientific_notation() -> None:
    # given the extremes a small sample gives
    from salestrace.analytics.metrics import _ratio

    # then a director never reads 2.2e-05
    assert [_ratio(v) for v in (2.2e-05, 0.064, 0.5, 12.94, 841.0, 45321.3, None)] == [
        "<0.001",
        "0.064",
        "0.5",
        "12.9",
        "841.0",
        "45321",
        "–",
    ]
