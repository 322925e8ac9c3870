"""The 18:00 reminder for 10,000 reps (issues 5 and 10): queued in ≤ 30 s, accepted by the robots by 18:05.

    .venv/bin/python bench/reminder_sweep.py                 # SQLite (var/bench_sweep.sqlite3)
    .venv/bin/python bench/reminder_sweep.py --postgres      # also PostgreSQL, database salestrace_bench_sweep

Each backend runs in a child process with a fresh database: 10,000 reps in 1,000 teams under 20
regions, 20 customers each, three working days of visits (8 a day per rep, 10% of today's entries
breaking a rule the admin added at noon), next steps due today on 2 customers per rep, and an open
follow-up due today for every third rep. Two realistic setups run on that data, one after the other:

- `per-team robots`: every team has its own WeCom group robot;
- `company robot`: one WeCom group robot for the whole company (set in the environment).

A local WeCom robot server (salestrace/notify/tests/vendors.py) enforces the vendor's rules: 20
messages a minute per robot key (a sliding minute; over it, errcode 45009) and 4,096 bytes of
markdown. The sweep runs as at 18:00; the outbox then runs as huey runs it, once a minute from
18:01 with a 50 s budget (the 18:00 run, concurrent with the sweep, is not counted on). The bench
reports the time to queue, and the time until the vendor accepted the last message, checks that
each rep with gaps is named exactly once across everything the robot accepted, and that a rerun of
the sweep queues nothing. Writes the "## 18:00 reminder sweep (issue 5)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## 18:00 reminder sweep (issue 5)"
PG_URL = "postgresql://postgres@127.0.0.1:5432/salestrace_bench_sweep"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 26)  # a Thursday, an ordinary working day
REPS, TEAM_SIZE, CUSTOMERS_PER_REP, VISITS_PER_DAY = 10_000, 10, 20, 8
SETUPS = ("per-team robots", "company robot")
TICK_SECONDS, TICK_BUDGET, MAX_TICKS = 60, 50, 12  # huey's deliver tick: every minute, 50 s budget
REP_LINE = re.compile(r"业务员(\d{5})[：:]")  # zh, or en where translations are not compiled


def child(backend: str) -> list[dict[str, object]]:
    sys.path.insert(0, str(ROOT))
    # The robots are a local server (any port): a self-hosted gateway as far as the allow-list goes.
    os.environ["NOTIFY_ALLOWED_HOSTS"] = "http://127.0.0.1"
    from bench.fresh_db import setup_django, vendor

    setup_django(backend, "bench_sweep" if backend == "sqlite" else "salestrace_bench_sweep")
    from django.conf import settings

    for name in ("WECOM_WEBHOOK_URL", "WECOM_CORP_ID", "DINGTALK_WEBHOOK_URL", "FEISHU_WEBHOOK_URL"):
        setattr(settings, name, "")
    settings.NOTIFY_EMAIL_ENABLED = False

    built = time.perf_counter()
    counts = build_data()
    build_seconds = time.perf_counter() - built
    return [
        {"backend": backend, "vendor": vendor(), **counts, "build_seconds": round(build_seconds, 1), **run_setup(setup)}
        for setup in SETUPS
    ]


def run_setup(setup: str) -> dict[str, object]:
    """Configure the robots of `setup`, run the 18:00 sweep, then the outbox minute by minute."""
    from django.conf import settings

    from salestrace.notify.jobs import deliver_due
    from salestrace.notify.models import ChannelSettings, Delivery, InboxMessage
    from salestrace.notify.services import channel_settings_update
    from salestrace.notify.tests.vendors import VendorServer
    from salestrace.org.models import Team
    from salestrace.todos.jobs import daily_reminders
    from salestrace.todos.models import ReminderRun

    Delivery.objects.all().delete()
    InboxMessage.objects.all().delete()
    ReminderRun.objects.all().delete()
    ChannelSettings.objects.all().delete()
    settings.WECOM_WEBHOOK_URL = ""
    with VendorServer() as server:
        server.vendors.wecom_any_key = True
        hook = f"{server.base}/cgi-bin/webhook/send?key="
        if setup == "company robot":
            settings.WECOM_WEBHOOK_URL = hook + "company"
        else:
            for team in Team.objects.filter(kind=Team.Kind.TEAM):
                channel_settings_update(team=team, changes={"wecom_webhook_url": f"{hook}team-{team.pk}"})

        at = datetime(DAY.year, DAY.month, DAY.day, 18, 0, tzinfo=SHANGHAI)
        load = os.getloadavg()[0]  # other work on the machine slows the sweep: say how much there was
        started = time.time()

        def now() -> datetime:  # 18:00 when the sweep starts, moving with the real clock
            return at + timedelta(seconds=time.time() - started)

        teams = daily_reminders(now=now())
        sweep_seconds = time.time() - started
        messages, deliveries = InboxMessage.objects.count(), Delivery.objects.count()
        rerun_started = time.time()
        daily_reminders(now=now())
        rerun_seconds = time.time() - rerun_started
        assert (InboxMessage.objects.count(), Delivery.objects.count()) == (messages, deliveries), "queued twice"

        ticks = 0
        unsent = Delivery.objects.exclude(status=Delivery.Status.SENT)
        while unsent.exists() and ticks < MAX_TICKS:
            ticks += 1
            time.sleep(max(0.0, started + ticks * TICK_SECONDS - time.time()))
            deliver_due(now=now(), budget_seconds=TICK_BUDGET)
        vendors = server.vendors
        bodies = [b["markdown"]["content"] for b in vendors.bodies("wecom_group")]
        named = Counter(m for body in bodies for m in REP_LINE.findall(body))
        last = max(vendors.wecom_group_accepted_at, default=started) - started
    return {
        "setup": setup,
        "load": round(load, 1),
        "teams": teams,
        "messages": messages,
        "deliveries": deliveries,
        "sweep_seconds": round(sweep_seconds, 2),
        "rerun_seconds": round(rerun_seconds, 2),
        "robot_messages": len(bodies),
        "largest_bytes": max((len(b.encode()) for b in bodies), default=0),
        "refused_45009": vendors.wecom_group_refused,
        "reps_named": len(named),
        "reps_named_twice": sum(1 for n in named.values() if n > 1),
        "unsent": unsent.count(),
        "last_accepted_seconds": round(last, 1),
        "last_accepted_at": f"{at + timedelta(seconds=last):%H:%M:%S}",
    }


def build_data() -> dict[str, int]:
    from django.db import transaction

    from bench.fresh_db import company_of_reps
    from salestrace.actions.models import ActionLog
    from salestrace.catalog.models import Rule
    from salestrace.customers.models import Customer
    from salestrace.todos.models import Task

    rng = random.Random(5)
    at = datetime(2026, 11, 1, tzinfo=SHANGHAI)
    with transaction.atomic():
        _company, _teams, users = company_of_reps(regions=20, teams=REPS // TEAM_SIZE, reps=REPS, email=True)
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
        f"| {r['vendor']} | {r['setup']} | {r['load']} | {r['messages']:,} | {r['deliveries']:,} | **{r['sweep_seconds']} s** "
        f"| {r['rerun_seconds']} s | {r['robot_messages']:,} | {r['largest_bytes']:,} | {r['refused_45009']} "
        f"| {r['reps_named']:,} / {r['reps_named_twice']} | {r['unsent']} "
        f"| **{r['last_accepted_at']}** ({r['last_accepted_seconds']} s) |"
        for r in results
    )
    section = f"""{SECTION}

