"""Evidence in an S3-compatible bucket through django-storages, against a real S3 server (moto) on 127.0.0.1."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings
from moto.server import ThreadedMotoServer

from salestrace.actions.models import Evidence
from salestrace.actions.tests.evidence_files import photo_bytes, run_photo_worker, upload
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation

pytestmark = pytest.mark.django_db

BUCKET = "salestrace-evidence"
KEYS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret", "region_name": "cn-north-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> Iterator[Any]:
    """An empty private bucket, and the settings that point the default storage at it."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, **KEYS)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": KEYS["region_name"]})
    storages = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "access_key": KEYS["aws_access_key_id"],
                "secret_key": KEYS["aws_secret_access_key"],
                "region_name": KEYS["region_name"],
                "addressing_style": "path",
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_evidence_is_written_to_the_bucket_and_served_byte_for_byte(personas, api_as, now, bucket, tmp_path, settings):
    # given local files elsewhere, and alice's visit
    settings.MEDIA_ROOT = tmp_path / "local-media"
    alice = api_as(personas.alice)
    shop = make_customer(owner=personas.alice, name="联华超市(徐汇店)")
    response = alice.post("/actions", valid_price_negotiation(shop.pk, now - timedelta(minutes=30)))
    visit = response.json()["id"]
    photo = photo_bytes(taken_at=(now - timedelta(minutes=31)).replace(tzinfo=None))
    # when she uploads a visit photo through the API
    response = alice.client.post(
        f"/api/v1/actions/{visit}/evidence", {"kind": "photo", "file": upload("shelf.jpg", photo)}, **alice.headers
    )
    # then, once the worker has stamped it, the original and the stamped copy are objects in the
    # bucket, private, and nothing is on disk
    assert response.status_code == 201, response.content
    body = response.json()
    assert run_photo_worker() == 1
    evidence = Evidence.objects.get(pk=body["id"])
    keys = {item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {evidence.original.name, evidence.derivative.name}
    stored = bucket.get_object(Bucket=BUCKET, Key=evidence.original.name)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == body["sha256"]
    grants = bucket.get_object_acl(Bucket=BUCKET, Key=evidence.original.name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert not any("AllUsers" in g["Grantee"].get("URI", "") for g in grants)
    assert not (tmp_path / "local-media").exists()
    # and the API serves the original back from the bucket, byte for byte
    download = alice.client.get(body["original_url"], **alice.headers)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == photo
    assert download["Content-Type"] == "image/jpeg"
    # and a colleague from another team still cannot fetch it
    outsider = api_as(personas.bob)
    assert outsider.client.get(body["original_url"], **outsider.headers).status_code == 404


def test_a_signed_url_is_the_only_way_to_read_an_object_directly(bucket, s3_endpoint):
    # given a file saved through the default storage
    name = default_storage.save("evidence/1/call.wav", ContentFile(b"RIFF....WAVE"))
    # then it is not readable by its plain address, only with the time-limited signature
    plain = f"{s3_endpoint}/{BUCKET}/{name}"
    assert requests.get(plain, timeout=5).status_code == 403
    assert requests.get(default_storage.url(name), timeout=5).content == b"RIFF....WAVE"
    # and saving under the same name never replaces the first file
    again = default_storage.save("evidence/1/call.wav", ContentFile(b"other"))
    assert again != name


def test_the_orphan_sweep_lists_the_bucket_and_deletes_only_objects_no_row_names(
    personas, api_as, now, bucket, settings
):
    # given a stamped visit photo in the bucket, and an object a killed upload left behind
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from salestrace.actions.evidence_services import evidence_sweep_orphan_files

    settings.EVIDENCE_ORPHAN_GRACE_HOURS = 6
    alice = api_as(personas.alice)
    shop = make_customer(owner=personas.alice, name="联华超市(徐汇店)")
    visit = alice.post("/actions", valid_price_negotiation(shop.pk, now - timedelta(minutes=30))).json()["id"]
    alice.client.post(
        f"/api/v1/actions/{visit}/evidence",
        {"kind": "photo", "file": upload("shelf.jpg", photo_bytes())},
        **alice.headers,
    )
    run_photo_worker()
    lost = default_storage.save(f"evidence/{shop.pk}/lost.jpg", ContentFile(photo_bytes(seed=5)))
    # when the hourly sweep runs past the grace period
    swept = evidence_sweep_orphan_files(now=timezone.now() + timedelta(hours=7))
    # then the lost object is gone and the photo's two objects are kept
    evidence = Evidence.objects.get()
    keys = {item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert swept == 1
    assert keys == {evidence.original.name, evidence.derivative.name}
    assert lost not in keys
