"""Load benchmark of logging sales actions through the real HTTP API (issue 2, DESIGN.md §6).

For each database (SQLite, PostgreSQL) it prepares a fresh database (migrate, FMCG template, a
modest demo team), starts gunicorn with 2 workers on a free loopback port, and runs closed-loop
clients (1, 4 and 50 at once; keep-alive HTTP connections, one rep token each) that post valid
actions to `POST /api/v1/actions`, each with a new `Idempotency-Key` as the phone sends it, and,
with the same clients, to the floor endpoint of bench/floor.py, which only authenticates and does
the same writes (the idempotency record included). Every level is bounded by a
request count and a time limit. After each level every acknowledged id (201) is looked up in the
database. The figures go to docs/benchmarks.md, section "Action save load (issue 2)".

Run from the repository root: `.venv/bin/python bench/load_actions.py [--db sqlite|postgres|both]`.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bodies import action_body, idempotency_key  # noqa: E402  (run as a script: the project root is not on the path yet)
from bench.fresh_db import replace_section  # noqa: E402

PYTHON = sys.executable
API_PATH = "/api/v1/actions"
FLOOR_PATH = "/bench/floor/actions"
SECTION = "## Action save load (issue 2)"
DOC_HEADER = "# Benchmarks\n\nMeasured figures, newest run per section. Each section says how to reproduce it.\n"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432"
SHANGHAI = timezone(timedelta(hours=8))
# Two stages taken in turn on each customer, so every save moves the stage (and writes history).
STAGES = ("price_negotiation", "contract_signing")
TARGETS = {"p50_1": 15.0, "p95_4": 50.0, "rate_50": 150.0, "ratio": 0.7}


# --- clients ----------------------------------------------------------------------------------


@dataclass
class ClientSpec:
    rep: str
    token: str
    customers: list[int]


@dataclass
class LevelResult:
    endpoint: str
    concurrency: int
    requests: int = 0
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    error_kinds: dict[str, int] = field(default_factory=dict)
    missing: int | None = None
    stopped_by: str = "count"

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]


def run_level(*, port: int, path: str, clients: list[ClientSpec], max_requests: int, time_limit: float) -> LevelResult:
    """Closed loop: each client sends its next request as soon as the previous answer is read."""
    result = LevelResult(endpoint=path, concurrency=len(clients))
    tickets = itertools.count()
    lock = threading.Lock()
    start_gate = threading.Barrier(len(clients) + 1)
    started = 0.0
    finished: list[float] = []

    def client_loop(spec: ClientSpec) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {spec.token}", "Content-Type": "application/json"}
        latencies: list[float] = []
        ids: list[int] = []
        kinds: dict[str, int] = {}
        visits = 0
        start_gate.wait()
        deadline = started + time_limit
        while True:
            if next(tickets) >= max_requests:
                break
            if time.perf_counter() >= deadline:
                with lock:
                    result.stopped_by = "time"
                break
            customer = spec.customers[visits % len(spec.customers)]
            stage = STAGES[(visits // len(spec.customers)) % len(STAGES)]
            visits += 1
            body = action_body(customer, stage)
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={**headers, "Idempotency-Key": idempotency_key()})
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                latencies.append((time.perf_counter() - t0) * 1000)
                kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            if status == 201:
                ids.append(int(json.loads(payload)["id"]))
            else:
                kind = f"HTTP {status}: {payload[:160].decode('utf-8', 'replace')}"
                kinds[kind] = kinds.get(kind, 0) + 1
        conn.close()
        with lock:
            finished.append(time.perf_counter())
            result.latencies_ms.extend(latencies)
            result.ids.extend(ids)
            for kind, n in kinds.items():
                result.error_kinds[kind] = result.error_kinds.get(kind, 0) + n

    threads = [threading.Thread(target=client_loop, args=(spec,), daemon=True) for spec in clients]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join(time_limit + 120)
    result.elapsed = max(finished, default=time.perf_counter()) - started
    result.requests = len(result.latencies_ms)
    result.ok = len(result.ids)
    result.errors = result.requests - result.ok
    return result


# --- the database helper, the server ------------------------------------------------------------


class DbTools:
    """bench/db_tools.py as a child process, one JSON line per command."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, str(ROOT / "bench" / "db_tools.py")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, cmd: str, **kwargs: Any) -> Any:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"db_tools exited during {cmd!r}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(f"db_tools {cmd}: {reply['error']}")
        return reply["result"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def start_gunicorn(env: dict[str, str], port: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        PYTHON,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]
    if threads > 1:
        cmd += ["--threads", str(threads)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            conn.getresponse().read()
            conn.close()
            return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port}; see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{PG_ADMIN_URL}/postgres", "-c", sql],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )


def cpu_busy(seconds: float) -> float:
    """Share of all CPUs busy over `seconds` (/proc/stat): other work on the machine while we idle."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_quiet(below: float, max_wait: float) -> float:
    """Wait up to `max_wait` seconds for other work to use less than `below` of the CPUs; the last sample."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy(0.3)
    while busy >= below and time.monotonic() < deadline:
        busy = cpu_busy(1.0)
    return busy


# --- one database ------------------------------------------------------------------------------


def bench_env(db: str, workdir: Path, pg_name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SQLITE_PATH"}}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings_floor",
        PYTHONPATH=str(ROOT),
        SALESTRACE_VAR_DIR=str(workdir),
        SQLITE_PATH=str(workdir / "bench.sqlite3"),
        HUEY_SQLITE_PATH=str(workdir / "huey.sqlite3"),
        STATIC_ROOT=str(workdir / "static"),
        LOG_LEVEL="WARNING",
        FAST_PASSWORD_HASHER="1",  # only speeds up seeding; the API is called with tokens
        DEBUG="0",
    )
    if db == "postgres":
        env["DATABASE_URL"] = f"{PG_ADMIN_URL}/{pg_name}"
    return env


def run_database(db: str, args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"salestrace-bench-{db}-"))
    env = bench_env(db, workdir, args.pg_database)
    (workdir / "static").mkdir()
    if db == "postgres":
        psql(f'drop database if exists "{args.pg_database}" with (force)')
        psql(f'create database "{args.pg_database}"')
    print(f"[{db}] preparing a fresh database in {workdir if db == 'sqlite' else args.pg_database}", flush=True)
    t0 = time.monotonic()
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_template", "fmcg")
    manage(
        env,
        "seed_demo",
        "--reps",
        str(args.reps),
        "--customers",
        str(args.customers),
        "--days",
        str(args.days),
        "--password",
        "demo",
        # Saves are measured, not photo stamping: no demo photos.
        "--photo-days",
        "0",
    )
    tools = DbTools(env)
    server: subprocess.Popen[bytes] | None = None
    try:
        info = tools.call("info")
        specs = [
            ClientSpec(c["rep"], c["token"], c["customers"]) for c in tools.call("clients", count=max(args.levels) + 1)
        ]
        probe, specs = specs[-1], specs[:-1]  # the probe client's customers are not used by the load
        queries = tools.call("queries", client={"token": probe.token, "customers": probe.customers})
        print(
            f"[{db}] {info['version']}, {info['customers']} customers, {info['actions']} actions; "
            f"queries per save: API {len(queries['api']['sql'])}, floor {len(queries['floor']['sql'])}; "
            f"setup {time.monotonic() - t0:.1f}s",
            flush=True,
        )
        port = free_port()
        server = start_gunicorn(env, port, args.threads, workdir / "gunicorn.log")
        for path in (API_PATH, FLOOR_PATH):  # warm both workers up: imports, connections, caches
            warm = run_level(port=port, path=path, clients=specs[:4], max_requests=80, time_limit=5)
            if warm.errors:
                raise RuntimeError(f"warm-up of {path} failed: {warm.error_kinds}")
        runs: list[LevelResult] = []
        background: list[float] = []
        budget = args.budget / len(args.dbs) - (time.monotonic() - t0)
        started, slowest = time.monotonic(), 0.0
        for repeat in range(args.repeat):
            used = time.monotonic() - started
            if repeat and used + slowest > budget:
                print(f"[{db}] stopping after {repeat} run(s): the time budget is spent", flush=True)
                break
            for level in args.levels:
                background.append(wait_quiet(args.quiet_below, args.quiet_wait))
                order = (API_PATH, FLOOR_PATH) if repeat % 2 == 0 else (FLOOR_PATH, API_PATH)
                for path in order:
                    res = run_level(
                        port=port,
                        path=path,
                        clients=specs[:level],
                        max_requests=args.requests[level],
                        time_limit=args.time_limit,
                    )
                    res.missing = tools.call("verify", ids=res.ids)["missing"]
                    runs.append(res)
                    name = "api  " if path == API_PATH else "floor"
                    print(
                        f"[{db}] run {repeat + 1} c={level:<2} {name} n={res.requests:<5} {res.rate:7.1f}/s "
                        f"p50 {res.pct(50):6.1f} ms p95 {res.pct(95):6.1f} ms errors {res.errors} "
                        f"missing {res.missing} (stopped by {res.stopped_by})",
                        flush=True,
                    )
                    for kind, n in sorted(res.error_kinds.items(), key=lambda kv: -kv[1])[:3]:
                        print(f"        {n} x {kind}", flush=True)
            slowest = max(slowest, time.monotonic() - started - used)
    finally:
        if server is not None:
            stop(server)
        tools.close()
        if db == "postgres" and not args.keep:
            psql(f'drop database if exists "{args.pg_database}" with (force)')
        if args.keep:
            print(f"[{db}] kept {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return {"db": db, "info": info, "queries": queries, "runs": runs, "background": background}


# --- the report --------------------------------------------------------------------------------


def summarize(runs: list[LevelResult], levels: list[int]) -> dict[tuple[str, int], dict[str, Any]]:
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for path in (API_PATH, FLOOR_PATH):
        for level in levels:
            mine = [r for r in runs if r.endpoint == path and r.concurrency == level]
            out[(path, level)] = {
                "runs": len(mine),
                "requests": sum(r.requests for r in mine),
                "rate": statistics.median(r.rate for r in mine),
                "rate_min": min(r.rate for r in mine),
                "rate_max": max(r.rate for r in mine),
                "p50": statistics.median(r.pct(50) for r in mine),
                "p95": statistics.median(r.pct(95) for r in mine),
                "errors": sum(r.errors for r in mine),
                "missing": sum(r.missing or 0 for r in mine),
                "stopped_by_time": sum(r.stopped_by == "time" for r in mine),
                # API over floor, paired run by run (they ran back to back), median over the runs
                "ratio": statistics.median(
                    a.rate / f.rate
                    for a, f in zip(
                        [r for r in runs if r.endpoint == API_PATH and r.concurrency == level],
                        [r for r in runs if r.endpoint == FLOOR_PATH and r.concurrency == level],
                        strict=True,
                    )
                ),
            }
    return out


def verdicts(summary: dict[tuple[str, int], dict[str, Any]], levels: list[int]) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    if 1 in levels:
        p50 = summary[(API_PATH, 1)]["p50"]
        out.append(("1 client: p50 ≤ 15 ms", f"{p50:.1f} ms", p50 <= TARGETS["p50_1"]))
    if 4 in levels:
        p95 = summary[(API_PATH, 4)]["p95"]
        out.append(("4 clients: p95 ≤ 50 ms", f"{p95:.1f} ms", p95 <= TARGETS["p95_4"]))
    top = max(levels)
    s = summary[(API_PATH, top)]
    ok = s["rate"] >= TARGETS["rate_50"] and s["errors"] == 0 and s["missing"] == 0
    out.append(
        (
            f"{top} clients: ≥ 150 saves/s, 0 errors, 0 missing",
            f"{s['rate']:.0f}/s, {s['errors']} errors, {s['missing']} missing",
            ok,
        )
    )
    for level in levels:
        ratio = summary[(API_PATH, level)]["ratio"]
        out.append((f"{level} client(s): throughput ≥ 0.7 × floor", f"{ratio:.3f}", ratio >= TARGETS["ratio"]))
    return out


def machine() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "ninja": version("django-ninja"),
        "kernel": platform.release(),
    }


