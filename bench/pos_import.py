"""Importing the POS's redemptions (issue 14): how fast a redemptions.csv goes in.

    .venv/bin/python bench/pos_import.py                    # SQLite, 1,000,000 rows
    .venv/bin/python bench/pos_import.py --postgres         # and PostgreSQL (salestrace_bench_pos)
    .venv/bin/python bench/pos_import.py --rows 100000      # a smaller file, to try it out

Each backend runs in a child process on a fresh database with the FMCG template: one rep owning
1,000 stores (imported from customers.csv), a 满299减50 promotion over all of them for 120 days, and
a redemptions.csv of `--rows` rows in the product's import format (one row per store, day and till:
receipts and the discount given), imported as the worker does (`import_run`: every row checked,
then written a set at a time in one transaction). Measured: rows/s of the import, the process's peak
memory before and after, and as a baseline in the same run hand-written SQL inserting the same rows
into the redemption table (executemany in one transaction, ids looked up once, no checks). The
target is the import issue's: ≥ 10,000 rows/s. Writes "## POS redemption import (issue 14)" in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.fresh_db import import_file, machine, replace_section, setup_django, vendor  # noqa: E402

SECTION = "## POS redemption import (issue 14)"
PG_DATABASE = "salestrace_bench_pos"
STORES, DAYS, TARGET_ROWS_PER_S = 1_000, 120, 10_000
FIRST_DAY = date(2026, 8, 1)


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _redemptions(rows: int, seed: int = 14) -> bytes:
    rng = random.Random(seed)
    tills = max(1, -(-rows // (STORES * DAYS)))
    lines = [["external_id", "promotion", "store_external_id", "day", "receipts", "discount"]]
    n = 0
    for till in range(tills):
        for d in range(DAYS):
            day = (FIRST_DAY + timedelta(days=d)).isoformat()
            for s in range(STORES):
                if n == rows:
                    return _csv(lines)
                receipts = rng.randint(1, 40)
                lines.append([f"POS-{s}-{day}-{till}", "双十二", f"S{s}", day, str(receipts), f"{receipts * 50}.00"])
                n += 1
    return _csv(lines)


def _baseline(content: bytes, promotion_id: int) -> float:
    """Hand-written SQL: the same rows straight into the redemption table, executemany in one transaction."""
    from django.db import connection, transaction

    from salestrace.field.models import Redemption
    from salestrace.imports.models import ExternalRef

    reader = csv.reader(io.StringIO(content.decode("utf-8")))
    next(reader)
    stores = dict(ExternalRef.objects.filter(kind="customers").values_list("external_id", "object_id"))
    columns = [
        "promotion_id",
        "store_id",
        "day",
        "receipts",
        "discount_total",
        "source",
        "member_phone",
        "external_id",
        "created_at",
    ]
    sql = f"INSERT INTO {Redemption._meta.db_table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    now = datetime.now().astimezone()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        batch = []
        for ext, _promotion, store, day, receipts, discount in reader:
            batch.append(
                [promotion_id, stores[store], day, int(receipts), Decimal(discount), "pos", "", ext + "-sql", now]
            )
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(backend: str, rows: int, pg_database: str) -> dict[str, Any]:
    setup_django(backend, "bench_pos" if backend == "sqlite" else pg_database)
    from salestrace.core import clock
    from salestrace.field.promotion_services import PromotionInput, promotion_create
    from salestrace.org.models import Role, User

    admin = User.objects.create_user(username="admin", password="x", role=Role.ADMIN, is_superuser=True)
    User.objects.create_user(username="rep", password="x", role=Role.REP)
    customers = _csv(
        [["external_id", "name", "kind", "owner"], *([f"S{s}", f"门店{s:04d}", "store", "rep"] for s in range(STORES))]
    )
    import_file("customers", customers, admin)
    from salestrace.customers.models import Customer

    promotion = promotion_create(
        user=admin,
        data=PromotionInput(
            "双十二",
            "满299减50",
            FIRST_DAY,
            FIRST_DAY + timedelta(days=DAYS - 1),
            list(Customer.objects.values_list("pk", flat=True)),
        ),
        now=clock.now(),
    )
    content = _redemptions(rows)
    rss_before = _max_rss_mb()
    seconds, job = import_file("redemptions", content, admin)
    rss_after = _max_rss_mb()
    baseline = _baseline(content, promotion.pk)
    return {
        "backend": vendor(),
        "rows": job.total_rows,
        "created": job.created_count,
        "seconds": round(seconds, 2),
        "rows_per_s": round(job.created_count / seconds),
        "baseline_s": round(baseline, 2),
        "baseline_rows_per_s": round(job.created_count / baseline),
        "ratio": round(seconds / baseline, 1),
        "rss_before_mb": round(rss_before),
        "rss_after_mb": round(rss_after),
        "file_mb": round(len(content) / 1e6, 1),
    }


def write_section(results: list[dict[str, Any]], command: str) -> None:
    day = datetime.now().strftime("%Y-%m-%d")
    lines = [
        SECTION,
        "",
        f"{day}, {machine()}. Command: `{command}` (written by the bench).",
        "",
        f"A redemptions.csv of {results[0]['rows']:,} rows ({results[0]['file_mb']} MB: {STORES:,} stores × {DAYS} days × tills) "
        "for one 满299减50 promotion, imported as the worker does: every row checked, then written a set at a "
        f"time in one transaction. Target (the import issue's): ≥ {TARGET_ROWS_PER_S:,} rows/s, memory flat.",
        "",
        "| database | rows/s | import | hand-written SQL insert (baseline) | ratio | peak memory before → after | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ok = r["rows_per_s"] >= TARGET_ROWS_PER_S
        lines.append(
            f"| {r['backend']} | {r['rows_per_s']:,} | {r['seconds']} s | {r['baseline_s']} s "
            f"({r['baseline_rows_per_s']:,} rows/s) | {r['ratio']}× | {r['rss_before_mb']} → {r['rss_after_mb']} MB "
            f"| {'✓' if ok else '✗ under the target'} |"
        )
    lines.append("")
    replace_section(ROOT / "docs" / "benchmarks.md", SECTION, "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--pg-database", default=PG_DATABASE)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pg_database in {"test", "postgres", "template0", "template1"} or not args.pg_database.isidentifier():
        parser.error("--pg-database must be a plain name of a database the benchmark may drop")
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.pg_database), ensure_ascii=False))
        return
    results = []
    for backend in ["sqlite", *(["postgres"] if args.postgres else [])]:
        command = [
            sys.executable,
            __file__,
            "--child",
            backend,
            "--rows",
            str(args.rows),
            "--pg-database",
            args.pg_database,
        ]
        out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
    if not args.no_write:
        write_section(results, " ".join([".venv/bin/python", "bench/pos_import.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
