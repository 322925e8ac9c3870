"""Database side of the load benchmark, run by load_actions.py as a child process.

It speaks JSON lines on stdin/stdout so the driver never imports Django itself (it switches
between SQLite and PostgreSQL by environment). Commands:

  {"cmd": "info"}                    database vendor and version
  {"cmd": "clients", "count": N}     N clients: a fresh API token each, one rep each (shared
                                     round-robin when there are fewer reps), disjoint customers
  {"cmd": "queries", "client": {..}} SQL statements of one API save and one floor save
  {"cmd": "verify", "ids": [...]}    how many of these ActionLog ids are missing
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_floor")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.bodies import action_body, idempotency_key  # noqa: E402
from salestrace.actions.models import ActionLog  # noqa: E402
from salestrace.customers.models import Customer  # noqa: E402
from salestrace.org.models import Role, User  # noqa: E402
from salestrace.org.services import api_token_create  # noqa: E402

API_PATH = "/api/v1/actions"
FLOOR_PATH = "/bench/floor/actions"


def info() -> dict[str, Any]:
    if connection.vendor == "sqlite":
        version = f"SQLite {sqlite3.sqlite_version}"
    else:
        with connection.cursor() as cursor:
            cursor.execute("show server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
    return {
        "vendor": connection.vendor,
        "version": version,
        "customers": Customer.objects.count(),
        "actions": ActionLog.objects.count(),
    }


def clients(count: int) -> list[dict[str, Any]]:
    reps = list(User.objects.filter(role=Role.REP, is_active=True).order_by("username"))
    if not reps:
        raise SystemExit("no reps: seed the database first")
    now = timezone.now()
    sharing: dict[int, list[int]] = {}
    for i in range(count):
        sharing.setdefault(reps[i % len(reps)].pk, []).append(i)
    out: list[dict[str, Any]] = []
    for i in range(count):
        rep = reps[i % len(reps)]
        owned = list(Customer.objects.filter(owner=rep).order_by("pk").values_list("pk", flat=True))
        group = sharing[rep.pk]
        mine = owned[group.index(i) :: len(group)]
        if not mine:
            raise SystemExit(f"{rep.username} has too few customers for {len(group)} clients")
        _, raw = api_token_create(user=rep, name=f"bench client {i}", now=now)
        out.append({"index": i, "rep": rep.username, "token": raw, "customers": mine})
    return out


def queries(client: dict[str, Any]) -> dict[str, Any]:
    """The SQL of a steady-state save (the token's last_used_at was just written) per endpoint."""
    http = Client(HTTP_AUTHORIZATION=f"Bearer {client['token']}")
    customer_id = client["customers"][0]
    out: dict[str, Any] = {}
    for name, path in (("api", API_PATH), ("floor", FLOOR_PATH)):
        statuses = []
        for stage in ("contract_signing", "price_negotiation"):
            with CaptureQueriesContext(connection) as captured:
                response = http.post(
                    path,
                    action_body(customer_id, stage),
                    content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY=idempotency_key(),
                )
            statuses.append(response.status_code)
        out[name] = {"statuses": statuses, "sql": [q["sql"] for q in captured.captured_queries]}
    return out


def verify(ids: list[int]) -> dict[str, Any]:
    wanted = set(ids)
    found: set[int] = set()
    chunk = 500
    ordered = sorted(wanted)
    for start in range(0, len(ordered), chunk):
        part = ordered[start : start + chunk]
        found.update(ActionLog.objects.filter(pk__in=part).values_list("pk", flat=True))
    return {"acknowledged": len(ids), "distinct": len(wanted), "missing": len(wanted - found)}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        cmd = request["cmd"]
        try:
            if cmd == "info":
                result: Any = info()
            elif cmd == "clients":
                result = clients(int(request["count"]))
            elif cmd == "queries":
                result = queries(request["client"])
            elif cmd == "verify":
                result = verify([int(i) for i in request["ids"]])
            else:
                raise ValueError(f"unknown command {cmd!r}")
            reply = {"ok": True, "result": result}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            connection.close()  # hold no connection (and no SQLite snapshot) between commands
        sys.stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
