"""The nightly lead-aging sweep over 1,000,000 customers (issue 6): budget ≤ 60 s, idempotent.

    .venv/bin/python bench/vitality_sweep.py               # SQLite (var/bench_vitality.sqlite3)
    .venv/bin/python bench/vitality_sweep.py --postgres    # also PostgreSQL, database salestrace_bench_vitality
    .venv/bin/python bench/vitality_sweep.py --postgres --pg-database h_me_vitality --per-rep 100 --no-write

Each backend runs in a child process with a fresh database: 1,000 reps in 100 teams, 1,000
customers each, last actions spread evenly over the past 60 days. Three runs are timed:

- catch-up: the first sweep after switching it on, when every customer idle past 30 days moves to
  the pool at once (about half of them) and everyone idle 15–30 days gets a wake-up task;
- rerun: the same night again, which must change nothing;
- nightly: the next night, when one day's worth of customers crosses each limit.

The baseline is the same state change done by hand-written SQL (one UPDATE of the customers and one
INSERT … SELECT of the pool moves) on a copy of the catch-up data, in the same run, so the ratio
does not depend on how busy the machine is. Writes "## Lead aging sweep (issue 6)" in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Lead aging sweep (issue 6)"
PG_DATABASE = "salestrace_bench_vitality"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 1, 30, tzinfo=SHANGHAI)
REPS, TEAM_SIZE = 1_000, 10
SPAN_SECONDS = 60 * 24 * 3600
ACTIONS_PER_CUSTOMER = 3
# Option codes of the FMCG template the action log is written with.
ACTION_CODES = {
    "contact_method": ("visit", "phone", "wechat", "email"),
    "key_action": ("store_check", "shelf_display", "restock_order", "promo_setup", "send_brochure", "send_quote"),
    "obstacle": ("", "budget_shortage", "shelf_space", "inventory_backlog", "competitor_interference"),
    "emotion": ("positive", "neutral", "resistant"),
}


def child(backend: str, customers_per_rep: int, pg_database: str = PG_DATABASE) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    # a WeCom group robot configured, as a live company has: wake-ups queue real deliveries (nothing listens)
    os.environ["WECOM_WEBHOOK_URL"] = "http://127.0.0.1:9/cgi-bin/webhook/send?key=bench"
    os.environ["NOTIFY_ALLOWED_HOSTS"] = "http://127.0.0.1:9"  # a local stand-in, not WeCom's host
    from bench.fresh_db import setup_django, vendor

    setup_django(backend, "bench_vitality" if backend == "sqlite" else pg_database)
    from django.db import connection, transaction

    started = time.perf_counter()
    total = build_data(customers_per_rep)
    build_seconds = time.perf_counter() - started

    from salestrace.customers.models import Customer, PoolMove
    from salestrace.todos.jobs import sweep_dormant, vitality_sweep, wakeups
    from salestrace.todos.models import Task

    # the baseline first, inside a transaction that is rolled back: same data, same state change
    adapt = connection.ops.adapt_datetimefield_value  # stored form: UTC on SQLite, aware on PostgreSQL
    with transaction.atomic():
        cutoff = NOW - timedelta(days=30)
        table, moves = Customer._meta.db_table, PoolMove._meta.db_table
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {moves} (customer_id, kind, at, from_owner_id, reason) "
                f"SELECT id, 'entered', %s, owner_id, 'idle' FROM {table} "
                "WHERE status = 'active' AND last_active_at < %s AND assigned_at < %s",
                [adapt(NOW), adapt(cutoff), adapt(cutoff)],
            )
            cur.execute(
                f"UPDATE {table} SET status = 'dormant', pool_entered_at = %s, updated_at = %s "
                "WHERE status = 'active' AND last_active_at < %s AND assigned_at < %s",
                [adapt(NOW), adapt(NOW), adapt(cutoff), adapt(cutoff)],
            )
        baseline = time.perf_counter() - started
        baseline_moved = PoolMove.objects.count()
        transaction.set_rollback(True)

    from salestrace.actions.models import ActionLog
    from salestrace.notify.models import Delivery, InboxMessage

    actions = ActionLog.objects.count()
    load = os.getloadavg()[0]  # other work on the machine inflates the wall-clock figures
    cpu = time.process_time()
    started = time.perf_counter()
    moved = sweep_dormant(now=NOW)
    dormant_seconds = time.perf_counter() - started
    started = time.perf_counter()
    woken = wakeups(now=NOW)
    wakeup_seconds = time.perf_counter() - started
    catch_up_cpu = time.process_time() - cpu
    counts = (Customer.objects.filter(status="dormant").count(), PoolMove.objects.count(), Task.objects.count())
    messages, deliveries = InboxMessage.objects.count(), Delivery.objects.count()

    started = time.perf_counter()
    again = vitality_sweep(now=NOW)
    rerun_seconds = time.perf_counter() - started
    assert again == 0, f"rerun handled {again}"
    assert counts == (Customer.objects.filter(status="dormant").count(), PoolMove.objects.count(), Task.objects.count())

    started = time.perf_counter()
    nightly = vitality_sweep(now=NOW + timedelta(days=1))
    nightly_seconds = time.perf_counter() - started
    return {
        "backend": backend,
        "vendor": vendor(),
        "customers": total,
        "actions": actions,
        "build_seconds": round(build_seconds, 1),
        "load": round(load, 1),
        "catch_up_seconds": round(dormant_seconds + wakeup_seconds, 1),
        "catch_up_cpu_seconds": round(catch_up_cpu, 1),
        "messages": messages,
        "deliveries": deliveries,
        "moved": moved,
        "baseline_moved": baseline_moved,
        "dormant_seconds": round(dormant_seconds, 2),
        "baseline_seconds": round(baseline, 2),
        "woken": woken,
        "wakeup_seconds": round(wakeup_seconds, 2),
        "rerun_seconds": round(rerun_seconds, 2),
        "nightly_handled": nightly,
        "nightly_seconds": round(nightly_seconds, 2),
    }


def build_data(customers_per_rep: int) -> int:
    """Teams, reps and supervisors through the ORM; customers and their action log with set-based SQL."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from salestrace.actions.models import ActionLog
    from salestrace.customers.models import Customer
    from salestrace.org.models import Role, Team, User

    password = make_password("bench")
    with transaction.atomic():
        company = Team.objects.create(name="公司", kind=Team.Kind.COMPANY)
        teams = Team.objects.bulk_create(
            [Team(name=f"团队{i}", kind=Team.Kind.TEAM, parent=company) for i in range(REPS // TEAM_SIZE)]
        )
        users = User.objects.bulk_create(
            [
                User(username=f"rep{i:04d}", password=password, role=Role.REP, team=teams[i // TEAM_SIZE])
                for i in range(REPS)
            ]
            + [
                User(username=f"sup{i:03d}", password=password, role=Role.SUPERVISOR, team=t)
                for i, t in enumerate(teams)
            ]
        )
    rep_ids = [u.pk for u in users if u.role == Role.REP]
    assert rep_ids == list(range(rep_ids[0], rep_ids[0] + REPS)), "rep ids are not contiguous"
    total = REPS * customers_per_rep
    sqlite = connection.vendor == "sqlite"
    now = connection.ops.adapt_datetimefield_value(NOW)

    def minus(seconds: str) -> str:
        """SQL for NOW minus an integer number of seconds, stored the way Django stores datetimes."""
        if sqlite:
            return f"datetime(%(now)s, '-' || ({seconds}) || ' seconds')"
        return f"(%(now)s::timestamptz - make_interval(secs => {seconds}))"

    numbers = (
        f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < {total - 1}) "
        if sqlite
        else f"WITH seq AS (SELECT n::bigint AS n FROM generate_series(0, {total - 1}) AS n) "
    )
    # "%%": this statement has parameters, so a literal % is doubled
    last = minus(f"(n * 7919) %% {SPAN_SECONDS}")  # spread evenly (deterministically) over the last 60 days
    created = minus(f"(n * 7919) %% {SPAN_SECONDS} + {30 * 86400}")
    customers = Customer._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            numbers + f"INSERT INTO {customers} (kind, name, name_pinyin, name_initials, region, city, industry, "
            "owner_id, stage, status, last_active_at, assigned_at, pool_entered_at, from_pool, wakeup_for, "
            "created_at, updated_at) "
            f"SELECT 'store', '客户' || n, 'kehu' || n, 'kh' || n, '', '', '', {rep_ids[0]} + n / {customers_per_rep}, "
            f"'needs_confirmed', 'active', {last}, {created}, NULL, FALSE, NULL, {created}, {last} FROM seq",
            {"now": now},
        )
    # The action log the wake-up digest reads: ACTIONS_PER_CUSTOMER per customer, the latest at its
    # last active time, the others a week apart before it; options vary from row to row.
    codes = ACTION_CODES
    step = 7 * 86400
    actions = ActionLog._meta.db_table

    def pick(option_set: str, expr: str) -> str:
        options = codes[option_set]
        whens = " ".join(f"WHEN {i} THEN '{code}'" for i, code in enumerate(options))
        return f"CASE ({expr}) % {len(options)} {whens} END"

    if sqlite:
        occurred = f"datetime(c.last_active_at, '-' || (k.k * {step}) || ' seconds')"
    else:
        occurred = f"(c.last_active_at - make_interval(secs => k.k * {step}))"
    ks = " UNION ALL ".join(f"SELECT {k} AS k" for k in range(ACTIONS_PER_CUSTOMER))
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {actions} (customer_id, rep_id, occurred_at, logged_at, contact_method, stage, "
            "key_action, obstacle, next_step_plan, next_step_date, next_step_deliverable, emotion, summary, "
            "channel, content_type, response_strength, updated_at, edit_count) "
            f"SELECT c.id, c.owner_id, {occurred}, {occurred}, {pick('contact_method', 'c.id + k.k')}, c.stage, "
            f"{pick('key_action', 'c.id * 3 + k.k')}, {pick('obstacle', 'c.id + 2 * k.k')}, '', NULL, '', "
            f"{pick('emotion', 'c.id + k.k')}, '', '', '', '', {occurred}, 0 "
            f"FROM {customers} c CROSS JOIN ({ks}) k"
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")  # as autovacuum / a nightly ANALYZE would have done on a live database
    return total


def write_section(results: list[dict[str, object]], command: str) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.fresh_db import machine, replace_section

    path = ROOT / "docs" / "benchmarks.md"
    rows = "\n".join(
        f"| {r['vendor']} | {r['customers']:,} | {r['actions']:,} | **{r['catch_up_seconds']} s** "
        f"| {r['catch_up_cpu_seconds']} s | {r['load']} | {r['moved']:,} | {r['dormant_seconds']} s "
        f"| {r['baseline_seconds']} s | {r['woken']:,} | {r['wakeup_seconds']} s | {r['messages']:,} / {r['deliveries']:,} "
        f"| {r['rerun_seconds']} s | {r['nightly_handled']:,} in {r['nightly_seconds']} s |"
        for r in results
    )
    section = f"""{SECTION}

Budget: ≤ 60 s for 1,000,000 customers, idempotent, the first night over an old log included.
Run {date.today().isoformat()} on {machine()}.

Command: `{command}`

Data: 1,000 reps in 100 teams (a supervisor each, a WeCom group robot configured), 1,000
customers per rep, last actions spread evenly over the last 60 days, {ACTIONS_PER_CUSTOMER} actions
per customer in the log (a week apart; the wake-up digest reads them). *Catch-up* is the first
night: every customer idle past 30 days goes to the dormant pool (a `PoolMove` each), every
customer idle 15–30 days gets a wake-up task with its history digest, CC'd to the supervisor;
each owner and supervisor gets one message listing them (inbox + robot delivery). Each batch of
`SALESTRACE_SWEEP_BATCH` customers commits on its own; on SQLite the sweep pauses 0.12 s every
`SALESTRACE_SWEEP_LOCK_MS` (1 s) so that phones' saves get in. *CPU* is this process's CPU time
over the catch-up (on SQLite the database works in this process too; PostgreSQL's server is not
counted); *load* is the machine's 1-minute load average when it started (other work on the same
2 cores stretches wall-clock time). *Baseline* does the pool move alone with two hand-written set
statements (one INSERT … SELECT, one UPDATE) on the same data in the same run. *Rerun* is the same
night again (must do nothing); *next night* is the night after.

| database | customers | actions | catch-up | CPU | load | to pool | pool move | baseline SQL | wake-ups | wake-up time | messages / deliveries | rerun | next night |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}
"""
    replace_section(path, SECTION, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL (see --pg-database)")
    parser.add_argument(
        "--pg-database", default=PG_DATABASE, help="the PostgreSQL database to drop and build (never `test`)"
    )
    parser.add_argument("--per-rep", type=int, default=1_000, help="customers per rep (1,000 reps)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pg_database in {"test", "postgres", "template0", "template1"} or not args.pg_database.isidentifier():
        parser.error("--pg-database must be a plain name of a database the benchmark may drop")
    if args.child:
        print(json.dumps(child(args.child, args.per_rep, args.pg_database)))
        return
    results = []
    for backend in ["sqlite", *(["postgres"] if args.postgres else [])]:
        out = subprocess.run(
            [
                *[sys.executable, __file__, "--child", backend],
                *["--per-rep", str(args.per_rep), "--pg-database", args.pg_database],
            ],
            check=True,
            stdout=subprocess.PIPE,  # the child's errors go straight to our stderr
            text=True,
            cwd=ROOT,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(result, flush=True)
        results.append(result)
    if not args.no_write:
        write_section(results, " ".join([".venv/bin/python", "bench/vitality_sweep.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
