"""Route plans and check-ins through the services: who may plan what, distances, flags, idempotency."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from salestrace.actions.evidence_services import evidence_sweep_unattached
from salestrace.actions.models import Evidence
from salestrace.actions.tests.evidence_files import photo_bytes, upload
from salestrace.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from salestrace.field import compute
from salestrace.field.models import CheckIn, RouteStop
from salestrace.field.services import check_in, check_out, route_plan_copy_week, route_plan_set
from salestrace.field.tests.helpers import make_store, north_of

pytestmark = pytest.mark.django_db

THURSDAY = date(2026, 11, 26)


@pytest.fixture
def stores(personas):
    return [make_store(personas.alice, f"联华超市({n}号店)", latitude=f"31.2{n:02d}000") for n in range(1, 5)]


def codes(exc) -> list[str]:
    return [e.code for e in exc.value.errors]


def test_a_supervisor_plans_a_reps_day_in_order_and_replanning_replaces_it(personas, stores, now):
    # when sam plans alice's Thursday, then changes it
    route_plan_set(
        by=personas.sam, rep_id=personas.alice.pk, day=THURSDAY, customer_ids=[s.pk for s in stores[:3]], now=now
    )
    route_plan_set(
        by=personas.sam, rep_id=personas.alice.pk, day=THURSDAY, customer_ids=[stores[2].pk, stores[0].pk], now=now
    )
    # then the route is the second list, in its order
    stops = RouteStop.objects.filter(rep=personas.alice, day=THURSDAY).order_by("position")
    assert [(s.position, s.customer_id) for s in stops] == [(1, stores[2].pk), (2, stores[0].pk)]
    assert all(s.planned_by == personas.sam for s in stops)


def test_a_rep_does_not_plan_and_a_supervisor_plans_only_their_own_teams_reps(personas, stores, now):
    with pytest.raises(PermissionDenied):
        route_plan_set(by=personas.alice, rep_id=personas.alice.pk, day=THURSDAY, customer_ids=[], now=now)
    with pytest.raises(NotFound):
        route_plan_set(by=personas.sam, rep_id=personas.bob.pk, day=THURSDAY, customer_ids=[], now=now)
    # a director plans anyone's
    route_plan_set(by=personas.diana, rep_id=personas.bob.pk, day=THURSDAY, customer_ids=[], now=now)


def test_a_route_refuses_a_store_the_rep_may_not_visit_a_repeat_and_a_past_day(personas, stores, now):
    bobs = make_store(personas.bob, "华润万家(滨江店)")
    with pytest.raises(RuleViolation) as refused:
        route_plan_set(
            by=personas.sam,
            rep_id=personas.alice.pk,
            day=THURSDAY,
            customer_ids=[stores[0].pk, stores[0].pk, bobs.pk],
            now=now,
        )
    assert codes(refused) == ["repeated", "not_allowed"]
    assert "联华超市(1号店)" in str(refused.value.errors[0].message)
    with pytest.raises(RuleViolation) as past:
        route_plan_set(
            by=personas.sam, rep_id=personas.alice.pk, day=THURSDAY - timedelta(days=1), customer_ids=[], now=now
        )
    assert codes(past) == ["past"]
    assert not RouteStop.objects.exists()


def test_copying_last_week_fills_unplanned_days_only_and_drops_stores_no_longer_the_reps(personas, stores, now):
    # given alice's routes of the week of 23 Nov were planned, Friday's already for next week too
    monday = date(2026, 11, 23)
    RouteStop.objects.bulk_create(
        RouteStop(
            rep=personas.alice,
            day=monday + timedelta(days=d),
            customer=s,
            position=n,
            planned_by=personas.sam,
            created_at=now,
        )
        for d in (3, 4)
        for n, s in enumerate(stores[:2], start=1)
    )
    route_plan_set(
        by=personas.sam, rep_id=personas.alice.pk, day=date(2026, 12, 4), customer_ids=[stores[3].pk], now=now
    )
    stores[1].owner = personas.bob
    stores[1].save()
    # when sam copies the week into the next
    written = route_plan_copy_week(by=personas.sam, from_monday=monday, to_monday=date(2026, 11, 30), now=now)
    # then Thursday 3 Dec got store 1 (store 2 is bob's now); Friday 4 Dec kept its own plan
    assert written == 1
    assert list(RouteStop.objects.filter(day=date(2026, 12, 3)).values_list("customer_id", "source")) == [
        (stores[0].pk, RouteStop.Source.COPIED)
    ]
    assert list(RouteStop.objects.filter(day=date(2026, 12, 4)).values_list("customer_id", flat=True)) == [stores[3].pk]
    with pytest.raises(RuleViolation):
        route_plan_copy_week(by=personas.sam, from_monday=monday, to_monday=date(2026, 12, 1), now=now)


def test_a_check_in_measures_the_distance_and_flags_out_of_range(personas, stores, now):
    store = stores[0]
    lat, lng = north_of(store, 80)
    near, _ = check_in(rep=personas.alice, customer_id=store.pk, now=now, latitude=lat, longitude=lng)
    assert near.distance_m == 80
    assert near.flags == []
    far_lat, far_lng = north_of(store, 450)
    far, _ = check_in(
        rep=personas.alice, customer_id=store.pk, now=now, latitude=far_lat, longitude=far_lng, accuracy_m=30
    )
    assert far.distance_m == 450
    assert far.flags == [compute.OUT_OF_RANGE]


def test_the_template_sets_the_radius(personas, stores, now):
    from salestrace.catalog.models import Threshold

    Threshold.objects.filter(code="field_checkin_radius_meters").update(value=Decimal(500))
    lat, lng = north_of(stores[0], 450)
    made, _ = check_in(rep=personas.alice, customer_id=stores[0].pk, now=now, latitude=lat, longitude=lng)
    assert made.flags == []


def test_the_same_coordinates_at_another_store_are_flagged(personas, stores, now):
    lat, lng = north_of(stores[0], 10)
    check_in(rep=personas.alice, customer_id=stores[0].pk, now=now, latitude=lat, longitude=lng)
    again, _ = check_in(rep=personas.alice, customer_id=stores[0].pk, now=now, latitude=lat, longitude=lng)
    assert compute.SAME_SPOT_ELSEWHERE not in again.flags  # the same store twice is not suspicious
    second, _ = check_in(rep=personas.alice, customer_id=stores[1].pk, now=now, latitude=lat, longitude=lng)
    assert compute.SAME_SPOT_ELSEWHERE in second.flags


def test_no_location_is_saved_and_flagged_never_refused(personas, stores, now):
    made, created = check_in(rep=personas.alice, customer_id=stores[0].pk, now=now)
    assert created
    assert made.flags == [compute.NO_LOCATION]
    assert made.distance_m is None


def test_a_retry_with_the_same_key_is_the_same_check_in_and_another_store_with_it_is_refused(personas, stores, now):
    first, created = check_in(rep=personas.alice, customer_id=stores[0].pk, now=now, key="k-1")
    again, created_again = check_in(
        rep=personas.alice, customer_id=stores[0].pk, now=now + timedelta(minutes=3), key="k-1"
    )
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert CheckIn.objects.count() == 1
    with pytest.raises(Conflict):
        check_in(rep=personas.alice, customer_id=stores[1].pk, now=now, key="k-1")
    # the key is the rep's own: bob's "k-1" is another check-in
    bobs = make_store(personas.bob, "华润万家(滨江店)")
    assert check_in(rep=personas.bob, customer_id=bobs.pk, now=now, key="k-1")[1]


def test_an_offline_check_in_keeps_its_time_and_is_flagged_as_synced_late(personas, stores, now):
    made, _ = check_in(rep=personas.alice, customer_id=stores[0].pk, now=now, occurred_at=now - timedelta(hours=3))
    assert made.occurred_at == now - timedelta(hours=3)
    assert made.received_at == now
    assert compute.LATE_SYNC in made.flags
    with pytest.raises(RuleViolation) as future:
        check_in(rep=personas.alice, customer_id=stores[0].pk, now=now, occurred_at=now + timedelta(hours=1))
    assert codes(future) == ["future"]


def test_a_rep_checks_in_only_at_stores_they_may_log_and_an_assistant_not_at_all(personas, stores, now):
    with pytest.raises(NotFound):
        check_in(rep=personas.bob, customer_id=stores[0].pk, now=now)
    with pytest.raises(PermissionDenied):
        check_in(rep=personas.fay, customer_id=stores[0].pk, now=now)


def test_a_check_in_photo_is_kept_past_the_unattached_sweep(personas, stores, now):
    photo = upload("visit.jpg", photo_bytes(taken_at=now.replace(tzinfo=None)))
    made, _ = check_in(rep=personas.alice, customer_id=stores[0].pk, now=now, photo=photo)
    assert made.photo is not None
    assert made.photo.kept
    assert made.photo.kind == Evidence.Kind.PHOTO
    evidence_sweep_unattached(now=now + timedelta(days=3))
    assert Evidence.objects.filter(pk=made.photo.pk).exists()


def test_check_out_is_once_and_only_for_the_rep_who_checked_in(personas, stores, now):
    made, _ = check_in(rep=personas.alice, customer_id=stores[0].pk, now=now)
    lat, lng = north_of(stores[0], 40)
    out = check_out(
        rep=personas.alice, check_in_id=made.pk, now=now + timedelta(minutes=20), latitude=lat, longitude=lng
    )
    assert out.checked_out_at == now + timedelta(minutes=20)
    assert out.out_distance_m == 40
    again = check_out(rep=personas.alice, check_in_id=made.pk, now=now + timedelta(minutes=40))
    assert again.checked_out_at == now + timedelta(minutes=20)
    with pytest.raises(NotFound):
        check_out(rep=personas.sam, check_in_id=made.pk, now=now)
