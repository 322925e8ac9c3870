"""Distances, flags and compliance as pure functions, with coordinates whose answers are known."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from salestrace.field import compute
from salestrace.field.compute import Point, RepDay, compliance, distance_m, judge_check_in

# 联华超市(曹杨店), roughly; one thousandth of a degree of latitude is 111.19 m on the mean sphere.
STORE = Point(31.240000, 121.410000)


def test_one_degree_of_latitude_is_111_195_metres_and_a_degree_of_longitude_shrinks_with_the_cosine():
    assert math.isclose(distance_m(Point(31, 121), Point(32, 121)), 111_194.9, abs_tol=1)
    assert math.isclose(distance_m(Point(0, 0), Point(0, 1)), 111_194.9, abs_tol=1)
    at_shanghai = distance_m(Point(31.24, 121.0), Point(31.24, 122.0))
    assert math.isclose(at_shanghai, 111_194.9 * math.cos(math.radians(31.24)), rel_tol=1e-3)


def test_shanghai_to_beijing_is_about_1068_km():
    # People's Square to Tiananmen: 1,067–1,068 km by any great-circle calculator.
    assert 1_066_000 < distance_m(Point(31.2304, 121.4737), Point(39.9042, 116.4074)) < 1_069_000


def test_a_check_in_320_m_away_is_out_of_a_300_m_radius_but_not_with_a_60_m_fix():
    at = Point(STORE.latitude + 320 / 111_194.9, STORE.longitude)
    assert judge_check_in(at=at, store=STORE, radius_m=300).flags == (compute.OUT_OF_RANGE,)
    judged = judge_check_in(at=at, store=STORE, radius_m=300, accuracy_m=60)
    assert judged.distance_m == 320
    assert judged.flags == ()


def test_a_fix_less_precise_than_the_radius_is_flagged_as_imprecise_not_out_of_range():
    at = Point(STORE.latitude + 2_000 / 111_194.9, STORE.longitude)
    assert judge_check_in(at=at, store=STORE, radius_m=300, accuracy_m=1_500).flags == (compute.LOW_ACCURACY,)


def test_no_location_no_store_location_same_spot_and_a_late_sync_are_each_flagged():
    assert judge_check_in(at=None, store=STORE, radius_m=300).flags == (compute.NO_LOCATION,)
    no_store = judge_check_in(at=STORE, store=None, radius_m=300)
    assert no_store.flags == (compute.NO_STORE_LOCATION,)
    assert no_store.distance_m is None
    assert judge_check_in(at=STORE, store=STORE, radius_m=300, same_spot_elsewhere=True).flags == (
        compute.SAME_SPOT_ELSEWHERE,
    )
    assert judge_check_in(at=STORE, store=STORE, radius_m=300, sync_delay_s=2 * 3600).flags == (compute.LATE_SYNC,)
    assert judge_check_in(at=STORE, store=STORE, radius_m=300, sync_delay_s=600).flags == ()


def test_the_seeds_day_twelve_stores_planned_and_the_missing_record_rate():
    # given a rep with 12 planned stores: 11 checked in at, 9 of those logged, plus an unplanned visit, logged
    planned = tuple(range(1, 13))
    day = RepDay(7, planned, frozenset([*range(1, 12), 99]), frozenset([*range(1, 10), 99]))
    # then
    assert day.not_visited == (12,)
    assert day.visited_not_logged == (10, 11)
    assert day.planned_without_record == (10, 11, 12)
    assert day.unplanned_visits == (99,)
    figures = compliance([day])
    assert (figures.planned, figures.planned_visited, figures.planned_logged) == (12, 11, 9)
    assert figures.missing_record_rate == 3 / 12
    assert figures.visits == 12
    assert figures.visits_logged == 10
    assert figures.unplanned_visits == 1


def test_nothing_planned_gives_no_rate_rather_than_zero():
    figures = compliance([RepDay(1, (), frozenset({5}), frozenset())])
    assert figures.visit_rate is None
    assert figures.missing_record_rate is None
    assert figures.unlogged_visit_rate == 1.0


stores = st.frozensets(st.integers(1, 30), max_size=12)
rep_days = st.builds(
    lambda rep, plan, visited, logged: RepDay(rep, tuple(sorted(plan)), visited, logged),
    st.integers(1, 50),
    stores,
    stores,
    stores,
)


@given(st.lists(rep_days, max_size=20), st.lists(rep_days, max_size=20))
def test_a_team_is_the_sum_of_its_reps_and_rates_stay_between_0_and_1(a, b):
    whole, left, right = compliance(a + b), compliance(a), compliance(b)
    assert compute.combined([left, right]) == whole
    for name in ("rep_days", "planned", "planned_visited", "planned_logged", "visits", "visits_logged"):
        assert getattr(whole, name) == getattr(left, name) + getattr(right, name)
    for rate in (whole.visit_rate, whole.missing_record_rate, whole.unlogged_visit_rate):
        assert rate is None or 0 <= rate <= 1


def test_a_plan_refuses_repeats_and_stores_the_rep_may_not_visit():
    check = compute.check_plan([1, 2, 2, 9], allowed={1, 2})
    assert [(p.code, p.customer_id) for p in check.problems] == [("repeated", 2), ("not_allowed", 9)]
    assert not compute.check_plan([1, 2], allowed={1, 2})
    assert (
        compute.check_plan(list(range(compute.MAX_STOPS + 1)), allowed=set(range(100))).problems[0].code == "too_many"
    )


def test_the_planner_edits_a_route_one_step_at_a_time():
    route = [1, 2, 3]
    assert compute.route_edited(route, op="add", store=4) == [1, 2, 3, 4]
    assert compute.route_edited(route, op="add", store=2) == [1, 2, 3]  # already on it
    assert compute.route_edited(route, op="remove", store=2) == [1, 3]
    assert compute.route_edited(route, op="up", store=3) == [1, 3, 2]
    assert compute.route_edited(route, op="down", store=1) == [2, 1, 3]
    assert compute.route_edited(route, op="up", store=1) == [1, 2, 3]  # first stays first
    assert compute.route_edited(route, op="down", store=3) == [1, 2, 3]
    assert compute.route_edited(route, op="remove", store=9) == [1, 2, 3]
    assert compute.route_edited(route, op="drop_table", store=1) == [1, 2, 3]
    assert route == [1, 2, 3]  # the given route is left as it was
