"""Evidence through /api/v1: upload, watermark, flags, bad files, and who may see the files."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from salestrace.actions.models import Evidence
from salestrace.actions.tests.evidence_files import (
    FFMPEG_FORMATS,
    amr_bytes,
    ffmpeg,
    photo_bytes,
    run_photo_worker,
    spoken_wav,
    upload,
    wav_bytes,
)
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(personas: Any) -> Customer:
    return make_customer(owner=personas.alice, name="联华超市(徐汇店)")


def log_visit(api: Any, shop: Customer, at: datetime, **overrides: Any) -> int:
    response = api.post("/actions", valid_price_negotiation(shop.pk, at, **overrides))
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def post_evidence(api: Any, action_id: int, kind: str, data: bytes, name: str = "file.jpg", **form: Any) -> Any:
    payload = {"kind": kind, "file": upload(name, data), **form}
    return api.client.post(f"/api/v1/actions/{action_id}/evidence", payload, **api.headers)


def stamped(api: Any, response: Any) -> dict[str, Any]:
    """An accepted photo upload as the API shows it once the worker has stamped it."""
    assert response.status_code == 201, response.content
    run_photo_worker()
    return dict(api.get(f"/evidence/{response.json()['id']}").json())


def fetch(api: Any, url: str) -> bytes:
    response = api.client.get(url, **api.headers)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


# --- visit photos ------------------------------------------------------------------------------


def test_visit_photo_keeps_the_original_and_stores_a_stamped_copy(personas, api_as, shop, now):
    # given alice's visit half an hour ago and a photo taken then
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now - timedelta(minutes=30))
    original = photo_bytes(taken_at=(now - timedelta(minutes=31)).replace(tzinfo=None))
    # when she uploads it with the browser's position
    response = post_evidence(alice, visit, "photo", original, latitude="31.18834", longitude="121.43676")
    # then the answer has the original's checks and says the stamping is pending
    assert response.status_code == 201, response.content
    answered = response.json()
    assert answered["sha256"] == hashlib.sha256(original).hexdigest()
    assert answered["mime_type"] == "image/jpeg"
    assert (answered["processing"], answered["watermarked_url"]) == ("pending", None)
    # and once the worker has run, the original is kept byte for byte and the copy carries the
    # stamp at the bottom only
    body = stamped(alice, response)
    assert body["processing"] == "done"
    assert body["flags"] == []
    assert body["taken_at"].startswith("2026-11-26T01:29:00")  # EXIF wall clock read as Shanghai time
    assert fetch(alice, body["original_url"]) == original
    copy = Image.open(io.BytesIO(fetch(alice, body["watermarked_url"]))).convert("L")
    plain = Image.open(io.BytesIO(original)).convert("L")
    assert copy.size == plain.size
    band = (0, 520, 800, 600)
    top = (0, 0, 800, 300)
    band_diff = abs(ImageStat.Stat(copy.crop(band)).mean[0] - ImageStat.Stat(plain.crop(band)).mean[0])
    top_diff = abs(ImageStat.Stat(copy.crop(top)).mean[0] - ImageStat.Stat(plain.crop(top)).mean[0])
    assert band_diff > 30
    assert top_diff < 2
    evidence = Evidence.objects.get(pk=body["id"])
    assert (str(evidence.latitude), str(evidence.longitude)) == ("31.188340", "121.436760")
    assert evidence.recognition == Evidence.Recognition.NOT_APPLICABLE


def test_action_detail_lists_its_evidence(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    post_evidence(alice, visit, "photo", photo_bytes(taken_at=now.replace(tzinfo=None)))
    detail = alice.get(f"/actions/{visit}").json()
    assert [e["kind"] for e in detail["evidence"]] == ["photo"]
    assert [e["kind"] for e in alice.get(f"/actions/{visit}/evidence").json()] == ["photo"]


def test_photo_without_exif_is_flagged(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "photo", photo_bytes(), name="shelf.png")
    assert stamped(alice, response)["flags"] == ["no_exif"]


def test_photo_taken_long_before_the_visit_is_flagged(personas, api_as, shop, now, settings):
    # given a tolerance of two hours
    settings.EVIDENCE_EXIF_TOLERANCE_MINUTES = 120
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    # when the photo says it was taken the day before
    old = photo_bytes(taken_at=(now - timedelta(days=1)).replace(tzinfo=None))
    response = post_evidence(alice, visit, "photo", old)
    # then it is flagged, and still stored
    assert stamped(alice, response)["flags"] == ["exif_time_mismatch"]


def test_the_same_photo_on_another_visit_is_flagged_as_reused(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    first = log_visit(alice, shop, now - timedelta(hours=3))
    second = log_visit(alice, make_customer(owner=personas.alice), now)
    picture = photo_bytes(taken_at=(now - timedelta(hours=3)).replace(tzinfo=None))
    assert stamped(alice, post_evidence(alice, first, "photo", picture))["flags"] == []
    # when the same picture backs another visit
    flags = stamped(alice, post_evidence(alice, second, "photo", picture))["flags"]
    assert "reused_photo" in flags


def test_a_re_encoded_copy_of_a_photo_is_flagged_as_reused(personas, api_as, shop, now):
    # given a photo on one visit
    alice = api_as(personas.alice)
    first = log_visit(alice, shop, now - timedelta(hours=1))
    picture = photo_bytes(taken_at=(now - timedelta(hours=1)).replace(tzinfo=None))
    stamped(alice, post_evidence(alice, first, "photo", picture))
    # when a smaller, re-compressed copy (other bytes, same picture) backs another visit
    copy = io.BytesIO()
    Image.open(io.BytesIO(picture)).resize((640, 480)).save(copy, format="JPEG", quality=60)
    second = log_visit(alice, make_customer(owner=personas.alice), now)
    body = stamped(alice, post_evidence(alice, second, "photo", copy.getvalue()))
    # then it is caught by the perceptual hash
    assert body["sha256"] != hashlib.sha256(picture).hexdigest()
    assert "reused_photo" in body["flags"]


def test_different_photos_are_not_flagged_as_reused(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    first = log_visit(alice, shop, now - timedelta(hours=1))
    stamped(alice, post_evidence(alice, first, "photo", photo_bytes(taken_at=now.replace(tzinfo=None))))
    second = log_visit(alice, make_customer(owner=personas.alice), now)
    other = Image.new("RGB", (800, 600), (30, 30, 30))
    Image.Image.paste(other, (240, 240, 240), (0, 0, 400, 600))
    out = io.BytesIO()
    other.save(out, format="PNG")
    assert "reused_photo" not in stamped(alice, post_evidence(alice, second, "photo", out.getvalue()))["flags"]


# --- bad uploads -------------------------------------------------------------------------------


def _only_error(response: Any) -> dict[str, str]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return dict(errors[0])


def test_a_text_file_named_jpg_is_refused_in_chinese(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "photo", b"<html>not a picture</html>", name="photo.jpg")
    assert response.status_code == 400
    error = _only_error(response)
    assert (error["field"], error["code"]) == ("file", "unsupported_type")
    assert "不支持" in error["message"]
    assert Evidence.objects.count() == 0


def _png_with_a_broken_picture() -> bytes:
    """A PNG whose chunks and checksums are all in order but whose pixel data is not zlib: it can
    only be found out by decoding it."""
    import struct
    import zlib

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="PNG")
    data = out.getvalue()
    start = data.index(b"IDAT") - 4
    length = struct.unpack(">I", data[start : start + 4])[0]
    junk = bytes(range(7, 7 + length))
    chunk = struct.pack(">I", length) + b"IDAT" + junk + struct.pack(">I", zlib.crc32(b"IDAT" + junk))
    return data[:start] + chunk + data[start + 12 + length :]


def test_a_photo_that_only_decoding_finds_broken_is_kept_and_shown_as_not_stamped(personas, api_as, shop, now):
    # given a visit and a picture broken inside its compressed data
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "photo", _png_with_a_broken_picture(), name="shelf.png")
    # when it is uploaded, then it is accepted at once (it is not decoded while the rep waits)
    assert response.status_code == 201, response.content
    # and the worker marks it as not stamped, keeping the original
    body = stamped(alice, response)
    assert (body["processing"], body["watermarked_url"]) == ("failed", None)
    assert alice.client.get(body["original_url"], **alice.headers).status_code == 200


def test_a_truncated_jpeg_is_refused_in_english(personas, api_as, shop, now):
    alice = api_as(personas.alice, "en")
    visit = log_visit(alice, shop, now)
    whole = photo_bytes(taken_at=now.replace(tzinfo=None))
    response = post_evidence(alice, visit, "photo", whole[: len(whole) // 2])
    assert response.status_code == 400
    error = _only_error(response)
    assert error["code"] == "truncated"
    assert error["message"] == "The file is damaged or incomplete; upload it again."


def test_a_file_over_the_size_limit_is_refused(personas, api_as, shop, now, settings):
    settings.EVIDENCE_MAX_BYTES = 10_000
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "photo", photo_bytes(size=(2000, 1500)))
    assert response.status_code == 400
    assert _only_error(response)["code"] == "too_large"


def test_a_decompression_bomb_is_refused_before_it_is_decoded(personas, api_as, shop, now, settings):
    # given a limit of a million pixels and a small PNG file that decodes to 25 million
    settings.EVIDENCE_MAX_IMAGE_PIXELS = 1_000_000
    bomb = io.BytesIO()
    Image.new("1", (5000, 5000)).save(bomb, format="PNG")
    assert len(bomb.getvalue()) < 50_000
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "photo", bomb.getvalue(), name="bomb.png")
    assert response.status_code == 400
    assert _only_error(response)["code"] == "too_many_pixels"


def test_an_empty_file_is_refused(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "screenshot", b"", name="empty.png")
    assert response.status_code == 400
    assert _only_error(response)["code"] == "empty"


def test_a_picture_sent_as_a_recording_is_refused(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "audio", photo_bytes(), name="call.mp3")
    assert response.status_code == 400
    assert _only_error(response)["code"] == "unsupported_type"


def test_a_recording_over_the_length_limit_is_refused(personas, api_as, shop, now, settings):
    settings.EVIDENCE_MAX_AUDIO_SECONDS = 1
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "audio", wav_bytes(seconds=2), name="call.wav")
    assert response.status_code == 400
    assert _only_error(response)["code"] == "too_long"


@pytest.fixture(scope="module")
def speech() -> bytes:
    return spoken_wav()  # about 7.5 s


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "录音超过 5 秒。"), ("en", "The recording is longer than 5 seconds.")],
)
@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "m4a", "amr", "amr-wb"])
def test_a_compressed_recording_over_the_length_limit_is_refused(
    personas, api_as, shop, now, settings, speech, fmt, language, message
):
    # given a five-second limit and a 7.5 s recording (AMR: 375 frames of 20 ms)
    settings.EVIDENCE_MAX_AUDIO_SECONDS = 5
    if fmt.startswith("amr"):
        recording = amr_bytes([7] * 375, wideband=fmt == "amr-wb")
    else:
        recording = ffmpeg(speech, *FFMPEG_FORMATS[fmt])
    alice = api_as(personas.alice, language)
    visit = log_visit(alice, shop, now)
    # when alice uploads it
    response = post_evidence(alice, visit, "audio", recording, name=f"call.{fmt}")
    # then it is refused in her language and nothing is kept
    assert response.status_code == 400
    assert _only_error(response) == {"field": "file", "code": "too_long", "message": message}
    assert Evidence.objects.count() == 0


def test_a_recording_within_the_limit_is_kept_with_its_type(personas, api_as, shop, now, settings, speech):
    settings.EVIDENCE_MAX_AUDIO_SECONDS = 10
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    for recording, mime_type in [
        (ffmpeg(speech, *FFMPEG_FORMATS["m4a"]), "audio/mp4"),
        (amr_bytes([8] * 375, wideband=True), "audio/amr-wb"),
    ]:
        body = post_evidence(alice, visit, "audio", recording, name="call.bin").json()
        assert body["mime_type"] == mime_type
        assert fetch(alice, body["original_url"]) == recording


def test_a_recording_whose_header_is_cut_off_is_refused_in_english(personas, api_as, shop, now, speech):
    alice = api_as(personas.alice, "en")
    visit = log_visit(alice, shop, now)
    response = post_evidence(alice, visit, "audio", ffmpeg(speech, *FFMPEG_FORMATS["mp3"])[:100], name="call.mp3")
    assert response.status_code == 400
    assert _only_error(response) == {
        "field": "file",
        "code": "truncated",
        "message": "The file is damaged or incomplete; upload it again.",
    }


def test_an_unknown_kind_and_a_missing_file_are_refused(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    response = alice.client.post(f"/api/v1/actions/{visit}/evidence", {"kind": "video"}, **alice.headers)
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"kind", "file"}


# --- who may see and add -----------------------------------------------------------------------


def test_evidence_is_served_only_to_users_who_may_see_the_action(personas, api_as, shop, now):
    # given alice's visit photo
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    body = post_evidence(alice, visit, "photo", photo_bytes(taken_at=now.replace(tzinfo=None))).json()
    # then her supervisor may fetch it, bob (another team) and the finance assistant may not
    assert fetch(api_as(personas.sam), body["original_url"])
    for outsider in (personas.bob, personas.fay):
        for url in (body["original_url"], body["watermarked_url"], f"/api/v1/actions/{visit}/evidence"):
            response = api_as(outsider).client.get(url, **api_as(outsider).headers)
            assert response.status_code == 404, (outsider, url)
    anonymous = api_as(None).client.get(body["original_url"])
    assert anonymous.status_code == 401


def test_only_the_rep_who_logged_the_action_may_add_evidence(personas, api_as, shop, now):
    visit = log_visit(api_as(personas.alice), shop, now)
    picture = photo_bytes(taken_at=now.replace(tzinfo=None))
    assert post_evidence(api_as(personas.bob), visit, "photo", picture).status_code == 404
    assert post_evidence(api_as(personas.sam), visit, "photo", picture).status_code == 403
    assert Evidence.objects.count() == 0


def test_files_are_not_under_a_guessable_name(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    post_evidence(alice, visit, "photo", photo_bytes(), name="../../etc/passwd.jpg")
    name = str(Evidence.objects.get().original.name)
    assert name.startswith(f"evidence/{shop.pk}/")
    assert "passwd" not in name


# --- no orphan files ---------------------------------------------------------------------------


def stored_files(settings: Any) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_files_written_for_an_evidence_row_that_cannot_be_saved_are_deleted(
    personas, api_as, shop, now, settings, evidence_insert_fails
):
    # given a visit, and a database that refuses the evidence row once its files are written
    from django.db import IntegrityError

    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    # when a photo is uploaded
    with pytest.raises(IntegrityError, match="evidence refused"):
        post_evidence(alice, visit, "photo", photo_bytes(taken_at=now.replace(tzinfo=None)))
    # then neither file is left behind in storage
    assert Evidence.objects.count() == 0
    assert stored_files(settings) == []


def test_files_of_a_saved_evidence_row_are_kept(personas, api_as, shop, now, settings):
    alice = api_as(personas.alice)
    visit = log_visit(alice, shop, now)
    assert post_evidence(alice, visit, "photo", photo_bytes()).status_code == 201
    run_photo_worker()
    assert len(stored_files(settings)) == 2
