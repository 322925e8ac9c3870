"""Upload first, then log: rules that require evidence, screenshots standing in for the summary,
"summary needed" when nothing could be read, and the sweep of uploads nobody attached."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from django.db import IntegrityError
from django.test import Client

from salestrace.actions.evidence_services import evidence_recognise, evidence_sweep_unattached, evidence_upload
from salestrace.actions.models import ActionEdit, ActionLog, Evidence
from salestrace.actions.tests.evidence_files import (
    chat_screenshot_bytes,
    photo_bytes,
    run_photo_worker,
    upload,
    wav_bytes,
)
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.actions.tests.test_recognition import CHAT, share_recognised
from salestrace.customers.models import Customer
from salestrace.notify.models import InboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(personas: Any) -> Customer:
    return make_customer(owner=personas.alice, name="联华超市(徐汇店)")


def upload_first(api: Any, customer_id: int, kind: str, data: bytes, name: str = "f.jpg", **form: Any) -> Any:
    payload = {"customer_id": str(customer_id), "kind": kind, "file": upload(name, data), **form}
    return api.client.post("/api/v1/evidence", payload, **api.headers)


def visit_photo(now: datetime, *, minutes_before: int = 5, seed: int = 0) -> bytes:
    return photo_bytes(taken_at=(now - timedelta(minutes=minutes_before)).replace(tzinfo=None), seed=seed)


def errors_by_field(response: Any) -> dict[str, dict[str, str]]:
    return {e["field"]: e for e in response.json()["errors"]}


# --- rules that require evidence ---------------------------------------------------------------


def test_a_visit_without_a_photo_is_refused_in_chinese_and_english(personas, api_as, shop, now):
    body = valid_price_negotiation(shop.pk, now, contact_method="visit")
    zh = api_as(personas.alice).post("/actions", body)
    en = api_as(personas.alice, language="en").post("/actions", body)
    assert zh.status_code == en.status_code == 422
    assert errors_by_field(zh)["evidence_photo"] == {
        "field": "evidence_photo",
        "code": "required",
        "message": "面访必须上传现场照片（系统自动加时间水印）",
    }
    assert errors_by_field(en)["evidence_photo"]["message"] == "A visit needs an on-site photo (stamped with the time)"
    assert not ActionLog.objects.exists()


def test_a_photo_uploaded_first_is_attached_with_the_visit_and_checked_against_it(personas, api_as, shop, now):
    # given alice's photo, uploaded from the visit before the entry is saved
    alice = api_as(personas.alice)
    uploaded = upload_first(alice, shop.pk, "photo", visit_photo(now), latitude="31.2", longitude="121.4")
    assert uploaded.status_code == 201, uploaded.content
    photo = uploaded.json()
    assert photo["action_id"] is None
    assert photo["customer_id"] == shop.pk
    assert (photo["processing"], photo["watermarked_url"]) == ("pending", None)
    # when she logs the visit with it, before the worker has stamped it
    response = alice.post(
        "/actions", valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[photo["id"]])
    )
    # then the upload meets the photo rule: the visit is saved with the photo attached
    assert response.status_code == 201, response.content
    action_id = response.json()["id"]
    detail = alice.get(f"/actions/{action_id}").json()
    assert [(e["id"], e["processing"]) for e in detail["evidence"]] == [(photo["id"], "pending")]
    # and once the worker has run, the photo is stamped and checked against the visit: no flag
    assert run_photo_worker() == 1
    stamped = alice.get(f"/actions/{action_id}").json()["evidence"][0]
    assert (stamped["processing"], stamped["flags"]) == ("done", [])
    assert stamped["watermarked_url"]
    assert detail["summary_needed"] is False


def test_the_time_and_reuse_checks_run_when_the_photo_meets_its_visit(personas, api_as, shop, now, settings):
    # given a visit already backed by a photo, stamped before the visit was saved
    alice = api_as(personas.alice)
    first = upload_first(alice, shop.pk, "photo", visit_photo(now)).json()
    run_photo_worker()
    assert (
        alice.post(
            "/actions", valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[first["id"]])
        ).status_code
        == 201
    )
    # when the same picture, taken three hours before, backs a second visit
    again = upload_first(alice, shop.pk, "photo", visit_photo(now)).json()
    later = now + timedelta(hours=3)
    body = valid_price_negotiation(shop.pk, later, contact_method="visit", evidence_ids=[again["id"]])
    body["occurred_at"] = (now + timedelta(minutes=1)).isoformat()
    settings.EVIDENCE_EXIF_TOLERANCE_MINUTES = 2
    response = alice.post("/actions", body)
    # then it is saved (flags ask for a second look; they do not refuse) and, once the worker has
    # stamped it, flagged twice
    assert response.status_code == 201, response.content
    run_photo_worker()
    assert set(Evidence.objects.get(pk=again["id"]).flags) == {"reused_photo", "exif_time_mismatch"}
    # and an upload nobody attached does not count as a previous use (both stamped before the
    # save this time: the checks run at the attach)
    stray = upload_first(alice, shop.pk, "photo", visit_photo(now, seed=90)).json()
    fresh = upload_first(alice, shop.pk, "photo", visit_photo(now, seed=90)).json()
    run_photo_worker()
    assert (
        alice.post(
            "/actions", valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[fresh["id"]])
        ).status_code
        == 201
    )
    assert "reused_photo" not in Evidence.objects.get(pk=fresh["id"]).flags
    assert Evidence.objects.get(pk=stray["id"]).action is None


@pytest.mark.parametrize("case", ["unknown", "other_customer", "someone_elses", "already_attached"])
def test_evidence_that_is_not_yours_to_attach_is_refused_and_nothing_is_logged(personas, api_as, shop, now, case):
    alice, sam = api_as(personas.alice), api_as(personas.sam)
    other_shop = make_customer(owner=personas.alice, name="好德便利店(长宁店)")
    photo_id = {
        "unknown": lambda: 987654,
        "other_customer": lambda: upload_first(alice, other_shop.pk, "photo", visit_photo(now)).json()["id"],
        "someone_elses": lambda: upload_first(sam, shop.pk, "photo", visit_photo(now)).json()["id"],
        "already_attached": lambda: attached_photo(alice, shop, now),
    }[case]()
    before = ActionLog.objects.count()
    response = alice.post(
        "/actions", valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[photo_id])
    )
    assert response.status_code == 400
    assert errors_by_field(response)["evidence_ids"]["code"] == "unknown_evidence"
    assert ActionLog.objects.count() == before


def attached_photo(api: Any, shop: Customer, now: datetime) -> int:
    photo_id = int(upload_first(api, shop.pk, "photo", visit_photo(now, seed=7)).json()["id"])
    response = api.post(
        "/actions", valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[photo_id])
    )
    assert response.status_code == 201
    return photo_id


def test_a_retry_with_the_same_key_returns_the_first_visit_even_with_a_new_upload(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    first = upload_first(alice, shop.pk, "photo", visit_photo(now)).json()["id"]
    body = valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[first])
    one = alice.post("/actions", body, HTTP_IDEMPOTENCY_KEY="visit-1")
    # the phone lost the answer, uploaded the photo again and resent the entry
    second = upload_first(alice, shop.pk, "photo", visit_photo(now)).json()["id"]
    two = alice.post("/actions", {**body, "evidence_ids": [second]}, HTTP_IDEMPOTENCY_KEY="visit-1")
    assert one.status_code == two.status_code == 201
    assert two["Idempotent-Replayed"] == "true"
    assert one.json()["id"] == two.json()["id"]
    assert ActionLog.objects.count() == 1
    assert Evidence.objects.get(pk=second).action is None  # swept later


def test_editing_an_action_into_a_visit_needs_its_photo(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    action_id = alice.post("/actions", valid_price_negotiation(shop.pk, now)).json()["id"]
    refused = alice.patch(f"/actions/{action_id}", {"contact_method": "visit"})
    assert refused.status_code == 422
    assert errors_by_field(refused)["evidence_photo"]["code"] == "required"
    added = alice.client.post(
        f"/api/v1/actions/{action_id}/evidence",
        {"kind": "photo", "file": upload("p.jpg", visit_photo(now))},
        **alice.headers,
    )
    assert added.status_code == 201
    assert alice.patch(f"/actions/{action_id}", {"contact_method": "visit"}).status_code == 200


# --- uploads: who sees them, bad input ----------------------------------------------------------


def test_an_unattached_upload_is_seen_only_by_its_uploader(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    photo = upload_first(alice, shop.pk, "photo", visit_photo(now)).json()
    assert alice.get(f"/evidence/{photo['id']}").status_code == 200
    assert alice.client.get(photo["original_url"], **alice.headers).status_code == 200
    for other in (personas.sam, personas.bob, personas.diana):
        api = api_as(other)
        assert api.get(f"/evidence/{photo['id']}").status_code == 404
        assert api.client.get(photo["original_url"], **api.headers).status_code == 404


def test_uploads_are_refused_for_a_customer_out_of_scope_or_a_role_that_does_not_log(personas, api_as, shop, now):
    bob = api_as(personas.bob)
    assert upload_first(bob, shop.pk, "photo", visit_photo(now)).status_code == 404
    assert upload_first(api_as(personas.alice), 0, "photo", visit_photo(now)).status_code == 404
    assert upload_first(api_as(personas.fay), shop.pk, "photo", visit_photo(now)).status_code == 403
    bad = upload_first(api_as(personas.alice, language="en"), shop.pk, "photo", b"%PDF-1.4 not a photo")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"].startswith("This file type is not accepted")
    assert not Evidence.objects.exists()


# --- screenshots and recordings in place of a summary -------------------------------------------


def test_a_wechat_screenshot_stands_in_for_the_summary_and_fills_it_when_read(
    personas, api_as, shop, now, django_capture_on_commit_callbacks
):
    # given a WeChat contact with no summary: refused without the screenshot
    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now, contact_method="wechat", summary="")
    assert errors_by_field(alice.post("/actions", body))["summary"]["code"] == "required"
    # when the chat screenshot is uploaded first (its reading queued) and the entry saved with it
    with django_capture_on_commit_callbacks(execute=False) as queued:
        shot = upload_first(alice, shop.pk, "screenshot", chat_screenshot_bytes(CHAT), "chat.png").json()
    assert len(queued) == 1
    response = alice.post("/actions", {**body, "evidence_ids": [shot["id"]]})
    # then the pending reading counts as the summary
    assert response.status_code == 201, response.content
    action_id = response.json()["id"]
    assert alice.get(f"/actions/{action_id}").json()["summary_needed"] is False
    # and when the worker reads it, the text becomes the summary, as an edit by the system
    assert evidence_recognise(evidence_id=shot["id"], now=now + timedelta(seconds=30))
    action = ActionLog.objects.get(pk=action_id)
    assert share_recognised("".join(CHAT), action.summary) >= 0.9, action.summary
    assert ActionEdit.objects.get(action=action).edited_by is None


def test_a_screenshot_read_before_the_entry_is_saved_fills_the_summary_at_once(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    shot = upload_first(alice, shop.pk, "screenshot", chat_screenshot_bytes(CHAT[:2]), "chat.png").json()
    assert evidence_recognise(evidence_id=shot["id"], now=now)
    assert Evidence.objects.get(pk=shot["id"]).action is None
    response = alice.post(
        "/actions", valid_price_negotiation(shop.pk, now, contact_method="wechat", evidence_ids=[shot["id"]])
    )
    assert response.status_code == 201
    action = ActionLog.objects.get(pk=response.json()["id"])
    assert share_recognised("".join(CHAT[:2]), action.summary) >= 0.9, action.summary
    assert response.json()["summary"] == action.summary


def test_when_nothing_can_be_read_the_rep_is_told_to_write_the_summary(personas, api_as, shop, now, settings):
    # given a phone call saved with its recording and no speech-to-text engine on the server
    settings.ASR_URL = ""
    alice = api_as(personas.alice)
    rec = upload_first(alice, shop.pk, "audio", wav_bytes(), "call.wav").json()
    body = valid_price_negotiation(shop.pk, now, contact_method="phone", summary="", evidence_ids=[rec["id"]])
    action_id = alice.post("/actions", body).json()["id"]
    # when the worker finds no engine
    evidence_recognise(evidence_id=rec["id"], now=now + timedelta(seconds=5))
    # then nothing is invented, the action says a summary is needed, and alice gets a message
    detail = alice.get(f"/actions/{action_id}").json()
    assert detail["summary"] == ""
    assert detail["summary_needed"] is True
    (message,) = InboxMessage.objects.filter(user=personas.alice, source="evidence")
    assert message.title == "请补写沟通摘要：联华超市(徐汇店)"
    assert message.link.endswith(f"/actions/{action_id}/summary/")
    # when she writes it on the page the message links to
    page = Client()
    page.force_login(personas.alice)
    assert "待补写摘要" in page.get(f"/customers/{shop.pk}/").content.decode()
    response = page.post(f"/actions/{action_id}/summary/", {"summary": "电话确认下周补货"})
    assert response.status_code == 302
    assert alice.get(f"/actions/{action_id}").json()["summary_needed"] is False
    assert ActionLog.objects.get(pk=action_id).summary == "电话确认下周补货"
    # and only she may write it
    bob_page = Client()
    bob_page.force_login(personas.sam)
    assert bob_page.post(f"/actions/{action_id}/summary/", {"summary": "x"}).status_code == 403


# --- no file left behind -------------------------------------------------------------------------


def stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_uploads_nobody_attached_are_swept_with_their_files_after_a_day(
    personas, api_as, shop, now, settings, django_capture_on_commit_callbacks
):
    alice = api_as(personas.alice)
    old = upload_first(alice, shop.pk, "photo", visit_photo(now, seed=1)).json()["id"]
    kept = attached_photo(alice, shop, now)
    young = evidence_upload(
        user=personas.alice,
        customer_id=shop.pk,
        kind="photo",
        upload=upload("y.jpg", visit_photo(now, seed=2)),
        now=now + timedelta(hours=20),
    ).pk
    run_photo_worker()
    assert len(stored_files(settings)) == 6  # original + stamped copy, three times
    assert evidence_sweep_unattached(now=now + timedelta(hours=23)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert evidence_sweep_unattached(now=now + timedelta(hours=25)) == 1
    assert set(Evidence.objects.values_list("pk", flat=True)) == {kept, young}
    assert len(stored_files(settings)) == 4
    assert old not in Evidence.objects.values_list("pk", flat=True)
    assert evidence_sweep_unattached(now=now + timedelta(hours=25)) == 0


def test_a_failed_save_leaves_no_file_behind(personas, shop, now, settings, monkeypatch):
    def refuse(self: Evidence, *args: Any, **kwargs: Any) -> None:
        raise IntegrityError("disk full in the database")

    monkeypatch.setattr(Evidence, "save", refuse)
    with pytest.raises(IntegrityError):
        evidence_upload(
            user=personas.alice, customer_id=shop.pk, kind="photo", upload=upload("p.jpg", visit_photo(now)), now=now
        )
    assert stored_files(settings) == []


def test_a_screenshot_that_already_failed_to_be_read_flags_the_entry_when_it_is_saved(
    personas, api_as, shop, now, settings
):
    # given a screenshot read before the entry is saved, on a server without Tesseract
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    alice = api_as(personas.alice)
    shot = upload_first(alice, shop.pk, "screenshot", chat_screenshot_bytes(CHAT[:1]), "chat.png").json()
    evidence_recognise(evidence_id=shot["id"], now=now)
    # when the WeChat entry is saved with it and no summary
    body = valid_price_negotiation(shop.pk, now, contact_method="wechat", evidence_ids=[shot["id"]])
    response = alice.post("/actions", body)
    # then it is saved (the screenshot meets the rule) but flagged, and alice is told at once
    assert response.status_code == 201
    assert alice.get(f"/actions/{response.json()['id']}").json()["summary_needed"] is True
    assert InboxMessage.objects.filter(user=personas.alice, source="evidence").count() == 1


# --- found by clicking through it ---------------------------------------------------------------


def test_a_visit_logged_before_the_photo_rule_can_still_be_corrected(personas, api_as, shop, now):
    # given a visit with no photo, logged when the template did not ask for one
    from salestrace.actions.rules import ActionDraft
    from salestrace.actions.services import action_log
    from salestrace.catalog.models import Rule
    from salestrace.catalog.services import catalog_changed

    Rule.objects.filter(code="visit_requires_photo").update(is_active=False)
    catalog_changed()
    old, _ = action_log(
        user=personas.alice,
        customer_id=shop.pk,
        draft=ActionDraft(now, "visit", "needs_confirmed", key_action="store_check", emotion="neutral"),
        now=now,
    )
    Rule.objects.filter(code="visit_requires_photo").update(is_active=True)
    catalog_changed()
    alice = api_as(personas.alice)
    # when alice corrects its emotion, then that is allowed: the edit breaks nothing new
    assert alice.patch(f"/actions/{old.pk}", {"emotion": "positive"}).status_code == 200
    # but an edit that breaks a rule is still refused, with only what it breaks
    refused = alice.patch(f"/actions/{old.pk}", {"emotion": ""})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["emotion"]


def test_an_evidence_id_beyond_any_database_id_is_bad_input_not_a_crash(personas, api_as, shop, now):
    body = valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[2**63])
    response = api_as(personas.alice).post("/actions", body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("evidence_ids")


def test_an_upload_older_than_the_sweep_age_cannot_be_attached(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    photo_id = upload_first(alice, shop.pk, "photo", visit_photo(now)).json()["id"]
    Evidence.objects.filter(pk=photo_id).update(created_at=now - timedelta(hours=25))
    body = valid_price_negotiation(shop.pk, now, contact_method="visit", evidence_ids=[photo_id])
    response = alice.post("/actions", body)
    assert response.status_code == 400
    assert errors_by_field(response)["evidence_ids"]["code"] == "unknown_evidence"


def test_the_summary_page_is_only_for_the_rep_and_an_empty_summary_is_not_saved(personas, api_as, shop, now, settings):
    settings.ASR_URL = ""
    settings.VOSK_MODEL_PATH = ""
    alice = api_as(personas.alice)
    rec = upload_first(alice, shop.pk, "audio", wav_bytes(), "call.wav").json()
    body = valid_price_negotiation(shop.pk, now, contact_method="phone", summary="", evidence_ids=[rec["id"]])
    action_id = alice.post("/actions", body).json()["id"]
    evidence_recognise(evidence_id=rec["id"], now=now)
    # a retry that fails again tells alice nothing new
    alice.post(f"/evidence/{rec['id']}/retry")
    evidence_recognise(evidence_id=rec["id"], now=now + timedelta(seconds=4))
    assert InboxMessage.objects.filter(user=personas.alice, source="evidence").count() == 1
    # her supervisor may see the action but not open the page to write it
    sam = Client()
    sam.force_login(personas.sam)
    denied = sam.get(f"/actions/{action_id}/summary/")
    assert denied.status_code == 403
    assert "无权操作" in denied.content.decode()
    # alice saving an empty box is told what to write, and nothing changes
    page = Client()
    page.force_login(personas.alice)
    response = page.post(f"/actions/{action_id}/summary/", {"summary": "  "})
    assert response.status_code == 422
    assert "请填写沟通摘要：谈了什么、约定了什么。" in response.content.decode()
    assert alice.get(f"/actions/{action_id}").json()["summary_needed"] is True


def test_the_rep_can_have_an_unread_screenshot_read_again_from_the_summary_page(
    personas, api_as, shop, now, settings, django_capture_on_commit_callbacks
):
    # given a WeChat entry whose screenshot could not be read: Tesseract was missing
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    alice = api_as(personas.alice)
    shot = upload_first(alice, shop.pk, "screenshot", chat_screenshot_bytes(CHAT[:2]), "chat.png").json()
    body = valid_price_negotiation(shop.pk, now, contact_method="wechat", evidence_ids=[shot["id"]])
    action_id = alice.post("/actions", body).json()["id"]
    evidence_recognise(evidence_id=shot["id"], now=now)
    page = Client()
    page.force_login(personas.alice)
    html = page.get(f"/actions/{action_id}/summary/").content.decode()
    assert "本服务器未安装文字识别（Tesseract OCR），请手动填写沟通摘要。" in html
    # when Tesseract is installed and she asks for it to be read again
    settings.TESSERACT_CMD = ""
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = page.post(f"/evidence/{shot['id']}/retry/")
    assert response.status_code == 302
    assert len(queued) == 1
    evidence_recognise(evidence_id=shot["id"], now=now + timedelta(seconds=10))
    # then the text becomes the summary and nothing is asked of her any more
    action = ActionLog.objects.get(pk=action_id)
    assert share_recognised("".join(CHAT[:2]), action.summary) >= 0.9, action.summary
    assert alice.get(f"/actions/{action_id}").json()["summary_needed"] is False
    # and someone else cannot make her files be read again
    sam = Client()
    sam.force_login(personas.sam)
    assert sam.post(f"/evidence/{shot['id']}/retry/").status_code == 403


def test_a_reading_whose_task_was_lost_is_queued_again_by_the_hourly_sweep(personas, api_as, shop, now):
    # given a screenshot whose reading was never queued (the commit callback did not run)
    from huey.contrib.djhuey import HUEY

    from salestrace.actions.evidence_services import evidence_requeue_stuck

    alice = api_as(personas.alice)
    shot = upload_first(alice, shop.pk, "screenshot", chat_screenshot_bytes(CHAT[:1]), "chat.png").json()
    assert Evidence.objects.get(pk=shot["id"]).recognition == Evidence.Recognition.PENDING
    # then a young one is left alone
    assert evidence_requeue_stuck(now=now + timedelta(minutes=5)) == 0
    # and a stuck one is queued again and read (huey runs it where it is queued, this test only)
    HUEY.immediate = True
    try:
        assert evidence_requeue_stuck(now=now + timedelta(minutes=20)) == 1
    finally:
        HUEY.immediate = False
    assert Evidence.objects.get(pk=shot["id"]).recognition == Evidence.Recognition.DONE
    assert evidence_requeue_stuck(now=now + timedelta(minutes=40)) == 0


def test_the_admin_lists_uploads_read_only_with_the_unattached_ones_apart(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    loose = upload_first(alice, shop.pk, "photo", visit_photo(now, seed=31)).json()["id"]
    kept = attached_photo(alice, shop, now)
    admin = Client()
    admin.force_login(personas.admin)
    listing = admin.get("/admin/actions/evidence/?attached=no")
    assert listing.status_code == 200
    assert f"/admin/actions/evidence/{loose}/change/" in listing.content.decode()
    assert f"/admin/actions/evidence/{kept}/change/" not in listing.content.decode()
    detail = admin.get(f"/admin/actions/evidence/{loose}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()


def test_a_photo_whose_stamping_was_lost_is_queued_again_by_the_hourly_sweep(personas, api_as, shop, now):
    # given a visit photo whose stamping was never queued (the commit callback did not run)
    from huey.contrib.djhuey import HUEY

    from salestrace.actions.evidence_services import evidence_requeue_stuck

    alice = api_as(personas.alice)
    photo = upload_first(alice, shop.pk, "photo", visit_photo(now)).json()
    assert photo["processing"] == "pending"
    # then a young one is left alone
    assert evidence_requeue_stuck(now=now + timedelta(minutes=5)) == 0
    # and a stuck one is queued again and stamped (huey runs it where it is queued, this test only)
    HUEY.immediate = True
    try:
        assert evidence_requeue_stuck(now=now + timedelta(minutes=20)) == 1
    finally:
        HUEY.immediate = False
    stamped = Evidence.objects.get(pk=photo["id"])
    assert (stamped.processing, bool(stamped.derivative), len(stamped.image_hash)) == ("done", True, 16)
    assert evidence_requeue_stuck(now=now + timedelta(minutes=40)) == 0


def test_a_photo_stamped_twice_keeps_the_first_copy_and_leaves_no_stray_file(personas, api_as, shop, now, settings):
    # given a photo the worker has stamped
    from salestrace.actions.evidence_services import evidence_process

    alice = api_as(personas.alice)
    photo_id = upload_first(alice, shop.pk, "photo", visit_photo(now)).json()["id"]
    assert evidence_process(evidence_id=photo_id, now=now) is True
    first = Evidence.objects.get(pk=photo_id).derivative.name
    # when a second task for it runs (a requeue raced the first one)
    again = evidence_process(evidence_id=photo_id, now=now)
    # then nothing changes and only the original and one stamped copy are stored
    assert again is False
    assert Evidence.objects.get(pk=photo_id).derivative.name == first
    assert len(stored_files(settings)) == 2


def _write_without_a_row(relative: str, data: bytes) -> str:
    """A file as a process killed between writing it and saving its row leaves it."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    return default_storage.save(relative, ContentFile(data))


