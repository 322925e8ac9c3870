"""The action log through /api/v1/actions, as a phone or an integration would use it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from salestrace.actions.models import ActionEdit, ActionLog, IdempotencyRecord
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.customers.models import Customer, StageHistory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(personas: Any) -> Customer:
    return make_customer(owner=personas.alice)


def errors_by_field(response: Any) -> dict[str | None, dict[str, str]]:
    return {e["field"]: e for e in response.json()["errors"]}


# --- logging -----------------------------------------------------------------------------------


def test_logging_a_valid_action_moves_the_customer_and_records_the_stage_change(personas, api_as, shop, now):
    # given alice's store at the lead stage
    # when she logs a price negotiation visit half an hour ago
    at = now - timedelta(minutes=30)
    response = api_as(personas.alice).post("/actions", valid_price_negotiation(shop.pk, at))
    # then it is saved with the server's rep and time, and the store moves on
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["rep_id"] == personas.alice.pk
    assert body["logged_at"].startswith("2026-11-26T02:00:00")
    shop.refresh_from_db()
    assert shop.stage == "price_negotiation"
    assert shop.last_active_at == at
    assert shop.status == Customer.Status.ACTIVE
    change = StageHistory.objects.get(customer=shop, action_id=body["id"])
    assert (change.from_stage, change.to_stage, change.changed_at) == ("lead", "price_negotiation", at)


def test_price_negotiation_without_obstacle_and_next_step_is_refused_with_every_problem(personas, api_as, shop, now):
    body = valid_price_negotiation(shop.pk, now, contact_method="wechat", obstacle="", next_step_plan="")
    del body["next_step_date"]
    response = api_as(personas.alice).post("/actions", body)
    assert response.status_code == 422
    errors = errors_by_field(response)
    assert set(errors) == {"obstacle", "next_step_plan", "next_step_date", "summary"}
    assert errors["obstacle"]["code"] == "required"
    assert errors["obstacle"]["message"] == "价格谈判阶段必须填写障碍类型"
    assert errors["summary"]["message"] == "微信沟通请填写沟通摘要，或上传聊天截图自动识别"
    assert ActionLog.objects.count() == 0
    shop.refresh_from_db()
    assert shop.stage == "lead"


def test_rule_messages_follow_accept_language(personas, api_as, shop, now):
    body = valid_price_negotiation(shop.pk, now, obstacle="")
    response = api_as(personas.alice, language="en").post("/actions", body)
    assert response.status_code == 422
    assert errors_by_field(response)["obstacle"]["message"] == "At the price negotiation stage the obstacle is required"


def test_phone_contact_needs_a_summary(personas, api_as, shop, now):
    body = valid_price_negotiation(shop.pk, now, contact_method="phone", stage="lead", summary="")
    response = api_as(personas.alice).post("/actions", body)
    assert response.status_code == 422
    assert set(errors_by_field(response)) == {"summary"}
    body["summary"] = "电话确认送货时间"
    assert api_as(personas.alice).post("/actions", body).status_code == 201


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"contact_method": "fax"}, "contact_method", "invalid_choice"),
        ({"obstacle": "aliens"}, "obstacle", "invalid_choice"),
        ({"stage": "negotiating"}, "stage", "invalid_choice"),
        ({"occurred_at": "2026-11-27T10:00:00+08:00"}, "occurred_at", "in_future"),
        ({"occurred_at": "2026-09-01T10:00:00+08:00"}, "occurred_at", "too_old"),
        ({"next_step_date": "2026-11-20"}, "next_step_date", "before_occurred"),
    ],
)
def test_unknown_codes_and_impossible_dates_are_422_and_write_nothing(personas, api_as, shop, now, change, field, code):
    response = api_as(personas.alice).post("/actions", valid_price_negotiation(shop.pk, now, **change))
    assert response.status_code == 422
    assert errors_by_field(response)[field]["code"] == code
    assert ActionLog.objects.count() == 0
    assert StageHistory.objects.filter(customer=shop).count() == 0


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"customer_id": "abc"}, "customer_id", "int_parsing"),
        ({"occurred_at": "yesterday"}, "occurred_at", "datetime_from_date_parsing"),
        ({"next_step_date": "soon"}, "next_step_date", "date_from_datetime_parsing"),
        ({"summary": "长" * 5001}, "summary", "string_too_long"),
        ({"next_step_plan": "x" * 501}, "next_step_plan", "string_too_long"),
        ({"rep": 99}, "rep", "extra_forbidden"),
        ({"logged_at": "2026-11-01T00:00:00Z"}, "logged_at", "extra_forbidden"),
        ({"contact_method": None}, "contact_method", "string_type"),
    ],
)
def test_malformed_input_is_400_with_a_translated_message_and_writes_nothing(
    personas, api_as, shop, now, change, field, code
):
    body = valid_price_negotiation(shop.pk, now)
    body.update(change)
    response = api_as(personas.alice).post("/actions", body)
    assert response.status_code == 400, response.content
    error = errors_by_field(response)[field]
    assert error["code"] == code
    assert any("\u4e00" <= c <= "\u9fff" for c in error["message"]), error["message"]
    assert ActionLog.objects.count() == 0


def test_not_json_is_400(personas, api_as):
    response = api_as(personas.alice).post("/actions", "{not json")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_missing_required_fields_are_listed_together(personas, api_as):
    response = api_as(personas.alice, language="en").post("/actions", {})
    assert response.status_code == 400
    errors = errors_by_field(response)
    assert {"customer_id", "occurred_at", "contact_method", "stage"} <= set(errors)
    assert errors["stage"]["message"] == "This field is required."


def test_a_time_without_offset_is_read_as_shanghai_time(personas, api_as, shop, now):
    body = valid_price_negotiation(shop.pk, now, occurred_at="2026-11-26T09:15:00")
    response = api_as(personas.alice).post("/actions", body)
    assert response.status_code == 201
    assert response.json()["occurred_at"] == "2026-11-26T01:15:00Z"


def test_a_back_dated_action_does_not_move_the_stage_backwards(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    assert alice.post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=1))).status_code == 201
    older = valid_price_negotiation(shop.pk, now - timedelta(days=3), stage="needs_confirmed", key_action="book_demo")
    assert alice.post("/actions", older).status_code == 201
    shop.refresh_from_db()
    assert shop.stage == "price_negotiation"
    assert shop.last_active_at == now - timedelta(hours=1)


def test_a_won_action_closes_the_customer(personas, api_as, shop, now):
    body = valid_price_negotiation(shop.pk, now, stage="won", key_action="restock_order")
    assert api_as(personas.alice).post("/actions", body).status_code == 201
    shop.refresh_from_db()
    assert (shop.stage, shop.status) == ("won", Customer.Status.WON)


# --- idempotency -------------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_creates_nothing_new(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now)
    first = alice.post("/actions", body, HTTP_IDEMPOTENCY_KEY="phone-123-0001")
    again = alice.post("/actions", body, HTTP_IDEMPOTENCY_KEY="phone-123-0001")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ActionLog.objects.count() == 1
    assert StageHistory.objects.filter(customer=shop, action__isnull=False).count() == 1


def test_the_same_key_for_different_data_is_a_conflict(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    alice.post("/actions", valid_price_negotiation(shop.pk, now), HTTP_IDEMPOTENCY_KEY="k1")
    other = alice.post("/actions", valid_price_negotiation(shop.pk, now, summary="不同"), HTTP_IDEMPOTENCY_KEY="k1")
    assert other.status_code == 409
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert ActionLog.objects.count() == 1


def test_keys_belong_to_one_user(personas, api_as, now):
    # given the same key used by two reps on their own customers
    a = make_customer(owner=personas.alice)
    b = make_customer(owner=personas.bob)
    assert (
        api_as(personas.alice)
        .post("/actions", valid_price_negotiation(a.pk, now), HTTP_IDEMPOTENCY_KEY="k")
        .status_code
        == 201
    )
    assert (
        api_as(personas.bob).post("/actions", valid_price_negotiation(b.pk, now), HTTP_IDEMPOTENCY_KEY="k").status_code
        == 201
    )
    assert ActionLog.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 2


def test_a_refused_request_does_not_burn_its_key(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    bad = alice.post("/actions", valid_price_negotiation(shop.pk, now, obstacle=""), HTTP_IDEMPOTENCY_KEY="k2")
    assert bad.status_code == 422
    good = alice.post("/actions", valid_price_negotiation(shop.pk, now), HTTP_IDEMPOTENCY_KEY="k2")
    assert good.status_code == 201


# --- edits -------------------------------------------------------------------------------------


def test_every_edit_is_kept_with_who_when_before_and_after(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    action_id = alice.post("/actions", valid_price_negotiation(shop.pk, now)).json()["id"]
    response = alice.patch(f"/actions/{action_id}", {"obstacle": "competitor_interference", "summary": "竞品降价"})
    assert response.status_code == 200
    edits = response.json()["edits"]
    assert len(edits) == 1
    assert edits[0]["edited_by_id"] == personas.alice.pk
    assert edits[0]["before"] == {"obstacle": "budget_shortage", "summary": ""}
    assert edits[0]["after"] == {"obstacle": "competitor_interference", "summary": "竞品降价"}
    assert response.json()["edit_count"] == 1


def test_an_edit_is_held_to_the_same_rules(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    action_id = alice.post("/actions", valid_price_negotiation(shop.pk, now)).json()["id"]
    response = alice.patch(f"/actions/{action_id}", {"obstacle": None, "contact_method": "wechat"})
    assert response.status_code == 422
    assert set(errors_by_field(response)) == {"obstacle", "summary"}
    assert ActionEdit.objects.count() == 0
    assert ActionLog.objects.get(pk=action_id).obstacle == "budget_shortage"


def test_editing_the_stage_of_the_latest_action_moves_the_customer_with_history(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    action_id = alice.post("/actions", valid_price_negotiation(shop.pk, now)).json()["id"]
    response = alice.patch(f"/actions/{action_id}", {"stage": "solution_compare"})
    assert response.status_code == 200
    shop.refresh_from_db()
    assert shop.stage == "solution_compare"
    assert list(StageHistory.objects.filter(customer=shop).values_list("from_stage", "to_stage").order_by("id")) == [
        ("lead", "price_negotiation"),
        ("price_negotiation", "solution_compare"),
    ]


def test_an_edit_that_changes_nothing_keeps_no_edit(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    action_id = alice.post("/actions", valid_price_negotiation(shop.pk, now)).json()["id"]
    assert alice.patch(f"/actions/{action_id}", {"obstacle": "budget_shortage"}).status_code == 200
    assert ActionEdit.objects.count() == 0


def test_null_for_a_required_field_in_an_edit_is_400(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    action_id = alice.post("/actions", valid_price_negotiation(shop.pk, now)).json()["id"]
    response = alice.patch(f"/actions/{action_id}", {"stage": None})
    assert response.status_code == 400
    assert errors_by_field(response)["stage"]["code"] == "value_error"


def test_actions_cannot_be_deleted_through_the_api(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    action_id = alice.post("/actions", valid_price_negotiation(shop.pk, now)).json()["id"]
    response = alice.client.delete(f"/api/v1/actions/{action_id}", **alice.headers)
    assert response.status_code == 405
    assert ActionLog.objects.filter(pk=action_id).exists()


# --- data scope --------------------------------------------------------------------------------


@pytest.fixture
def alices_action(personas: Any, api_as: Any, shop: Customer, now: Any) -> int:
    return api_as(personas.alice).post("/actions", valid_price_negotiation(shop.pk, now)).json()["id"]


@pytest.mark.parametrize(
    ("who", "read", "patch"),
    [
        ("alice", 200, 200),
        ("bob", 404, 404),
        ("sam", 200, 403),
        ("diana", 200, 403),
        ("fay", 404, 404),
        ("admin", 200, 200),
    ],
)
def test_permission_matrix_for_one_action(personas, api_as, alices_action, who, read, patch):
    client = api_as(getattr(personas, who))
    assert client.get(f"/actions/{alices_action}").status_code == read
    assert client.patch(f"/actions/{alices_action}", {"summary": f"edited by {who}"}).status_code == patch
    assert ActionEdit.objects.filter(edited_by=getattr(personas, who)).count() == (1 if patch == 200 else 0)


def test_a_rep_cannot_log_on_another_reps_customer(personas, api_as, shop, now):
    response = api_as(personas.bob).post("/actions", valid_price_negotiation(shop.pk, now))
    assert response.status_code == 404
    assert ActionLog.objects.count() == 0


def test_a_supervisor_can_log_on_a_customer_of_the_team_subtree(personas, api_as, shop, now):
    response = api_as(personas.sam).post("/actions", valid_price_negotiation(shop.pk, now))
    assert response.status_code == 201
    assert response.json()["rep_id"] == personas.sam.pk


def test_the_assistant_does_not_log_actions(personas, api_as, shop, now):
    response = api_as(personas.fay).post("/actions", valid_price_negotiation(shop.pk, now))
    assert response.status_code == 403


def test_lists_show_only_what_is_in_scope(personas, api_as, now):
    a = make_customer(owner=personas.alice)
    b = make_customer(owner=personas.bob)
    api_as(personas.alice).post("/actions", valid_price_negotiation(a.pk, now))
    api_as(personas.bob).post("/actions", valid_price_negotiation(b.pk, now))
    seen = {
        who: {item["customer_id"] for item in api_as(getattr(personas, who)).get("/actions").json()["items"]}
        for who in ("alice", "bob", "sam", "diana", "fay")
    }
    assert seen == {"alice": {a.pk}, "bob": {b.pk}, "sam": {a.pk}, "diana": {a.pk, b.pk}, "fay": set()}


def test_no_token_is_401_and_a_bad_token_too(client, personas):
    assert client.get("/api/v1/actions").status_code == 401
    response = client.get("/api/v1/actions", HTTP_AUTHORIZATION="Bearer st_nope")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


# --- lists -------------------------------------------------------------------------------------


def test_list_filters_and_pagination(personas, api_as, now):
    alice = api_as(personas.alice)
    shops = [make_customer(owner=personas.alice) for _ in range(3)]
    for i, s in enumerate(shops):
        alice.post("/actions", valid_price_negotiation(s.pk, now - timedelta(hours=i)))
    page = alice.get("/actions?limit=2&offset=0").json()
    assert page["count"] == 3
    assert [i["customer_id"] for i in page["items"]] == [shops[0].pk, shops[1].pk]
    assert alice.get(f"/actions?customer_id={shops[2].pk}").json()["count"] == 1
    assert alice.get("/actions?stage=lead").json()["count"] == 0
    assert alice.get("/actions?occurred_after=2026-11-26T09:30:00").json()["count"] == 1


def test_the_action_list_has_a_query_budget(personas, api_as, now, django_assert_max_num_queries):
    alice = api_as(personas.alice)
    for _ in range(30):
        alice.post("/actions", valid_price_negotiation(make_customer(owner=personas.alice).pk, now))
    with django_assert_max_num_queries(4):
        response = alice.get("/actions?limit=50")
    assert len(response.json()["items"]) == 30


def test_saving_an_action_has_a_query_budget(personas, api_as, shop, now, django_assert_max_num_queries):
    alice = api_as(personas.alice)
    # 15 with the catalog snapshot built afresh (options, rules, thresholds, policies, the key
    # fields' history): once per catalog change in a running process, every time in a test; one
    # of them asks which webhook endpoints listen (once for all the save's events)
    with django_assert_max_num_queries(15):
        assert alice.post("/actions", valid_price_negotiation(shop.pk, now)).status_code == 201
