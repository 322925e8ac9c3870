"""Deal analytics at a company's scale (issue 11): funnel, cycle time and top performers.

    .venv/bin/python bench/analytics.py                  # SQLite (var/bench_analytics.sqlite3)
    .venv/bin/python bench/analytics.py --postgres       # also PostgreSQL (database salestrace_bench_analytics)
    .venv/bin/python bench/analytics.py --scale 0.1      # a tenth of the data, to try it out

Each backend runs in a child process on a fresh database with the B2B template and the data of
bench/analytics_data.py: 1,000 reps in 100 teams, 200,000 customers, 300,000 deals with their
stage history, 5,000,000 actions. A director asks, through the HTTP API (Django's test client,
bearer token):

- `GET /api/v1/analytics/funnel` and `GET /api/v1/analytics/cycle-time` as the page opens them
  (the last 90 days), after the night job (`analysis_warm`, timed) computed them: a scope this
  large is answered from what was kept; then for the last year, which nobody asked for yet
  (answered `pending` at once; the worker's computation timed apart);
- `GET /api/v1/analytics/top-performers` for the last year: the first request queues the
  analysis; the huey task is then run as the consumer runs it (*full recompute*, timed), and
  the next requests are answered from its cache.

p50 of `--rounds` requests after one warm-up. Each is compared, in the same run, with
hand-written SQL giving the same figures: for the funnel, deals reaching each stage, won, lost,
open and won value (two GROUP BY statements); for cycle time, the engaged/closed dates and
outcome of every deal in the period (what a Kaplan–Meier fit needs); for the cached analysis,
reading its row. Writes the "## Deal analytics (issue 11)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Deal analytics (issue 11)"
PG_DATABASE = "salestrace_bench_analytics"
BUDGET_MS = 500
BUDGET_RATIO = 1.5
RECOMPUTE_BUDGET_S = 300


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return round((time.perf_counter() - start) * 1000, 1)


def _p50(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def child(backend: str, scale: float, rounds: int, pg_database: str) -> dict[str, object]:
    media = tempfile.mkdtemp(prefix="bench-analytics-")
    os.environ["MEDIA_ROOT"] = media
    os.environ["HUEY_SQLITE_PATH"] = os.path.join(media, "huey.sqlite3")
    sys.path.insert(0, str(ROOT))
    from bench.fresh_db import setup_django, vendor

    setup_django(backend, "bench_analytics" if backend == "sqlite" else pg_database)
    import time_machine
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from huey.contrib.djhuey import HUEY

    from bench.analytics_data import NOW, build
    from salestrace.analytics.models import AnalysisResult
    from salestrace.org.models import User
    from salestrace.org.services import api_token_create

    call_command("load_template", "b2b_industrial", verbosity=0)
    started = time.perf_counter()
    counts = build(scale)
    build_seconds = time.perf_counter() - started
    traveller = time_machine.travel(NOW, tick=True)
    traveller.start()
    director = User.objects.get(username="director")
    _, token = api_token_create(user=director, now=NOW)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    today = NOW.date()
    since, until = today - timedelta(days=365), today
    query = f"since={since.isoformat()}&until={until.isoformat()}"
    HUEY.flush()

    def api(path: str) -> dict[str, Any]:
        response = client.get(f"/api/v1/analytics/{path}?{query}")
        assert response.status_code == 200, response.content[:500]
        return dict(response.json())

    result: dict[str, Any] = {
        "vendor": vendor(),
        "counts": counts,
        "build_seconds": round(build_seconds, 1),
        "rounds": rounds,
        "load_before": round(os.getloadavg()[0], 1),
    }
    deal_t, history_t = "customers_deal", "customers_stagehistory"
    adapt = connection.ops.adapt_datefield_value

    # The night before: the company's default view (the last 90 days) computed by the 05:10 job.
    from salestrace.analytics.selectors import default_period
    from salestrace.analytics.services import analysis_warm

    started = time.perf_counter()
    warmed = analysis_warm(now=NOW)
    result["warm_s"] = round(time.perf_counter() - started, 1)
    result["warmed"] = warmed  # 0 below SALESTRACE_ANALYSIS_INLINE_DEALS deals (--scale): computed per request
    view = default_period(today)

    def page(path: str) -> dict[str, Any]:  # the director opens the page: the default period
        response = client.get(f"/api/v1/analytics/{path}")
        assert response.status_code == 200, response.content[:500]
        return dict(response.json())

    def funnel_sql(since: date = view.since, until: date = view.until) -> None:
        period = [adapt(since), adapt(until), adapt(since), adapt(until)]
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT outcome, COUNT(*), SUM(amount) FROM {deal_t} "
                "WHERE (engaged_on BETWEEN %s AND %s) OR (closed_on BETWEEN %s AND %s) OR outcome = 'open' "
                "GROUP BY outcome",
                period,
            )
            cur.fetchall()
            cur.execute(
                f"SELECT h.to_stage, COUNT(DISTINCT h.deal_id) FROM {history_t} h JOIN {deal_t} d ON d.id = h.deal_id "
                "WHERE (d.engaged_on BETWEEN %s AND %s) OR (d.closed_on BETWEEN %s AND %s) OR d.outcome = 'open' "
                "GROUP BY h.to_stage",
                period,
            )
            cur.fetchall()

    def cycle_sql(since: date = view.since, until: date = view.until) -> None:
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT owner_id, engaged_on, closed_on, outcome FROM {deal_t} "
                "WHERE (engaged_on BETWEEN %s AND %s) OR (closed_on BETWEEN %s AND %s) OR outcome = 'open'",
                [adapt(since), adapt(until), adapt(since), adapt(until)],
            )
            cur.fetchall()

    # A server that has answered anything before (here: one team's funnel, computed on request):
    # the first request a process serves pays for loading the API itself, not for the figures.
    from salestrace.org.models import Team

    warm_team = Team.objects.order_by("pk").values_list("pk", flat=True).first()
    assert client.get(f"/api/v1/analytics/funnel?team_id={warm_team}").status_code == 200
    # The morning's first request finds the night's result; later ones too (kept, refreshed by the worker).
    first_funnel = _timed(lambda: page("funnel"))
    result["funnel"] = {
        "first_ms": first_funnel,
        "api_ms": _p50(lambda: page("funnel"), rounds),
        "sql_ms": _p50(funnel_sql, rounds),
    }
    first_cycle = _timed(lambda: page("cycle-time"))
    result["cycle"] = {
        "first_ms": first_cycle,
        "api_ms": _p50(lambda: page("cycle-time"), rounds),
        "sql_ms": _p50(cycle_sql, rounds),
    }
    # A period nobody asked for yet (the last year): answered at once (pending), computed by the worker.
    HUEY.flush()
    cold: dict[str, float] = {}
    for path, key in (("funnel", "funnel"), ("cycle-time", "cycle")):
        answers: list[dict[str, Any]] = []
        cold[f"{key}_ms"] = _timed(lambda p=path, into=answers: into.append(api(p)))
        assert answers[0]["status"] == "pending", answers[0].get("status")
        started = time.perf_counter()
        while (task := HUEY.dequeue()) is not None:
            HUEY.execute(task)
        cold[f"{key}_worker_s"] = round(time.perf_counter() - started, 1)
        assert api(path)["status"] == "done"
    cold["funnel_sql_ms"] = _p50(lambda: funnel_sql(since, until), rounds)
    cold["cycle_sql_ms"] = _p50(lambda: cycle_sql(since, until), rounds)
    result["cold"] = cold

    # The top-performer analysis: asked for, computed by the worker, then answered from its cache.
    HUEY.flush()  # (nothing else is timed from the queue)
    first = client.get(f"/api/v1/analytics/top-performers?{query}")
    assert first.status_code == 200, first.content[:500]
    assert first.json()["status"] == "pending"
    started = time.perf_counter()
    done = 0
    while (task := HUEY.dequeue()) is not None:
        HUEY.execute(task)
        done += 1
    recompute = time.perf_counter() - started
    assert done == 1, f"one analysis queued, found {done}"
    top = api("top-performers")
    assert top["status"] == "done", top.get("status")
    row = AnalysisResult.objects.get(kind="top_performers")

    def cache_sql() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT payload FROM analytics_analysisresult WHERE id = %s", [row.pk])
            cur.fetchall()

    planted = [
        f
        for f in top["findings"]
        if f.get("code") == "share_customer_case" and f.get("kind") == "kth_contact" and f.get("significant")
    ]
    result["top"] = {
        "recompute_s": round(recompute, 1),
        "api_ms": _p50(lambda: api("top-performers"), rounds),
        "sql_ms": _p50(cache_sql, rounds),
        "findings": len(top["findings"]),
        "significant": sum(1 for f in top["findings"] if f.get("significant")),
        "planted_found": bool(planted),
        "speed_sentence": top.get("speed_sentence", ""),
    }
    result["load_after"] = round(os.getloadavg()[0], 1)
    traveller.stop()
    return result


def write_section(results: list[dict[str, Any]], command: str) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.fresh_db import machine, replace_section

    def verdict(ms: float, sql: float, first: float = 0.0, *, ratio_applies: bool = True) -> str:
        ok = max(ms, first) <= BUDGET_MS and (not ratio_applies or ms <= BUDGET_RATIO * max(sql, 0.1))
        return "✓" if ok else "✗"

    rows = []
    for r in results:
        for label, key in (("funnel", "funnel"), ("cycle time", "cycle"), ("top performers (cached)", "top")):
            m = r[key]
            ratio = m["api_ms"] / max(m["sql_ms"], 0.1)
            first = f"{m['first_ms']} ms" if "first_ms" in m else "(queued: see below)"
            cached = key == "top"  # no SQL computes Fisher tests: its baseline only reads the kept row
            rows.append(
                f"| {r['vendor']} | `{label}` | {first} | **{m['api_ms']} ms** | {m['sql_ms']} ms "
                f"| {ratio:.1f}×{' (n/a)' if cached else ''} "
                f"| {verdict(m['api_ms'], m['sql_ms'], m.get('first_ms', 0.0), ratio_applies=not cached)} |"
            )
    cold = "\n".join(
        f"- {r['vendor']}: the night job (funnel and cycle time of the company's last 90 days) took "
        f"**{r['warm_s']} s**. A period nobody asked for yet (the last 365 days) is answered at once, "
        f"`pending` (funnel {r['cold']['funnel_ms']} ms, cycle time {r['cold']['cycle_ms']} ms), and computed by "
        f"the worker: funnel **{r['cold']['funnel_worker_s']} s** (the hand-written SQL for that year "
        f"{r['cold']['funnel_sql_ms']} ms), cycle time **{r['cold']['cycle_worker_s']} s** (SQL {r['cold']['cycle_sql_ms']} ms); "
        f"the page looks again every 3 s, and later requests are answered from what was kept."
        for r in results
        if "cold" in r and "funnel_worker_s" in r["cold"]
    )
    recompute = "\n".join(
        f"- {r['vendor']}: full recompute of the top-performer analysis **{r['top']['recompute_s']} s** "
        f"(budget {RECOMPUTE_BUDGET_S} s: {'✓' if r['top']['recompute_s'] <= RECOMPUTE_BUDGET_S else '✗'}); "
        f"{r['top']['findings']} comparisons reported, {r['top']['significant']} with q < 0.05; the planted "
        f"pattern (a customer case at the 2nd contact of 方案对比) {'found' if r['top']['planted_found'] else 'NOT found'}. "
        f"Data built in {r['build_seconds']} s; load {r['load_before']} → {r['load_after']}. "
        f"Its headline: 「{r['top']['speed_sentence']}」"
        for r in results
    )
    c = results[0]["counts"] if results else {}
    body = f"""{SECTION}

