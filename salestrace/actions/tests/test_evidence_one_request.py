"""A visit and its photo in one request (`POST /api/v1/actions/with-evidence`): the same rules,
scope and idempotency as uploading first and logging after, in one round trip."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, cast

import pytest

from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.tests.evidence_files import photo_bytes, run_photo_worker, upload
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.actions.tests.test_evidence import stored_files
from salestrace.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(personas: Any) -> Customer:
    return make_customer(owner=personas.alice, name="联华超市(徐汇店)")


def post_visit(api: Any, body: dict[str, Any], *, key: str = "", **files: Any) -> Any:
    form: dict[str, Any] = {"action": json.dumps(body, ensure_ascii=False, default=str), **files}
    headers = {**api.headers, **({"HTTP_IDEMPOTENCY_KEY": key} if key else {})}
    return api.client.post("/api/v1/actions/with-evidence", form, **headers)


def visit_photo(now: datetime, seed: int = 0) -> Any:
    return upload("visit.jpg", photo_bytes(taken_at=(now - timedelta(minutes=5)).replace(tzinfo=None), seed=seed))


def test_a_visit_and_its_photo_are_logged_in_one_request(personas, api_as, shop, now):
    # given alice at the store with the photo she just took
    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    # when she saves the visit and the photo together
    response = post_visit(alice, body, photo=visit_photo(now), latitude="31.2", longitude="121.4")
    # then the photo meets the visit's photo rule and is attached, stamped later by the worker
    assert response.status_code == 201, response.content
    action = alice.get(f"/actions/{response.json()['id']}").json()
    assert [(e["kind"], e["processing"]) for e in action["evidence"]] == [("photo", "pending")]
    assert Evidence.objects.get().latitude is not None
    assert run_photo_worker() == 1
    assert alice.get(f"/actions/{action['id']}").json()["evidence"][0]["processing"] == "done"


def test_the_rules_still_apply_and_a_refused_visit_keeps_its_upload_for_the_retry(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    # a visit without its photo is refused as on POST /actions
    bare = post_visit(alice, valid_price_negotiation(shop.pk, now, contact_method="visit"))
    assert bare.status_code == 422
    assert "evidence_photo" in {e["field"] for e in bare.json()["errors"]}
    # a visit refused for another reason keeps the photo it stored, unattached, for the retry
    body = valid_price_negotiation(shop.pk, now, contact_method="visit", obstacle="")
    refused = post_visit(alice, body, photo=visit_photo(now))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["obstacle"]
    kept = Evidence.objects.get()
    assert kept.action is None
    retry = post_visit(alice, valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[kept.pk]))
    assert retry.status_code == 201, retry.content
    assert ActionLog.objects.get().evidence.get() == kept


def test_a_retry_with_the_same_key_returns_the_first_visit(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    one = post_visit(alice, body, key="visit-1", photo=visit_photo(now))
    # the phone lost the answer and sends the whole request again
    two = post_visit(alice, body, key="visit-1", photo=visit_photo(now))
    assert one.status_code == two.status_code == 201
    assert two["Idempotent-Replayed"] == "true"
    assert one.json()["id"] == two.json()["id"]
    assert ActionLog.objects.count() == 1
    assert ActionLog.objects.get().evidence.count() == 1
    # the second copy is stored unattached, as a separate upload would be, and swept later
    assert Evidence.objects.filter(action__isnull=True).count() == 1


def test_bad_input_is_refused_before_any_file_is_stored(personas, api_as, shop, now, settings):
    alice = api_as(personas.alice)
    # not JSON, or JSON that is not an action: named by the part it is in
    for action in ("{not json", json.dumps({"customer_id": shop.pk})):
        response = alice.client.post(
            "/api/v1/actions/with-evidence", {"action": action, "photo": visit_photo(now)}, **alice.headers
        )
        assert response.status_code == 400, response.content
        assert all(e["field"] is None or e["field"].startswith("action") for e in response.json()["errors"])
    # a file that is not a photo: named by its part
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    not_a_photo = post_visit(alice, body, photo=upload("visit.jpg", b"%PDF-1.4 not a picture"))
    assert not_a_photo.status_code == 400
    assert [e["field"] for e in not_a_photo.json()["errors"]] == ["photo"]
    assert not Evidence.objects.exists()
    assert not ActionLog.objects.exists()
    assert stored_files(settings) == []


def test_a_customer_out_of_scope_gets_nothing_stored(personas, api_as, now, settings):
    # given bob's customer in another team
    theirs = make_customer(owner=personas.bob, name="别人的门店")
    response = post_visit(
        api_as(personas.alice), valid_price_negotiation(theirs.pk, now, contact_method="visit"), photo=visit_photo(now)
    )
    assert response.status_code == 404
    assert not Evidence.objects.exists()
    assert not ActionLog.objects.exists()
    assert stored_files(settings) == []


def test_it_is_documented_as_multipart(client):
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/actions/with-evidence"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert "201" in operation["responses"]


def test_the_stored_photo_is_the_one_sent_with_its_digest(personas, api_as, shop, now, settings):
    alice = api_as(personas.alice)
    data = photo_bytes(taken_at=(now - timedelta(minutes=5)).replace(tzinfo=None), seed=7)
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    assert post_visit(alice, body, photo=upload("visit.jpg", data)).status_code == 201
    photo = Evidence.objects.get()
    with photo.original.open("rb") as f:
        assert f.read() == data
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert [p.name for p in stored_files(settings)] == [str(photo.original.name).rsplit("/", 1)[-1]]


def test_a_visit_whose_save_fails_leaves_neither_row_nor_file(
    personas, api_as, shop, now, settings, evidence_insert_fails
):
    # given a database that refuses the photo's row
    from django.db import IntegrityError

    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    # when the visit and its photo are sent together
    with pytest.raises(IntegrityError, match="evidence refused"):
        post_visit(alice, body, key="visit-9", photo=visit_photo(now))
    # then the action is not logged either, and the photo already written is deleted
    assert not ActionLog.objects.exists()
    assert not Evidence.objects.exists()
    assert stored_files(settings) == []


def test_a_refused_file_names_its_part_and_the_good_one_is_kept(personas, api_as, shop, now, settings):
    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    response = post_visit(alice, body, photo=visit_photo(now), audio=upload("call.wav", b"not a recording"))
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["audio"]
    assert not ActionLog.objects.exists()
    kept = Evidence.objects.get()
    assert (kept.kind, kept.action) == ("photo", None)
    assert [p.name for p in stored_files(settings)] == [str(kept.original.name).rsplit("/", 1)[-1]]


def test_the_photo_and_the_action_are_one_commit(personas, api_as, shop, now, settings, action_insert_fails):
    # given a database that fails the action's row once the photo is written
    from django.db import IntegrityError

    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    with pytest.raises(IntegrityError, match="action refused"):
        post_visit(alice, body, photo=visit_photo(now))
    # then no photo row was committed on its own, and its file is gone
    assert not Evidence.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.django_db(transaction=True)
def test_a_queue_that_fails_after_the_commit_loses_nothing(personas, api_as, shop, now, settings, monkeypatch):
    # given real commits, and a task queue that cannot be reached once the visit is committed
    from salestrace.actions import evidence_services

    def queue_down(evidence_id: int) -> None:
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(evidence_services, "_enqueue_processing", queue_down)
    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    # when the visit and its photo are sent together
    response = post_visit(alice, body, photo=visit_photo(now))
    # then the visit is answered as saved, and its photo keeps its row and its file for the sweep
    # that queues stuck photos again
    assert response.status_code == 201, response.content
    photo = Evidence.objects.get()
    assert photo.action_id == response.json()["id"]
    assert photo.processing == Evidence.Processing.PENDING
    assert photo.original.storage.exists(str(photo.original.name))


def test_the_files_of_a_committed_row_are_never_discarded(personas, api_as, shop, now):
    # given a visit saved with its photo
    from salestrace.actions.evidence_services import Pending, evidence_discard_pending

    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    assert post_visit(alice, body, photo=visit_photo(now)).status_code == 201
    photo = Evidence.objects.get()
    # when a failure after the commit reaches the cleanup of its request
    evidence_discard_pending([Pending(evidence=photo, received=cast(Any, None))])
    # then the file its row names is still there
    assert photo.original.storage.exists(str(photo.original.name))


def test_a_new_recording_read_later_spares_the_rep_a_summary_request(personas, api_as, shop, now, settings):
    # given a recording alice uploaded earlier that could not be read (no speech engine)
    from salestrace.actions.evidence_services import evidence_recognise
    from salestrace.actions.tests.evidence_files import chat_screenshot_bytes, wav_bytes
    from salestrace.notify.models import InboxMessage

    settings.ASR_URL = ""
    alice = api_as(personas.alice)
    earlier = alice.client.post(
        "/api/v1/evidence",
        {"customer_id": shop.pk, "kind": "audio", "file": upload("call.wav", wav_bytes())},
        **alice.headers,
    ).json()
    evidence_recognise(evidence_id=earlier["id"], now=now)
    assert Evidence.objects.get(pk=earlier["id"]).recognition == "unavailable"
    # when she saves a WeChat entry with no summary, that recording, and a new screenshot still to be read
    body = valid_price_negotiation(shop.pk, now, contact_method="wechat", summary="", evidence_ids=[earlier["id"]])
    response = post_visit(alice, body, screenshot=upload("chat.png", chat_screenshot_bytes(["明天下午三点见"])))
    # then she is not asked to write the summary by hand: the screenshot may yet give it
    assert response.status_code == 201, response.content
    assert not InboxMessage.objects.filter(user=personas.alice).exists()
