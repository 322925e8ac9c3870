"""查重 / 撞单: a customer is checked against the existing ones on every create (API, phone form,
import) by credit code, phone and normalized name, near names shown first; a rep learns only that a
colleague holds one, and the supervisors are told; two records of one customer can be merged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command

from salestrace.actions.models import ActionLog
from salestrace.actions.tests.factories import valid_price_negotiation
from salestrace.customers import dedupe
from salestrace.customers.models import Customer, CustomerMerge, CustomerPhone, StageHistory
from salestrace.imports.models import ExternalRef, ImportJob
from salestrace.notify.models import InboxMessage
from salestrace.todos.models import Task

pytestmark = pytest.mark.django_db

CREDIT = "91350100M000100Y43"  # the example code of GB 32100-2015


# --- the keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("联华超市(江宁店)", "联华超市（江宁店）", True),  # full-width brackets
        ("联华超市(江宁店)", "联华超市江宁", True),  # brackets and the 店 suffix
        ("ＡＢＣ贸易有限公司", "abc贸易", True),  # full-width letters, case, 有限公司
        ("联华超市(江宁店)", "联华超市(河西店)", False),  # two stores of one chain
        ("门店1", "门店10", False),
    ],
)
def test_names_are_compared_normalized(a, b, same):
    assert (dedupe.name_key(a) == dedupe.name_key(b)) is same


def test_near_names_differ_a_little_but_never_by_their_number():
    assert dedupe.similarity("联华超市江宁路", "联华超市(江宁店)") >= dedupe.NEAR_SCORE
    assert dedupe.similarity("联华超市1号店", "联华超市2号店") == 0
    assert dedupe.name_sound("连华超市江宁") == dedupe.name_sound("联华超市(江宁店)")


def test_phones_and_credit_codes():
    assert dedupe.phone_key("+86 138-0013-8000") == dedupe.phone_key("13800138000") == "13800138000"
    assert dedupe.phone_key("８８８６") == ""  # too short to be a number
    assert dedupe.phone_keys(["025-8888 6666，13800138000"]) == ["02588886666", "13800138000"]
    assert dedupe.credit_code_valid(CREDIT)
    assert not dedupe.credit_code_valid(CREDIT[:-1] + "X")
    assert dedupe.credit_code(" 91350100m000100y43 ") == CREDIT


# --- creating: exact, near, held by a colleague -----------------------------------------------------


def create(api: Any, **body: Any) -> Any:
    return api.post("/customers", {"kind": "store", **body})


def test_an_exact_duplicate_is_refused_with_where_it_is_or_merged(personas, api_as):
    alice = api_as(personas.alice)
    first = create(alice, name="联华超市(江宁店)", phones="025-8888 6666")
    assert first.status_code == 201, first.content
    # the same store typed again, with full-width brackets
    again = create(alice, name="联华超市（江宁店）")
    assert again.status_code == 422
    (error,) = again.json()["errors"]
    assert error["code"] == "duplicate"
    assert f"#{first.json()['id']}" in error["message"]
    # or by its phone under another name
    by_phone = create(alice, name="江宁联华", phones="02588886666")
    assert by_phone.json()["errors"][0]["code"] == "duplicate"
    # merged at her choice: what she typed is added to the one already there
    merged = create(alice, name="联华超市江宁店", phones="13800138000", contacts="王店长", duplicates="merge")
    assert merged.status_code == 200
    assert merged.json()["id"] == first.json()["id"]
    assert (merged.json()["phones"], merged.json()["contacts"]) == ("025-8888 6666, 13800138000", "王店长")
    assert Customer.objects.count() == 1
    assert set(CustomerPhone.objects.values_list("number", flat=True)) == {"02588886666", "13800138000"}


def test_a_near_duplicate_is_shown_first_then_created_when_the_rep_says_so(personas, api_as):
    alice = api_as(personas.alice)
    create(alice, name="联华超市(江宁店)")
    near = create(alice, name="联华超市江宁路")
    assert near.status_code == 422
    (error,) = near.json()["errors"]
    assert error["code"] == "possible_duplicate"
    assert "联华超市(江宁店)" in error["message"]
    assert create(alice, name="联华超市江宁路", duplicates="create").status_code == 201


def test_a_colleagues_customer_is_not_revealed_and_the_supervisors_hear_of_the_clash(personas, api_as):
    # given alice (East-1, under sam) holds a store
    create(api_as(personas.alice), name="联华超市(江宁店)", phones="13800138000", credit_code=CREDIT)
    # when bob (West-1) tries to create it, by name, phone or credit code
    bob = api_as(personas.bob)
    for body in (
        {"name": "联华超市江宁店"},
        {"name": "某店", "phones": "138 0013 8000"},
        {"name": "X", "credit_code": CREDIT},
    ):
        refused = create(bob, **body)
        assert refused.status_code == 422
        (error,) = refused.json()["errors"]
        # then he learns only that a colleague holds it
        assert error["code"] == "held_by_other"
        assert "alice" not in error["message"]
        assert "江宁" not in error["message"]
    check = bob.get("/customers/duplicates?name=联华超市江宁店").json()
    assert check == {"matches": [], "held_by_other": True, "possibly_held_by_other": False}
    # and the supervisors over both (sam over alice; the director over bob's team) are told, once a day
    told = InboxMessage.objects.filter(source="clash")
    assert {m.user.username for m in told} == {"sam", "diana"}
    assert all("联华超市江宁店" in m.title for m in told.filter(user__username="sam")[:1])
    assert Customer.objects.count() == 1


def test_a_bad_credit_code_or_phone_is_named(personas, api_as):
    response = create(api_as(personas.alice), name="新店", credit_code="91350100M000100Y44", phones="12, 13800138000")
    assert response.status_code == 422
    assert {e["field"]: e["code"] for e in response.json()["errors"]} == {"credit_code": "invalid", "phones": "invalid"}


# --- merging ------------------------------------------------------------------------------------------


def test_a_supervisor_merges_two_records_of_one_customer(personas, api_as, now):
    alice = api_as(personas.alice)
    keep = create(alice, name="联华超市(江宁店)").json()
    drop = create(alice, name="联华江宁", phones="13800138000", address="江宁区双龙大道1号").json()
    logged = alice.post("/actions", valid_price_negotiation(drop["id"], now - timedelta(hours=2))).json()
    Task.objects.create(
        assignee=personas.alice, title="回访", customer_id=drop["id"], due_at=now, created_at=now, updated_at=now
    )
    ExternalRef.objects.create(kind="customers", source="erp", external_id="E9", object_id=drop["id"], created_at=now)
    # a rep may not merge
    assert alice.post(f"/customers/{keep['id']}/merge", {"drop_id": drop["id"]}).status_code == 403
    # when sam merges the second into the first
    response = api_as(personas.sam).post(f"/customers/{keep['id']}/merge", {"drop_id": drop["id"]})
    assert response.status_code == 200, response.content
    # then everything of the second is the first's, the record says what moved, the second is gone
    moved = response.json()["moved"]
    assert (moved["actionlog"], moved["task"], moved["customerphone"], moved["external_ids"]) == (1, 1, 1, 1)
    assert moved["stagehistory"] >= 2  # created, then moved by the action
    assert not Customer.objects.filter(pk=drop["id"]).exists()
    assert ActionLog.objects.get(pk=logged["id"]).customer_id == keep["id"]
    assert StageHistory.objects.filter(customer_id=keep["id"]).count() >= 2
    assert ExternalRef.objects.get(external_id="E9").object_id == keep["id"]
    kept = Customer.objects.get(pk=keep["id"])
    assert (kept.phones, kept.address, kept.stage) == ("13800138000", "江宁区双龙大道1号", "price_negotiation")
    assert CustomerMerge.objects.get().dropped_name == "联华江宁"


def test_a_customer_out_of_scope_cannot_be_merged(personas, api_as):
    mine = create(api_as(personas.alice), name="联华超市(江宁店)").json()
    theirs = create(api_as(personas.bob), name="苏果超市").json()
    response = api_as(personas.sam).post(f"/customers/{mine['id']}/merge", {"drop_id": theirs["id"]})
    assert response.status_code == 404
    assert Customer.objects.count() == 2


# --- importing ----------------------------------------------------------------------------------------


def test_an_import_links_rows_that_are_already_here_and_never_makes_a_second_copy(personas, api_as, tmp_path):
    create(api_as(personas.alice), name="联华超市(江宁店)", phones="13800138000")
    path = tmp_path / "customers.csv"
    path.write_text(
        "客户编号,客户名称,负责人,电话\n"
        "E1,江宁联华,alice,138-0013-8000\n"  # the same phone
        "E2,苏果超市(河西店),alice,\n"
        "E3,苏果超市（河西店）,alice,\n",  # the row above, typed again
        encoding="utf-8",
    )
    for _ in range(2):  # imported twice
        call_command("import_data", "customers", str(path), "--as", "root")
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["联华超市(江宁店)", "苏果超市(河西店)"]
    first = ImportJob.objects.order_by("pk")[0]
    assert [(d["row"], d["reason"]) for d in first.duplicates] == [(2, "phone"), (4, "name")]
    refs = dict(ExternalRef.objects.values_list("external_id", "object_id"))
    assert refs["E1"] == Customer.objects.get(name="联华超市(江宁店)").pk
    assert refs["E2"] == refs["E3"]


# --- the phone form -----------------------------------------------------------------------------------


def test_the_form_shows_a_near_duplicate_and_creates_it_when_asked(personas, api_as, client):
    create(api_as(personas.alice), name="联华超市(江宁店)")
    client.force_login(personas.alice)
    assert client.get("/customers/new/").status_code == 200
    # as she types, the form shows the likely duplicate
    shown = client.get("/customers/new/duplicates/", {"name": "联华超市江宁路"}).content.decode()
    assert "联华超市(江宁店)" in shown
    page = client.post("/customers/new/", {"name": "联华超市江宁路", "kind": "store", "duplicates": "check"})
    assert page.status_code == 422
    assert "不是同一个客户，仍然新建" in page.content.decode()
    done = client.post("/customers/new/", {"name": "联华超市江宁路", "kind": "store", "duplicates": "create"})
    assert done.status_code == 302
    assert Customer.objects.filter(name="联华超市江宁路").exists()