Budget (issue 11): each endpoint ≤ {BUDGET_MS} ms (from its cache where it has one) and within {BUDGET_RATIO}× of
hand-written SQL giving the same figures in the same run; a full recompute of the top-performer
analysis ≤ {RECOMPUTE_BUDGET_S // 60} minutes. Run {date.today().isoformat()} on {machine()}.

Command: `{command}`

Data (bench/analytics_data.py, B2B template): {c.get("reps", 0):,} reps in teams of 10, {c.get("customers", 0):,}
customers, {c.get("deals", 0):,} deals with {c.get("stage_history", 0):,} stage changes, {c.get("actions", 0):,}
actions. Funnel and cycle time are tallied by the database (window functions, GROUP BY); a scope
over SALESTRACE_ANALYSIS_INLINE_DEALS deals is answered from what was kept. *First request*: a
director opens the page in the morning (the default period, the last 90 days), after the night job
computed it; *API p50*: of {results[0]["rounds"] if results else 0} more requests through the API (test client, bearer token).
*SQL*: hand-written SQL over the same period: the funnel's counts per outcome and per stage reached
(two GROUP BY statements); the dates and outcomes of the period's deals (what the Kaplan–Meier fit
reads); for the top performers (the last 365 days, computed by the worker), reading the cached
analysis's row. No hand-written SQL gives the top-performer figures (Fisher tests, odds ratios,
q-values): its row is held to the 500 ms alone, its ratio to a bare row read shown for what it is
(*n/a*). ✗ marks a result over a budget.

| database | endpoint | first request | API p50 | SQL p50 | ratio | within budget |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{cold}

{recompute}
"""
    replace_section(ROOT / "docs" / "benchmarks.md", SECTION, body)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.fresh_db import company_bench_main

    company_bench_main(__doc__ or "", __file__, pg_database=PG_DATABASE, child=child, write_section=write_section)


if __name__ == "__main__":
    main()
