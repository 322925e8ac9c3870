"""Every SQLite database gets the same settings, the default file and `DATABASE_URL=sqlite:///…` alike:
WAL, IMMEDIATE transactions and a busy timeout, so concurrent writers queue instead of failing.

Each settings case loads config/settings.py in a fresh interpreter with its own environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from salestrace.actions.models import ActionLog
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.org.services import api_token_create

ROOT = Path(__file__).resolve().parents[1]
PRINT_DATABASE = "import json; from config import settings; print(json.dumps(settings.DATABASES['default']))"


def database_with(env: dict[str, str]) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_PATH"}}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_DATABASE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_a_sqlite_database_url_gets_the_same_sqlite_settings_as_the_default(tmp_path: Path) -> None:
    # given the embedded default, and the same kind of file named by DATABASE_URL
    default = database_with({"SQLITE_PATH": str(tmp_path / "default.sqlite3")})
    by_url = database_with({"DATABASE_URL": f"sqlite:///{tmp_path / 'by-url.sqlite3'}"})
    # then both open with WAL, IMMEDIATE transactions and a 30 s busy timeout
    assert by_url["NAME"] == str(tmp_path / "by-url.sqlite3")
    assert by_url["OPTIONS"] == default["OPTIONS"]
    options = by_url["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] == 30
    assert "journal_mode=WAL" in options["init_command"]
    assert "busy_timeout=30000" in options["init_command"]


def test_a_postgresql_database_url_gets_no_sqlite_options() -> None:
    database = database_with({"DATABASE_URL": "postgresql://salestrace@127.0.0.1:5432/salestrace"})
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert "transaction_mode" not in database.get("OPTIONS", {})


# Twelve threads of one server process retry the same save at once, as a phone on a bad network does.
RETRIES = """
import json, os, sys, threading
import django
django.setup()
from django.db import connection
from django.test import Client

token, body = sys.argv[1], sys.argv[2]
results = [None] * 12
start = threading.Barrier(12)

def retry(i):
    client = Client(HTTP_AUTHORIZATION="Bearer " + token, raise_request_exception=False)
    start.wait()
    try:
        r = client.post("/api/v1/actions", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="phone-7-0001")
        is_json = r.headers.get("Content-Type", "").startswith("application/json")
        results[i] = [r.status_code, r.json().get("id") if is_json else None]
    finally:
        connection.close()

threads = [threading.Thread(target=retry, args=(i,)) for i in range(12)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(results))
"""


def _url_of_this_database() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_twelve_concurrent_retries_of_one_save_through_database_url_all_get_the_one_action(personas: Any) -> None:
    # given alice's token and customer, committed to this test database
    shop = make_customer(owner=personas.alice)
    _, token = api_token_create(user=personas.alice, now=datetime.now(ZoneInfo("Asia/Shanghai")))
    body = json.dumps(valid_price_negotiation(shop.pk, datetime.now(ZoneInfo("Asia/Shanghai"))), default=str)
    # when a server configured by DATABASE_URL gets twelve retries of the save at once
    env = {k: v for k, v in os.environ.items() if k not in {"SQLITE_PATH"}}
    env.update(DATABASE_URL=_url_of_this_database(), DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "-c", RETRIES, token, body],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    # then every retry is answered with the one action, none with "database is locked"
    assert sorted({status for status, _ in answers}) in ([200, 201], [201]), result.stderr[-3000:]
    assert len({action_id for _, action_id in answers}) == 1
    assert ActionLog.objects.filter(customer=shop).count() == 1
