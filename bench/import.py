"""Importing an action history (issue 13): how fast an assistant's actions.csv goes in.

    .venv/bin/python bench/import.py                        # SQLite, 1,000,000 action rows
    .venv/bin/python bench/import.py --postgres             # and PostgreSQL (salestrace_bench_import)
    .venv/bin/python bench/import.py --rows 50000           # a smaller file, to try it out

Each backend runs in a child process on a fresh database with the FMCG template. The bench writes,
with the product's own export format (docs/import-format.md): teams.csv (100 reps in 10 teams),
customers.csv (one customer per 50 actions), then an actions.csv of `--rows` rows — a visit or a
call every few days per customer over two years, the six fields by code, a next step on most, a
summary on some, occurred_at and logged_at; each customer moves through the template's open stages
over its 50 actions, as a history does, so about one action in ten changes a stage — and imports each as the worker does (`import_run` on
a job made by `import_job_create`: every row checked — a file this large in a child process while
the worker writes the parts it has checked — and written in one transaction). Measured: the wall
time of the actions import (rows/s), the process's peak memory before and after (flat means
streamed) and the checking process's peak, and, as a baseline in the same run, hand-written SQL inserting the same rows into
the action table (executemany in one transaction, no checks, no customer follow-up). Writes the
"## Import (issue 13)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.fresh_db import import_file, machine, replace_section, setup_django, vendor  # noqa: E402

SECTION = "## Import (issue 13)"
PG_DATABASE = "salestrace_bench_import"
TARGET_ROWS_PER_S = 10_000
REPS, TEAMS, ACTIONS_PER_CUSTOMER = 100, 10, 50


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ChildrenPeak(threading.Thread):
    """The largest peak memory (VmHWM) of this process's children while it runs: the import's
    checking process. (getrusage's children figure counts the parent's pages the child was
    started from, before its exec.)"""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.done.wait(0.5):
            try:
                children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
            except OSError:
                continue
            for pid in children:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def stop(self) -> float:
        self.done.set()
        self.join()
        return self.peak_kb / 1024


def _files(rows: int, seed: int = 7) -> tuple[bytes, bytes, bytes]:
    from salestrace.catalog.models import Option

    codes: dict[str, list[str]] = {}
    for set_code, code in Option.objects.filter(is_active=True).values_list("option_set__code", "code"):
        codes.setdefault(set_code, []).append(code)
    rng = random.Random(seed)
    teams = [["username", "display_name", "role", "team", "parent_team", "email"]]
    for i in range(REPS):
        teams.append([f"rep{i:03d}", f"销售{i:03d}", "rep", f"{i % TEAMS + 1}组", "华东大区", ""])
    customers_count = max(rows // ACTIONS_PER_CUSTOMER, 1)
    customers = [["external_id", "name", "kind", "owner", "team", "region", "city", "industry"]]
    for c in range(customers_count):
        customers.append([f"C{c}", f"门店{c}号", "store", f"rep{c % REPS:03d}", "", "华东", "南京", "快消零售"])
    start = datetime(2024, 12, 1, 9, 0)
    # Written row by row: a million rows as lists would cost the bench gigabytes of its own.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([
        "external_id", "customer_external_id", "deal_external_id", "rep", "occurred_at", "logged_at",
        "contact_method", "stage", "key_action", "obstacle", "next_step_plan", "next_step_date",
        "next_step_deliverable", "emotion", "summary",
    ])  # fmt: skip
    stages = codes["stage"][:-2]  # not won or lost: history of open customers
    span = 730 * 24 * 3600
    for a in range(rows):
        c = a % customers_count
        at = start + timedelta(seconds=int(span * (a // customers_count) / ACTIONS_PER_CUSTOMER) + rng.randint(0, 3600))
        logged = at + timedelta(minutes=rng.randint(1, 600))
        plan = rng.random() < 0.8
        writer.writerow([
            f"A{a}", f"C{c}", "", f"rep{c % REPS:03d}", at.strftime("%Y-%m-%d %H:%M:%S"),
            logged.strftime("%Y-%m-%d %H:%M:%S"), rng.choice(codes["contact_method"]),
            stages[min(len(stages) - 1, (a // customers_count) * len(stages) // ACTIONS_PER_CUSTOMER)],
            rng.choice(codes["key_action"]), rng.choice(codes["obstacle"] + [""]),
            "复访，确认陈列和补货" if plan else "", (at.date() + timedelta(days=3)).isoformat() if plan else "",
            "陈列照片" if plan else "", rng.choice(codes["emotion"]),
            "店长说下周有促销档期，想加两个堆头" if rng.random() < 0.3 else "",
        ])  # fmt: skip
    return _csv(teams), _csv(customers), buffer.getvalue().encode("utf-8")


def _baseline(content: bytes) -> float:
    """Hand-written SQL: the same rows straight into the action table (ids of the customers and reps
    looked up once), executemany in one transaction."""
    from django.db import connection, transaction

    from salestrace.actions.models import ActionLog
    from salestrace.imports.models import ExternalRef
    from salestrace.org.models import User

    reader = csv.reader(io.StringIO(content.decode("utf-8")))
    header = next(reader)
    customers = dict(ExternalRef.objects.filter(kind="customers").values_list("external_id", "object_id"))
    reps = dict(User.objects.values_list("username", "pk"))
    table = ActionLog._meta.db_table
    columns = [
        "customer_id", "rep_id", "occurred_at", "logged_at", "updated_at", "contact_method", "stage",
        "key_action", "obstacle", "next_step_plan", "next_step_date", "next_step_deliverable", "emotion",
        "summary", "source", "channel", "content_type", "response_strength", "edit_count",
    ]  # fmt: skip
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    index = {name: i for i, name in enumerate(header)}
    from django.utils import timezone

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        batch = []
        for row in reader:
            at = timezone.make_aware(datetime.fromisoformat(row[index["occurred_at"]]))
            logged = timezone.make_aware(datetime.fromisoformat(row[index["logged_at"]]))
            batch.append([
                customers[row[index["customer_external_id"]]], reps[row[index["rep"]]], at, logged, logged,
                row[index["contact_method"]], row[index["stage"]], row[index["key_action"]], row[index["obstacle"]],
                row[index["next_step_plan"]], row[index["next_step_date"]] or None,
                row[index["next_step_deliverable"]], row[index["emotion"]], row[index["summary"]], "imported",
                "", "", "", 0,
            ])  # fmt: skip
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def child(backend: str, rows: int, pg_database: str) -> dict[str, Any]:
    setup_django(backend, "bench_import" if backend == "sqlite" else pg_database)
    from salestrace.org.models import Role, User

    admin = User.objects.create_user(username="admin", password="x", role=Role.ADMIN, is_superuser=True)
    teams, customers, actions = _files(rows)
    import_file("teams", teams, admin)
    customers_s, customers_job = import_file("customers", customers, admin)
    rss_before = _max_rss_mb()
    checker_peak = ChildrenPeak()
    checker_peak.start()
    actions_s, actions_job = import_file("actions", actions, admin)
    rss_checker = checker_peak.stop()
    rss_after = _max_rss_mb()
    baseline_s = _baseline(actions)
    return {
        "backend": vendor(),
        "rows": actions_job.total_rows,
        "created": actions_job.created_count,
        "customers": customers_job.created_count,
        "customers_s": round(customers_s, 2),
        "actions_s": round(actions_s, 2),
        "rows_per_s": round(actions_job.created_count / actions_s),
        "baseline_s": round(baseline_s, 2),
        "baseline_rows_per_s": round(actions_job.created_count / baseline_s),
        "ratio": round(actions_s / baseline_s, 1),
        "rss_before_mb": round(rss_before),
        "rss_after_mb": round(rss_after),
        "rss_checker_mb": round(rss_checker),
        "file_mb": round(len(actions) / 1e6, 1),
    }


def write_section(results: list[dict[str, Any]], command: str, note: str = "written by the bench") -> None:
    day = datetime.now().strftime("%Y-%m-%d")
    lines = [
        SECTION,
        "",
        f"{day}, {machine()}. Command: `{command}` ({note}).",
        "",
        f"An actions.csv of {results[0]['rows']:,} rows ({results[0]['file_mb']} MB) for "
        f"{results[0]['customers']:,} customers of {REPS} reps, imported as the worker does: every row "
        "checked (in a child process while the worker writes what it has checked, on this file's size), "
        "then written through the import service in one transaction. Target: "
        f"≥ {TARGET_ROWS_PER_S:,} rows/s sustained on SQLite, memory flat.",
        "",
        "| database | rows/s | import | hand-written SQL insert (baseline) | ratio | peak memory before → after "
        "(checking process) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        # The target is SQLite's (the embedded default); PostgreSQL's figure stands beside it.
        if r["backend"].startswith("SQLite"):
            verdict = "✓" if r["rows_per_s"] >= TARGET_ROWS_PER_S else "✗ under target"
        else:
            verdict = "no target (beside SQLite's)"
        lines.append(
            f"| {r['backend']} | {r['rows_per_s']:,} | {r['actions_s']} s | {r['baseline_s']} s "
            f"({r['baseline_rows_per_s']:,} rows/s) | {r['ratio']}× | {r['rss_before_mb']} → {r['rss_after_mb']} MB "
            f"({r.get('rss_checker_mb', '–')} MB) "
            f"| {verdict} |"
        )
    lines += [
        "",
        "The customers.csv before it (no target; one service call a customer, with its duplicate check):",
        "",
        *(
            f"- {r['backend']}: {r['customers']:,} customers in {r['customers_s']} s "
            f"({round(r['customers'] / r['customers_s']):,} rows/s)"
            for r in results
        ),
    ]
    lines.append("")
    replace_section(ROOT / "docs" / "benchmarks.md", SECTION, "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--pg-database", default=PG_DATABASE)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--results-from",
        metavar="LOG",
        help="write the section from the result lines an earlier run printed (its stdout), without running",
    )
    args = parser.parse_args()
    if args.results_from:
        lines = Path(args.results_from).read_text(encoding="utf-8").splitlines()
        found = [json.loads(line) for line in lines if line.startswith("{")]
        backends = ["--postgres"] if any(r["backend"].startswith("PostgreSQL") for r in found) else []
        command = " ".join([".venv/bin/python", "bench/import.py", *backends])
        note = "written by the bench, from the results that run printed (`--results-from`)"
        write_section(found, command, note)
        return
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.pg_database), ensure_ascii=False))
        return
    results = []
    for backend in ["sqlite", *(["postgres"] if args.postgres else [])]:
        command = [sys.executable, __file__, "--child", backend, "--rows", str(args.rows)]
        command += ["--pg-database", args.pg_database]
        out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
    if not args.no_write:
        write_section(results, " ".join([".venv/bin/python", "bench/import.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