def test_files_no_row_names_are_swept_once_past_the_grace_period(personas, api_as, shop, settings):
    # given a stamped visit photo (two files with their row) and two files a killed upload left
    # behind, one in the customer's folder and one in a folder of its own
    from django.utils import timezone

    from salestrace.actions.evidence_services import evidence_sweep_orphan_files

    settings.EVIDENCE_ORPHAN_GRACE_HOURS = 6
    real_now = timezone.now()
    alice = api_as(personas.alice)
    kept = attached_photo(alice, shop, real_now)
    run_photo_worker()
    orphans = [
        _write_without_a_row(f"evidence/{shop.pk}/lost.jpg", visit_photo(real_now)),
        _write_without_a_row("evidence/999999/lost.png", b"\x89PNG half"),
    ]
    assert len(stored_files(settings)) == 4
    # when the sweep runs within the grace period, then nothing is touched: the row may be on its way
    assert evidence_sweep_orphan_files(now=real_now + timedelta(hours=5)) == 0
    assert len(stored_files(settings)) == 4
    # when it runs past the grace period, then only the files no row names are deleted
    assert evidence_sweep_orphan_files(now=real_now + timedelta(hours=7)) == 2
    photo = Evidence.objects.get(pk=kept)
    media = Path(settings.MEDIA_ROOT)
    assert stored_files(settings) == sorted([Path(photo.original.path), Path(photo.derivative.path)])
    assert not any((media / name).exists() for name in orphans)
    # and a rerun finds nothing
    assert evidence_sweep_orphan_files(now=real_now + timedelta(hours=8)) == 0


