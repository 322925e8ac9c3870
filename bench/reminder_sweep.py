"""The 18:00 reminder sweep for 10,000 reps (issue 5): budget ≤ 30 s, idempotent.

    .venv/bin/python bench/reminder_sweep.py                 # SQLite (var/bench_sweep.sqlite3)
    .venv/bin/python bench/reminder_sweep.py --postgres      # also PostgreSQL, database salestrace_bench_sweep

Each backend runs in a child process with a fresh database: 10,000 reps in 1,000 teams under 20
regions, 20 customers each, three working days of visits (8 a day per rep, 10% of today's entries
breaking a rule the admin added at noon), next steps due today on 2 customers per rep, and an open
follow-up due today for every third rep; WeCom group robots configured for every team. The sweep
queues inbox messages and deliveries (sending them is the outbox's work, bound by WeCom's
20 messages/minute per robot). It is timed, then run again to show that it sends nothing twice.
Writes the "## 18:00 reminder sweep (issue 5)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## 18:00 reminder sweep (issue 5)"
PG_URL = "postgresql://postgres@127.0.0.1:5432/salestrace_bench_sweep"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 26)  # a Thursday, an ordinary working day
REPS, TEAM_SIZE, CUSTOMERS_PER_REP, VISITS_PER_DAY = 10_000, 10, 20, 8


def child(backend: str) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    # every team gets a WeCom group robot (nothing listens there: the sweep only queues deliveries)
    os.environ["WECOM_WEBHOOK_URL"] = "http://127.0.0.1:9/cgi-bin/webhook/send?key=bench"
    os.environ["NOTIFY_ALLOWED_HOSTS"] = "http://127.0.0.1:9"  # a local stand-in, not WeCom's host
    from bench.fresh_db import setup_django, vendor

    setup_django(backend, "bench_sweep" if backend == "sqlite" else "salestrace_bench_sweep")

    built = time.perf_counter()
    counts = build_data()
    build_seconds = time.perf_counter() - built

    from salestrace.notify.models import Delivery, InboxMessage
    from salestrace.todos.jobs import daily_reminders

    now = datetime(DAY.year, DAY.month, DAY.day, 18, 0, tzinfo=SHANGHAI)
    started = time.perf_counter()
    teams = daily_reminders(now=now)
    first = time.perf_counter() - started
    messages, deliveries = InboxMessage.objects.count(), Delivery.objects.count()
    started = time.perf_counter()
    daily_reminders(now=now + timedelta(minutes=1))
    second = time.perf_counter() - started
    assert (InboxMessage.objects.count(), Delivery.objects.count()) == (messages, deliveries), "sent twice"
    return {
        "backend": backend,
        "vendor": vendor(),
        **counts,
        "build_seconds": round(build_seconds, 1),
        "teams": teams,
        "messages": messages,
        "deliveries": deliveries,
        "sweep_seconds": round(first, 2),
        "rerun_seconds": round(second, 2),
    }


def build_data() -> dict[str, int]:
    from django.db import transaction

    from salestrace.actions.models import ActionLog
    from salestrace.catalog.models import Rule
    from salestrace.customers.models import Customer
    from salestrace.org.models import Role, Team, User
    from salestrace.todos.models import Task

    rng = random.Random(5)
    at = datetime(2026, 11, 1, tzinfo=SHANGHAI)
    with transaction.atomic():
        company = Team.objects.create(name="公司", kind=Team.Kind.COMPANY)
        regions = Team.objects.bulk_create(
            [Team(name=f"大区{r:02d}", kind=Team.Kind.REGION, parent=company) for r in range(20)]
        )
        teams = Team.objects.bulk_create(
            [Team(name=f"{t:04d}组", kind=Team.Kind.TEAM, parent=regions[t % 20]) for t in range(REPS // TEAM_SIZE)]
        )
        users = User.objects.bulk_create(
            [
                User(
                    username=f"rep{i:05d}",
                    display_name=f"业务员{i:05d}",
                    role=Role.REP,
                    team=teams[i // TEAM_SIZE],
                    password="!",
                    email=f"rep{i:05d}@example.com",
                )
                for i in range(REPS)
            ],
            batch_size=2000,
        )
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    name=f"门店{u.pk}-{c}",
                    owner=u,
                    kind=Customer.Kind.STORE,
                    stage="needs_confirmed",
                    created_at=at,
                    updated_at=at,
                )
                for u in users
                for c in range(CUSTOMERS_PER_REP)
            ],
            batch_size=5000,
        )
    by_owner: dict[int, list[Customer]] = {}
    for c in customers:
        by_owner.setdefault(c.owner_id, []).append(c)
    actions: list[ActionLog] = []
    last_active: dict[int, datetime] = {}
    for back in (2, 1, 0):
        day = DAY - timedelta(days=back)
        for u in users:
            mine = by_owner[u.pk]
            for v in range(VISITS_PER_DAY):
                customer = mine[(v + back * VISITS_PER_DAY) % len(mine)]
                when = datetime(day.year, day.month, day.day, 9 + v, rng.randrange(60), tzinfo=SHANGHAI)
                plans_today = back == 1 and v < 2  # yesterday's first two visits plan a step for today
                actions.append(
                    ActionLog(
                        customer=customer,
                        rep=u,
                        occurred_at=when,
                        logged_at=when + timedelta(minutes=rng.randrange(5, 180)),
                        updated_at=when,
                        contact_method="visit",
                        stage="needs_confirmed",
                        key_action=rng.choice(["store_check", "shelf_display", "restock_order", "send_quote"]),
                        emotion="positive",
                        next_step_plan="补货并复查陈列" if plans_today else "",
                        next_step_date=DAY if plans_today else None,
                        next_step_deliverable="" if back == 0 and rng.random() < 0.1 else "补货单",
                    )
                )
                last_active[customer.pk] = max(last_active.get(customer.pk, when), when)
    with transaction.atomic():
        ActionLog.objects.bulk_create(actions, batch_size=5000)
        for c in customers:
            c.last_active_at = last_active.get(c.pk)
        Customer.objects.bulk_update(customers, ["last_active_at"], batch_size=5000)
        due = datetime(DAY.year, DAY.month, DAY.day, 18, tzinfo=SHANGHAI)
        Task.objects.bulk_create(
            [
                Task(
                    assignee=u,
                    title="报价已发出3个工作日，请跟进客户反馈",
                    due_at=due,
                    source=Task.Source.FOLLOW_UP,
                    customer=by_owner[u.pk][5],
                    created_at=at,
                    updated_at=at,
                    link="http://127.0.0.1:8000/customers/1/actions/new/",
                )
                for u in users[::3]
            ],
            batch_size=5000,
        )
        Rule.objects.create(
            code="visit_needs_deliverable",
            condition={"field": "contact_method", "equals": "visit"},
            requires=["next_step_deliverable"],
            message_zh="面访须填写交付物",
            message_en="A visit needs a deliverable",
        )
    return {"reps": len(users), "customers": len(customers), "actions": len(actions), "tasks": len(users[::3])}


def write_section(results: list[dict[str, object]], command: str) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.fresh_db import machine, replace_section

    path = ROOT / "docs" / "benchmarks.md"
    rows = "\n".join(
        f"| {r['vendor']} | {r['reps']:,} | {r['actions']:,} | {r['teams']:,} | {r['messages']:,} | {r['deliveries']:,} "
        f"| **{r['sweep_seconds']} s** | {r['rerun_seconds']} s |"
        for r in results
    )
    section = f"""{SECTION}

Budget: ≤ 30 s for 10,000 reps, idempotent. Run {date.today().isoformat()} on {machine()}.

Command: `{command}`

Data: 10,000 reps in 1,000 teams, 20 customers each, 8 visits a day per rep over three days,
next steps due today on 2 customers per rep, an open follow-up due today for every third rep,
10% of today's entries breaking a rule added at noon; a WeCom group robot for every team.
The sweep queues the inbox messages and deliveries (sending is the outbox's job, bound by
WeCom's 20 messages/minute per robot); the rerun a minute later must add nothing.

| database | reps | actions | teams | messages | deliveries queued | sweep | rerun |
|---|---|---|---|---|---|---|---|
{rows}
"""
    replace_section(path, SECTION, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL (salestrace_bench_sweep)")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    results = []
    for backend in ["sqlite", *(["postgres"] if args.postgres else [])]:
        out = subprocess.run(
            [sys.executable, __file__, "--child", backend], check=True, capture_output=True, text=True, cwd=ROOT
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(result)
        results.append(result)
    write_section(results, "python bench/reminder_sweep.py" + (" --postgres" if args.postgres else ""))


if __name__ == "__main__":
    main()
