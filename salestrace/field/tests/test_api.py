"""/api/v1/field: routes, check-ins (multipart, idempotent), compliance and store locations per role."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from salestrace.actions.tests.evidence_files import photo_bytes, upload
from salestrace.field.models import CheckIn
from salestrace.field.tests.helpers import make_store, north_of
from salestrace.todos.tests.helpers import log

pytestmark = pytest.mark.django_db

THURSDAY = date(2026, 11, 26)


@pytest.fixture
def stores(personas):
    return [make_store(personas.alice, f"联华超市({n}号店)", latitude=f"31.2{n:02d}000") for n in range(1, 4)]


def put(api: Any, path: str, body: Any) -> Any:
    import json

    return api.client.put(f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **api.headers)


def multipart(api: Any, path: str, data: dict[str, Any], **headers: str) -> Any:
    return api.client.post(f"/api/v1{path}", data=data, **api.headers, **headers)


def test_a_supervisor_plans_and_the_rep_reads_the_route_in_order(personas, api_as, stores, now):
    sam, alice = api_as(personas.sam), api_as(personas.alice)
    planned = put(sam, f"/field/routes/{personas.alice.pk}/2026-11-26", {"customer_ids": [stores[1].pk, stores[0].pk]})
    assert planned.status_code == 200, planned.content
    route = alice.get("/field/routes").json()
    assert route["day"] == "2026-11-26"
    assert [(s["position"], s["customer_name"]) for s in route["stops"]] == [
        (1, "联华超市(2号店)"),
        (2, "联华超市(1号店)"),
    ]
    # alice may not plan, and may not read bob's route
    assert put(alice, f"/field/routes/{personas.alice.pk}/2026-11-26", {"customer_ids": []}).status_code == 403
    assert alice.get(f"/field/routes?rep_id={personas.bob.pk}").status_code == 404


def test_a_route_with_someone_elses_store_is_refused_with_the_field_named(personas, api_as, stores, now):
    bobs = make_store(personas.bob, "华润万家(滨江店)")
    response = put(api_as(personas.sam), f"/field/routes/{personas.alice.pk}/2026-11-27", {"customer_ids": [bobs.pk]})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "customer_ids"
    assert error["code"] == "not_allowed"


def test_a_multipart_check_in_with_a_photo_is_created_once_per_key(personas, api_as, stores, now):
    alice = api_as(personas.alice)
    lat, lng = north_of(stores[0], 120)
    data = {"customer_id": stores[0].pk, "latitude": str(lat), "longitude": str(lng), "accuracy_m": "15"}
    first = multipart(
        alice,
        "/field/check-ins",
        {**data, "photo": upload("v.jpg", photo_bytes(taken_at=now.replace(tzinfo=None)))},
        HTTP_IDEMPOTENCY_KEY="visit-1",
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["distance_m"] == 120
    assert body["flags"] == []
    assert body["photo_id"]
    again = multipart(alice, "/field/check-ins", data, HTTP_IDEMPOTENCY_KEY="visit-1")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert CheckIn.objects.count() == 1
    out = alice.post(f"/field/check-ins/{body['id']}/check-out", {})
    assert out.status_code == 200
    assert out.json()["checked_out_at"]


def test_bad_coordinates_are_refused_in_plain_words(personas, api_as, stores, now):
    response = multipart(
        api_as(personas.alice), "/field/check-ins", {"customer_id": stores[0].pk, "latitude": "91", "longitude": "121"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["errors"][0]["field"] == "latitude"
    half = multipart(api_as(personas.alice), "/field/check-ins", {"customer_id": stores[0].pk, "latitude": "31.2"})
    assert half.status_code == 422
    assert half.json()["errors"][0]["code"] == "required"


def test_compliance_counts_planned_visited_and_logged_per_rep_in_scope(personas, api_as, stores, now):
    # given alice's Thursday: three stores planned, two checked in at, one of them logged as a visit
    put(api_as(personas.sam), f"/field/routes/{personas.alice.pk}/2026-11-26", {"customer_ids": [s.pk for s in stores]})
    alice = api_as(personas.alice)
    for store in stores[:2]:
        lat, lng = north_of(store, 30)
        assert (
            multipart(
                alice, "/field/check-ins", {"customer_id": store.pk, "latitude": str(lat), "longitude": str(lng)}
            ).status_code
            == 201
        )
    visit = log(personas.alice, stores[0], now - timedelta(minutes=1))
    visit.contact_method = "visit"
    visit.save()
    # when sam reads the day
    report = api_as(personas.sam).get("/field/compliance?first=2026-11-26").json()
    # then alice's figures and the stores behind them; bob (another region) is not in sam's report
    (row,) = report["reps"]
    assert row["rep_name"] == "alice"
    figures = row["figures"]
    assert (figures["planned"], figures["planned_visited"], figures["planned_logged"]) == (3, 2, 1)
    assert figures["missing_record_rate"] == pytest.approx(2 / 3)
    assert [s["customer_name"] for s in row["not_visited"]] == ["联华超市(3号店)"]
    assert [s["customer_name"] for s in row["not_logged"]] == ["联华超市(2号店)"]
    # a director sees both reps; alice sees only herself
    assert {r["rep_name"] for r in api_as(personas.diana).get("/field/compliance").json()["reps"]} == {"alice", "bob"}
    assert [r["rep_name"] for r in alice.get("/field/compliance").json()["reps"]] == ["alice"]
    assert api_as(personas.sam).get("/field/compliance?first=2026-01-01&last=2026-11-26").status_code == 422


def test_only_a_supervisor_sets_where_a_store_is(personas, api_as, stores, now):
    body = {"latitude": "31.250000", "longitude": "121.420000"}
    assert put(api_as(personas.alice), f"/field/stores/{stores[0].pk}/location", body).status_code == 403
    done = put(api_as(personas.sam), f"/field/stores/{stores[0].pk}/location", body)
    assert done.status_code == 200
    assert done.json()["latitude"] == "31.250000"
    assert (
        put(
            api_as(personas.sam), f"/field/stores/{stores[0].pk}/location", {"latitude": "31.2", "longitude": None}
        ).status_code
        == 422
    )


def test_promotions_through_the_api_a_supervisor_creates_a_rep_redeems_once_the_reality_follows(
    personas, api_as, stores, now
):
    sam, alice = api_as(personas.sam), api_as(personas.alice)
    body = {
        "name": "双十二",
        "rule_text": "满299减50",
        "starts_on": "2026-11-20",
        "ends_on": "2026-12-12",
        "store_ids": [s.pk for s in stores],
    }
    assert alice.post("/field/promotions", body).status_code == 403
    created = sam.post("/field/promotions", body)
    assert created.status_code == 201, created.content
    promo = created.json()
    assert (promo["threshold"], promo["discount"]) == ("299.00", "50.00")
    redeem = {"store_id": stores[0].pk, "amount": "320.00"}
    first = alice.post(f"/field/promotions/{promo['id']}/redemptions", redeem, HTTP_IDEMPOTENCY_KEY="r-1")
    assert first.status_code == 201, first.content
    again = alice.post(f"/field/promotions/{promo['id']}/redemptions", redeem, HTTP_IDEMPOTENCY_KEY="r-1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    low = alice.post(f"/field/promotions/{promo['id']}/redemptions", {"store_id": stores[0].pk, "amount": "100"})
    assert low.status_code == 422
    assert low.json()["errors"][0]["code"] == "below_threshold"
    report = multipart(
        alice, f"/field/promotions/{promo['id']}/reports", {"store_id": stores[1].pk, "note": "堆头已布置"}
    )
    assert report.status_code == 201, report.content
    reality = sam.get(f"/field/promotions/{promo['id']}/reality").json()
    assert reality["totals"]["stores"] == 3
    assert reality["totals"]["reported"] == 1
    assert reality["totals"]["redeemed"] == 1
    assert reality["visit_first"][0]["name"] == stores[1].name  # reported, never redeemed
    assert alice.get(f"/field/promotions/{promo['id']}/reality").status_code == 403
    assert [p["name"] for p in alice.get("/field/promotions").json()] == ["双十二"]
    assert api_as(personas.bob).get("/field/promotions").json() == []