def test_a_phone_sized_photo_is_moved_into_storage_not_copied_and_a_killed_requests_spool_is_swept(
    personas, api_as, shop, now, settings
):
    # given a photo over the 2.5 MB Django keeps in memory (a phone's 12 MP photo weighs 3-5 MB)
    import hashlib
    import os

    from django.utils import timezone

    from salestrace.actions.evidence_services import evidence_sweep_orphan_files

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024
    data = visit_photo(now, seed=3)
    assert len(data) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    spool = Path(settings.FILE_UPLOAD_TEMP_DIR)
    moved: list[str] = []
    real_rename = os.rename

    def rename(src: str, dst: str) -> None:
        moved.append(str(src))
        real_rename(src, dst)

    # when alice uploads it
    alice = api_as(personas.alice)
    with patch("os.rename", rename):
        response = upload_first(alice, shop.pk, "photo", data)
    # then the spooled upload became the stored original (renamed, nothing left in the spool),
    # byte for byte, with its hash
    assert response.status_code == 201
    photo = Evidence.objects.get(pk=response.json()["id"])
    assert [Path(m).parent for m in moved] == [spool]
    assert list(spool.iterdir()) == []
    assert Path(photo.original.path).read_bytes() == data
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    # and a spool file a killed request left is swept once past the grace period, not before
    settings.EVIDENCE_ORPHAN_GRACE_HOURS = 6
    left = spool / "tmpabc.upload.jpg"
    left.write_bytes(b"half a photo")
    real_now = timezone.now()
    os.utime(left, (real_now.timestamp(), real_now.timestamp()))
    assert evidence_sweep_orphan_files(now=real_now + timedelta(hours=5)) == 0
    assert left.exists()
    assert evidence_sweep_orphan_files(now=real_now + timedelta(hours=7)) == 1
    assert not left.exists()
    assert Path(photo.original.path).exists()