Budgets: the sweep queues everything in ≤ 30 s, idempotent; the vendors accept the last message by
18:05. Run {date.today().isoformat()} on {machine()}.

Command: `{command}`

Data: 10,000 reps in 1,000 teams (under 20 regions, one company: 1,021 teams), 20 customers each,
8 visits a day per rep over three days, next steps due today on 2 customers per rep, an open
follow-up due today for every third rep, 10% of today's entries breaking a rule added at noon.
Channels: none chosen by the reps, so each gets what their team has configured: a WeCom group
robot, either one per team (`per-team robots`) or one for the whole company (`company robot`).
Each rep's own list goes to their inbox (and personal channels, none configured here); each group
robot gets one digest per team per day (who has gaps and how many, a link), and a robot shared by
several teams gets their digests packed together, split only at WeCom's 4,096 bytes, so 20
messages a minute carry every team.

The robots are a local server that enforces WeCom's rules (20 messages a minute per robot key,
sliding; over it, errcode 45009; 4,096 bytes of markdown). The outbox runs as huey runs it: once a
minute from 18:01, each run with a 50 s budget. "Last accepted" is when the robot server accepted
the last message, counted from the start of the 18:00 sweep. "Reps named / twice" counts the reps
named in everything the robots accepted (each rep with gaps exactly once: 0 named twice).
"Load avg" is the machine's 1-minute load average just before the sweep (2 cores: above 2, other
work was competing for the CPU and the sweep time is inflated accordingly).

| database | setup | load avg | inbox messages | deliveries queued | sweep | rerun | robot messages | largest (bytes) | 45009 answers | reps named / twice | unsent | last accepted |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
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
    results: list[dict[str, object]] = []
    for backend in ["sqlite", *(["postgres"] if args.postgres else [])]:
        out = subprocess.run(
            [sys.executable, __file__, "--child", backend], check=True, capture_output=True, text=True, cwd=ROOT
        )
        found = json.loads(out.stdout.strip().splitlines()[-1])
        for result in found:
            print(result)
        results.extend(found)
    write_section(results, "python bench/reminder_sweep.py" + (" --postgres" if args.postgres else ""))


if __name__ == "__main__":
    main()
