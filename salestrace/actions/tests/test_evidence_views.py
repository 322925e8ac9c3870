"""Evidence on the pages: attached from the action form, shown in the customer's timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.tests.evidence_files import photo_bytes, run_photo_worker, upload, wav_bytes
from salestrace.actions.tests.test_views import make_customer, price_negotiation_post
from salestrace.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(personas: Any, now: datetime) -> Customer:
    return make_customer(personas.alice, "联华超市(浦东3号店)", at=now - timedelta(days=10), stage="solution_compare")


def test_a_photo_and_a_recording_picked_on_the_form_are_attached_and_shown_in_the_timeline(
    client: Any, personas: Any, now: datetime, store: Customer
) -> None:
    # given alice on the action form with a photo from the camera and a call recording
    client.force_login(personas.alice)
    data: dict[str, Any] = price_negotiation_post(now, contact_method="visit")
    data["evidence_photo"] = upload(
        "IMG_0001.jpg", photo_bytes(taken_at=(now - timedelta(minutes=30)).replace(tzinfo=None))
    )
    data["evidence_audio"] = upload("call.wav", wav_bytes())
    # when she saves
    response = client.post(f"/customers/{store.pk}/actions/new/", data)
    # then the action and both files are saved, and the timeline shows the photo as being stamped
    # and a player
    assert response.status_code == 302
    action = ActionLog.objects.get()
    photo = Evidence.objects.get(action=action, kind=Evidence.Kind.PHOTO)
    assert Evidence.objects.filter(action=action, kind=Evidence.Kind.AUDIO).exists()
    html = client.get(f"/customers/{store.pk}/").content.decode()
    assert f'<img src="/api/v1/evidence/{photo.pk}/original"' in html
    assert 'data-processing="pending"' in html  # 盖章中
    assert "<audio controls" in html
    # and once the worker has run, the timeline shows the stamped thumbnail
    run_photo_worker()
    html = client.get(f"/customers/{store.pk}/").content.decode()
    assert f'<img src="/api/v1/evidence/{photo.pk}/watermarked"' in html
    assert "data-processing" not in html
    assert "<audio controls" in html
    # and the files themselves open for her through the session
    assert client.get(f"/api/v1/evidence/{photo.pk}/watermarked").status_code == 200


def test_the_timeline_refreshes_itself_while_a_photo_is_being_stamped_and_stops_after(
    client: Any, personas: Any, now: datetime, store: Customer
) -> None:
    # given alice saved a visit with its photo, not stamped yet
    client.force_login(personas.alice)
    data: dict[str, Any] = price_negotiation_post(now, contact_method="visit")
    data["evidence_photo"] = upload("IMG_0002.jpg", photo_bytes(taken_at=now.replace(tzinfo=None)))
    assert client.post(f"/customers/{store.pk}/actions/new/", data).status_code == 302
    # when she looks at the customer page, the timeline polls until the stamp is there
    assert 'data-reading="true"' in client.get(f"/customers/{store.pk}/").content.decode()
    # then once the worker has stamped it, the page stops polling
    run_photo_worker()
    assert 'data-reading="true"' not in client.get(f"/customers/{store.pk}/").content.decode()


def test_a_refused_file_saves_nothing_says_why_and_keeps_the_good_file_for_the_next_try(
    client: Any, personas: Any, now: datetime, store: Customer
) -> None:
    # given a visit whose photo is fine but whose "recording" is not audio at all
    client.force_login(personas.alice)
    data: dict[str, Any] = price_negotiation_post(now, contact_method="visit")
    data["evidence_photo"] = upload(
        "IMG_0002.jpg", photo_bytes(taken_at=(now - timedelta(minutes=30)).replace(tzinfo=None))
    )
    data["evidence_audio"] = upload("call.wav", b"not a recording at all")
    # when she saves
    response = client.post(f"/customers/{store.pk}/actions/new/", data)
    # then nothing is logged, the refusal sits by the recording, and the photo is kept for her
    html = response.content.decode()
    assert response.status_code == 422
    assert not ActionLog.objects.exists()
    assert "不支持该文件类型：请上传录音文件（WAV、MP3、M4A、OGG 或 AMR）。" in html
    assert 'class="form-field has-error" data-field="evidence_audio"' in html  # by the recording's input
    assert 'class="form-field has-error" data-field="evidence_photo"' not in html
    assert html.count("保存未成功") == 1
    photo = Evidence.objects.get()
    assert photo.action is None
    assert f'name="kept_evidence" value="{photo.pk}"' in html
    assert "无需重新选择" in html
    # when she saves again without picking the photo again
    again = price_negotiation_post(now, contact_method="visit", kept_evidence=str(photo.pk))
    response = client.post(f"/customers/{store.pk}/actions/new/", again)
    # then the visit is logged with the photo attached, checked against the visit time
    assert response.status_code == 302
    run_photo_worker()
    photo.refresh_from_db()
    assert photo.action == ActionLog.objects.get()
    assert photo.flags == []


def test_a_visit_refused_by_a_rule_keeps_its_photo_and_the_retry_attaches_it(
    client: Any, personas: Any, now: datetime, store: Customer
) -> None:
    # given a visit with its photo but no obstacle picked (the template requires one at this stage)
    client.force_login(personas.alice)
    data: dict[str, Any] = price_negotiation_post(now, contact_method="visit", obstacle="")
    data["evidence_photo"] = upload("IMG_0003.jpg", photo_bytes(taken_at=now.replace(tzinfo=None), seed=5))
    response = client.post(f"/customers/{store.pk}/actions/new/", data)
    # then the entry is refused and the photo is kept, unattached, listed on the form
    assert response.status_code == 422
    assert not ActionLog.objects.exists()
    photo = Evidence.objects.get()
    assert photo.action is None
    assert photo.original.storage.exists(str(photo.original.name))
    assert f'name="kept_evidence" value="{photo.pk}"' in response.content.decode()
    # when she picks the obstacle and saves, without picking the photo again
    again = price_negotiation_post(now, contact_method="visit", kept_evidence=str(photo.pk))
    assert client.post(f"/customers/{store.pk}/actions/new/", again).status_code == 302
    photo.refresh_from_db()
    assert photo.action == ActionLog.objects.get()


def test_a_photo_over_the_size_limit_is_refused_by_its_input_and_nothing_is_stored(
    client: Any, personas: Any, now: datetime, store: Customer, settings: Any
) -> None:
    from salestrace.actions.tests.test_evidence import stored_files

    settings.EVIDENCE_MAX_BYTES = 1000
    client.force_login(personas.alice)
    data: dict[str, Any] = price_negotiation_post(now, contact_method="visit")
    data["evidence_photo"] = upload("IMG_0004.jpg", photo_bytes(seed=6))
    response = client.post(f"/customers/{store.pk}/actions/new/", data)
    html = response.content.decode()
    assert response.status_code == 422
    assert 'class="form-field has-error" data-field="evidence_photo"' in html
    assert "文件超过" in html
    assert not ActionLog.objects.exists()
    assert not Evidence.objects.exists()
    assert stored_files(settings) == []


def test_a_visit_without_a_photo_is_refused_on_the_form_by_the_template_rule(
    client: Any, personas: Any, now: datetime, store: Customer
) -> None:
    client.force_login(personas.alice)
    response = client.post(f"/customers/{store.pk}/actions/new/", price_negotiation_post(now, contact_method="visit"))
    html = response.content.decode()
    assert response.status_code == 422
    assert "面访必须上传现场照片（系统自动加时间水印）" in html
    assert not ActionLog.objects.exists()


def test_someone_elses_upload_cannot_be_slipped_into_the_form(
    client: Any, personas: Any, now: datetime, store: Customer
) -> None:
    # given an upload of sam's for the same customer (he may log actions there too)
    client.force_login(personas.sam)
    data: dict[str, Any] = price_negotiation_post(now, contact_method="visit", obstacle="")
    data["evidence_photo"] = upload("x.jpg", photo_bytes(seed=3))
    client.post(f"/customers/{store.pk}/actions/new/", data)
    theirs = Evidence.objects.get()
    # when alice posts a visit naming that upload as hers
    client.force_login(personas.alice)
    response = client.post(
        f"/customers/{store.pk}/actions/new/",
        price_negotiation_post(now, contact_method="visit", kept_evidence=str(theirs.pk)),
    )
    # then it is not attached and the visit still lacks its photo
    assert response.status_code == 422
    assert not ActionLog.objects.exists()
    theirs.refresh_from_db()
    assert theirs.action is None


def test_recognised_text_and_flags_show_in_the_timeline_within_the_query_budget(
    client: Any, personas: Any, now: datetime, store: Customer, django_assert_max_num_queries: Any
) -> None:
    # given three visits, each with a photo that has no EXIF
    client.force_login(personas.alice)
    for i in range(3):
        data: dict[str, Any] = price_negotiation_post(now, idempotency_key=f"k-{i}")
        data["evidence_photo"] = upload("shelf.png", photo_bytes(seed=i * 40, fmt="PNG"))
        client.post(f"/customers/{store.pk}/actions/new/", data)
    run_photo_worker()
    Evidence.objects.filter(pk=Evidence.objects.first().pk).update(recognised_text="店长：明天陈列")  # type: ignore[union-attr]
    client.get("/customers/")
    # when the customer page is opened, then one query loads every action's evidence
    with django_assert_max_num_queries(10):
        html = client.get(f"/customers/{store.pk}/").content.decode()
    assert html.count("无拍摄时间") == 3
    assert "店长：明天陈列" in html


def test_the_camera_first_start_opens_the_form_with_the_photo_and_a_visit_chosen(
    client: Any, personas: Any, now: datetime, store: Customer
) -> None:
    # when alice takes the photo from the customer page
    client.force_login(personas.alice)
    photo = upload("IMG_0003.jpg", photo_bytes(taken_at=(now - timedelta(minutes=2)).replace(tzinfo=None)))
    response = client.post(f"/customers/{store.pk}/actions/new/", {"start": "photo", "evidence_photo": photo})
    # then the photo is stored unattached and the form opens with it and a visit chosen
    kept = Evidence.objects.get()
    assert kept.action is None
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{store.pk}/actions/new/?contact_method=visit&kept={kept.pk}"
    html = client.get(response["Location"]).content.decode()
    assert f'name="kept_evidence" value="{kept.pk}"' in html
    assert 'name="contact_method" value="visit" checked' in html
    assert 'data-field="evidence_photo" data-kept="1"' in html
    # and someone else opening that link does not get her photo
    client.force_login(personas.sam)
    html = client.get(response["Location"]).content.decode()
    assert 'data-field="evidence_photo" data-kept="0"' in html


def test_a_camera_first_start_with_a_broken_file_says_why_on_the_form(
    client: Any, personas: Any, now: datetime, store: Customer
) -> None:
    client.force_login(personas.alice)
    response = client.post(
        f"/customers/{store.pk}/actions/new/", {"start": "photo", "evidence_photo": upload("x.jpg", b"GIF89a")}
    )
    assert response.status_code == 400
    assert "不支持该文件类型" in response.content.decode()
    assert not Evidence.objects.exists()