def test_the_sweep_finds_nothing_to_do_before_any_evidence_was_stored(db, settings):
    from django.utils import timezone

    from salestrace.actions.evidence_services import evidence_sweep_orphan_files

    assert evidence_sweep_orphan_files(now=timezone.now()) == 0


def test_idempotency_keys_are_forgotten_after_the_retention_window(personas, api_as, shop, now, settings):
    # given a save sent with an Idempotency-Key, and a retention of 48 hours
    from salestrace.actions.models import IdempotencyRecord
    from salestrace.actions.services import idempotency_purge

    settings.IDEMPOTENCY_RETENTION_HOURS = 48
    alice = api_as(personas.alice)
    body = valid_price_negotiation(shop.pk, now)
    first = alice.post("/actions", body, HTTP_IDEMPOTENCY_KEY="phone-retry-1")
    assert first.status_code == 201
    recorded = IdempotencyRecord.objects.get().created_at
    # when the purge runs inside the window, then a retry still gets the first action
    assert idempotency_purge(now=recorded + timedelta(hours=47)) == 0
    assert alice.post("/actions", body, HTTP_IDEMPOTENCY_KEY="phone-retry-1").json()["id"] == first.json()["id"]
    # when it runs past the window, then the key is forgotten (the action itself stays)
    assert idempotency_purge(now=recorded + timedelta(hours=49)) == 1
    assert not IdempotencyRecord.objects.exists()
    assert ActionLog.objects.filter(pk=first.json()["id"]).exists()
    assert idempotency_purge(now=recorded + timedelta(hours=49)) == 0