def render(results: list[dict[str, Any]], args: argparse.Namespace, command: str, notes: str) -> str:
    m = machine()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    server = f"gunicorn {m['gunicorn']}, 2 workers, " + (
        f"gthread with {args.threads} threads each" if args.threads > 1 else "sync workers"
    )
    lines = [
        SECTION,
        "",
        f"- Date: {when}",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Linux {m['kernel']}; "
        "the load generator, gunicorn and the database server share it",
        f"- Software: Python {m['python']}, Django {m['django']}, django-ninja {m['ninja']}, "
        + ", ".join(r["info"]["version"] for r in results),
        f"- Server: {server}, on 127.0.0.1; settings `bench.settings_floor` (the normal settings plus the floor URL)",
        f"- Data: fresh database per run: migrate, `load_template fmcg`, `seed_demo --reps {args.reps} "
        f"--customers {args.customers} --days {args.days}`",
        "- Clients: closed loop, one thread each with a keep-alive `http.client` connection"
        + (
            " (gunicorn's sync workers answer `Connection: close`, so in fact every request opens a new "
            "loopback connection)"
            if args.threads <= 1
            else ""
        )
        + ", one rep token each and only that rep's own customers; each save alternates the customer "
        "between price_negotiation and contract_signing, so every save also writes a stage-history row; "
        "every save carries a new `Idempotency-Key`, as the phone sends it (API and floor both look it up "
        "and record it)",
        "- Bounds per level and endpoint: "
        + ", ".join(f"{lvl} client(s) {args.requests[lvl]} requests" for lvl in args.levels)
        + f", each at most {args.time_limit:g} s; API and floor interleaved; runs done: "
        + ", ".join(f"{r['db']} {len(r['runs']) // (2 * len(args.levels))} of {args.repeat}" for r in results)
        + "; figures are medians over the runs (errors and missing are totals; API/floor is the median "
        "of the per-run ratios)",
        "- Other work on the machine (share of all CPUs busy just before each level"
        + (
            f", after waiting up to {args.quiet_wait:g} s for it to drop below {args.quiet_below:.0%}"
            if args.quiet_wait
            else ""
        )
        + "): "
        + "; ".join(
            f"{r['db']} median {statistics.median(r['background']):.0%}, max {max(r['background']):.0%}"
            for r in results
            if r["background"]
        ),
        f"- Command: `{command}`",
        "",
        "| DB | clients | endpoint | requests | saves/s (median; min–max) | p50 ms | p95 ms | errors | missing acknowledged | API/floor throughput |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        summary = summarize(r["runs"], args.levels)
        for level in args.levels:
            for path, name in ((API_PATH, "API"), (FLOOR_PATH, "floor")):
                s = summary[(path, level)]
                ratio = f"{s['ratio']:.2f}" if path == API_PATH else ""
                lines.append(
                    f"| {r['db']} | {level} | {name} | {s['requests']} | {s['rate']:.0f} ({s['rate_min']:.0f}–{s['rate_max']:.0f}) "
                    f"| {s['p50']:.1f} | {s['p95']:.1f} | {s['errors']} | {s['missing']} | {ratio} |"
                )
    lines += ["", "Targets (DESIGN.md §6; API figures):", ""]
    lines += ["| DB | target | measured | result |", "|---|---|---|---|"]
    for r in results:
        for target, measured, ok in verdicts(summarize(r["runs"], args.levels), args.levels):
            lines.append(f"| {r['db']} | {target} | {measured} | {'pass' if ok else '**fail**'} |")
    kinds: dict[str, int] = {}
    for r in results:
        for run in r["runs"]:
            for kind, n in run.error_kinds.items():
                key = (
                    f"{r['db']}, {run.concurrency} client(s), {'API' if run.endpoint == API_PATH else 'floor'}: {kind}"
                )
                kinds[key] = kinds.get(key, 0) + n
    if kinds:
        lines += ["", "Errors seen:", ""]
        lines += [f"- {n} × {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:10]]
    lines += ["", "SQL statements per steady-state save (CaptureQueriesContext, one save of each kind):", ""]
    for r in results:
        q = r["queries"]
        lines.append(f"- {r['db']}: API {len(q['api']['sql'])}, floor {len(q['floor']['sql'])}")
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"


# --- command line ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--levels", default="1,4,50", help="client counts, comma-separated")
    parser.add_argument(
        "--requests",
        default="1:300,4:800,50:2000",
        help="request bound per level and endpoint, e.g. 1:300,4:800,50:2000",
    )
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per level and endpoint")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every level; medians are reported")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn --threads (1 = sync workers)")
    parser.add_argument("--reps", type=int, default=60)
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--budget", type=float, default=330.0, help="seconds for the whole run; later repeats are skipped past it"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each level, wait up to this many seconds for other work on the machine to calm down",
    )
    parser.add_argument("--quiet-below", type=float, default=0.3, help="what counts as calm: share of all CPUs busy")
    parser.add_argument("--pg-database", default="salestrace_bench")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    parser.add_argument("--notes", type=Path, help="a file with sentences to append to the section")
    parser.add_argument("--json", type=Path, help="also dump every run's figures here")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the gunicorn log")
    args = parser.parse_args(argv)
    args.dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    args.levels = sorted({int(x) for x in args.levels.split(",")})
    bounds = dict(item.split(":") for item in args.requests.split(","))
    args.requests = {int(k): int(v) for k, v in bounds.items()}
    for level in args.levels:
        args.requests.setdefault(level, 40 * level)
    if args.pg_database in {"test", "postgres", "template0", "template1"} or not args.pg_database.isidentifier():
        parser.error("--pg-database must be a plain name of a database the benchmark may drop")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = " ".join([".venv/bin/python", "bench/load_actions.py", *argv])
    t0 = time.monotonic()
    results = [run_database(db, args) for db in args.dbs]
    notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
    section = render(results, args, command, notes)
    print(f"\ntotal {time.monotonic() - t0:.0f} s\n")
    print(section)
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "db": r["db"],
                        "info": r["info"],
                        "queries": r["queries"],
                        "runs": [
                            {
                                "endpoint": x.endpoint,
                                "concurrency": x.concurrency,
                                "requests": x.requests,
                                "ok": x.ok,
                                "errors": x.errors,
                                "elapsed": x.elapsed,
                                "rate": x.rate,
                                "p50": x.pct(50),
                                "p95": x.pct(95),
                                "missing": x.missing,
                                "error_kinds": x.error_kinds,
                            }
                            for x in r["runs"]
                        ],
                    }
                    for r in results
                ],
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    if not args.no_write:
        replace_section(args.out, SECTION, section, header=DOC_HEADER)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
