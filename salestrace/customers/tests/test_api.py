"""Customers through /api/v1/customers: creation, scope, ownership and stage history."""

from __future__ import annotations

from typing import Any

import pytest

from salestrace.actions.tests.factories import make_customer
from salestrace.customers.models import Customer, StageHistory

pytestmark = pytest.mark.django_db


def test_a_rep_creates_a_customer_that_is_hers(personas, api_as, now):
    response = api_as(personas.alice).post(
        "/customers", {"name": " 好德便利店(张江店) ", "kind": "store", "city": "上海"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner_id"] == personas.alice.pk
    assert body["name"] == "好德便利店(张江店)"
    assert body["stage"] == "lead"
    assert body["stage_history"][0]["to_stage"] == "lead"


def test_a_nul_character_in_a_body_is_bad_input_not_a_server_error(personas, api_as):
    # PostgreSQL cannot store NUL; the schemathesis fuzz found it as a 500 on POST /customers.
    response = api_as(personas.alice).post("/customers", {"name": "好德\u0000便利店", "kind": "store"})
    assert response.status_code == 400
    assert not Customer.objects.exists()
    # and in a query string (the fuzz found GET /pool?q=%00 too)
    response = api_as(personas.alice).get("/pool?q=a%00b")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "q"


def test_a_single_valued_parameter_sent_twice_is_refused_not_silently_picked(personas, api_as):
    # the fuzz found GET /pool?q=…&q=… answered with the last value
    response = api_as(personas.alice, language="en").get("/pool?q=a&q=b&limit=5")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "q", "code": "repeated", "message": "This parameter may be given only once."}
    ]
    assert api_as(personas.alice).get("/pool?q=a&limit=5").status_code == 200


def test_a_rep_cannot_give_a_customer_to_someone_else(personas, api_as):
    response = api_as(personas.alice).post("/customers", {"name": "x", "owner_id": personas.bob.pk})
    assert response.status_code == 403
    assert Customer.objects.count() == 0


def test_a_supervisor_assigns_within_the_team_subtree_only(personas, api_as):
    sam = api_as(personas.sam, language="en")
    assert sam.post("/customers", {"name": "A", "owner_id": personas.alice.pk}).status_code == 201
    response = sam.post("/customers", {"name": "B", "owner_id": personas.bob.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "owner_id",
        "code": "invalid",
        "message": "This user cannot own customers in your scope.",
    }


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"name": ""}, 400, "name"),
        ({"name": "   "}, 422, "name"),
        ({"name": "x", "kind": "planet"}, 400, "kind"),
        ({"name": "x", "stage": "nope"}, 422, "stage"),
        ({"name": "x" * 201}, 400, "name"),
        ({"name": "x", "owner_id": 2**70}, 400, "owner_id"),
        ({"name": "x", "status": "won"}, 400, "status"),
    ],
)
def test_bad_customer_input_is_refused_and_nothing_is_written(personas, api_as, payload, status, field):
    response = api_as(personas.alice).post("/customers", payload)
    assert response.status_code == status, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("who", "read", "patch"),
    [("alice", 200, 200), ("bob", 404, 404), ("sam", 200, 200), ("diana", 200, 200), ("fay", 200, 404)],
)
def test_permission_matrix_for_one_customer(personas, api_as, who, read, patch):
    shop = make_customer(owner=personas.alice)
    client = api_as(getattr(personas, who))
    assert client.get(f"/customers/{shop.pk}").status_code == read
    assert client.patch(f"/customers/{shop.pk}", {"city": "杭州"}).status_code == patch
    shop.refresh_from_db()
    assert (shop.city == "杭州") == (patch == 200)


def test_only_supervisors_and_above_reassign(personas, api_as):
    shop = make_customer(owner=personas.alice)
    assert api_as(personas.alice).patch(f"/customers/{shop.pk}", {"owner_id": personas.bob.pk}).status_code == 403
    assert api_as(personas.diana).patch(f"/customers/{shop.pk}", {"owner_id": personas.bob.pk}).status_code == 200
    shop.refresh_from_db()
    assert shop.owner == personas.bob


def test_stage_cannot_be_patched_directly(personas, api_as):
    shop = make_customer(owner=personas.alice)
    response = api_as(personas.alice).patch(f"/customers/{shop.pk}", {"stage": "won"})
    assert response.status_code == 400
    shop.refresh_from_db()
    assert shop.stage == "lead"
    assert StageHistory.objects.count() == 0


def test_ids_beyond_64_bits_are_a_400_not_a_crash(personas, api_as):
    assert api_as(personas.alice).get(f"/customers/{2**64}").status_code in (400, 404)


def test_list_filters_and_scope(personas, api_as):
    make_customer(owner=personas.alice, name="张三便利店", stage="lead")
    make_customer(owner=personas.alice, name="李四超市", stage="won", status=Customer.Status.WON)
    make_customer(owner=personas.bob, name="王五超市")
    alice = api_as(personas.alice)
    assert {c["name"] for c in alice.get("/customers").json()["items"]} == {"张三便利店", "李四超市"}
    assert [c["name"] for c in alice.get("/customers?q=超市").json()["items"]] == ["李四超市"]
    assert [c["name"] for c in alice.get("/customers?status=won").json()["items"]] == ["李四超市"]
    assert api_as(personas.fay).get("/customers").json()["count"] == 3


def test_the_customer_list_has_a_query_budget(personas, api_as, django_assert_max_num_queries):
    for _ in range(40):
        make_customer(owner=personas.alice)
    alice = api_as(personas.alice)
    with django_assert_max_num_queries(4):
        assert len(alice.get("/customers?limit=100").json()["items"]) == 40


def test_assistant_reads_but_does_not_create(personas: Any, api_as: Any) -> None:
    assert api_as(personas.fay).post("/customers", {"name": "x"}).status_code == 403


def test_a_new_owner_starts_a_new_spell_not_the_old_one(personas, api_as, now):
    # given alice's lead, claimed from the pool two months ago and quiet since
    from datetime import timedelta

    lead = make_customer(owner=personas.alice, name="华联超市(老客户)")
    Customer.objects.filter(pk=lead.pk).update(assigned_at=now - timedelta(days=60), from_pool=True)
    # when her supervisor gives it to himself
    response = api_as(personas.sam).patch(f"/customers/{lead.pk}", {"owner_id": personas.sam.pk})
    # then the idle clock starts now and it does not count against anyone's pool limit
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert lead.owner_id == personas.sam.pk
    assert lead.assigned_at == now
    assert lead.from_pool is False
