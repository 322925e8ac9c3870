"""Where uploads go: local disk by default, a private S3-compatible bucket when S3_BUCKET is set.

Each case loads config/settings.py in a fresh interpreter with its own environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PRINT_DEFAULT_STORAGE = "import json; from config import settings; print(json.dumps(settings.STORAGES['default']))"


def settings_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("S3_")}
    return subprocess.run(
        [sys.executable, "-c", PRINT_DEFAULT_STORAGE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def default_storage_with(env: dict[str, str]) -> dict[str, Any]:
    result = settings_with(env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_uploads_stay_on_local_disk_without_a_bucket() -> None:
    assert default_storage_with({}) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_a_bucket_makes_uploads_private_s3_objects(tmp_path: Path) -> None:
    secret = tmp_path / "s3_secret"
    secret.write_text("from-a-file\n")
    storage = default_storage_with(
        {
            "S3_BUCKET": "evidence",
            "S3_ENDPOINT_URL": "https://oss-cn-shanghai.aliyuncs.com",
            "S3_ACCESS_KEY_ID": "AKID",
            "S3_SECRET_ACCESS_KEY_FILE": str(secret),
            "S3_REGION": "cn-shanghai",
            "S3_ADDRESSING_STYLE": "virtual",
        }
    )
    assert storage == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "evidence",
            "endpoint_url": "https://oss-cn-shanghai.aliyuncs.com",
            "access_key": "AKID",
            "secret_key": "from-a-file",
            "region_name": "cn-shanghai",
            "addressing_style": "virtual",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }


def test_unset_s3_keys_are_left_to_boto3() -> None:
    options = default_storage_with({"S3_BUCKET": "evidence"})["OPTIONS"]
    assert (options["endpoint_url"], options["access_key"], options["secret_key"]) == (None, None, None)
    assert (options["region_name"], options["addressing_style"]) == (None, None)


def test_a_misspelt_addressing_style_stops_the_start() -> None:
    result = settings_with({"S3_BUCKET": "evidence", "S3_ADDRESSING_STYLE": "paths"})
    assert result.returncode != 0
    assert "S3_ADDRESSING_STYLE must be auto, path or virtual, got 'paths'" in result.stderr
