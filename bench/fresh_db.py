"""Shared by the sweep benchmarks: a fresh database in this process, and a line about the machine."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def setup_django(backend: str, name: str) -> None:
    """A fresh SQLite file var/<name>.sqlite3, or PostgreSQL database <name> (dropped and created), migrated, FMCG loaded."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.pop("REDIS_URL", None)
    if backend == "sqlite":
        path = ROOT / "var" / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ.pop("DATABASE_URL", None)
        os.environ["SQLITE_PATH"] = str(path)
    else:
        import psycopg

        if name == "test":
            raise SystemExit("never the test database")
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_template", "fmcg", verbosity=0)


def vendor() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version}"  # type: ignore[attr-defined]
    return f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"  # type: ignore[attr-defined]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def replace_section(path: Path, title: str, body: str, *, header: str = "# Benchmarks\n") -> None:
    """Put `body` (which starts with the `title` line) in place of that section of a Markdown file
    (made with `header` when it does not exist yet)."""
    text = path.read_text(encoding="utf-8") if path.exists() else header
    start = text.find(title)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(title))
        text = text[:start] + body + ("\n" + text[end + 1 :] if end != -1 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def company_bench_main(
    doc: str,
    script: str,
    *,
    pg_database: str,
    child: Callable[[str, float, int, str], dict[str, Any]],
    write_section: Callable[[list[dict[str, Any]], str], None],
) -> None:
    """The command line the company-scale benches share (analytics.py, health.py): each backend in a
    child process of its own (`--child`), `--scale`, `--rounds`, `--postgres`, `--no-write`, and
    `--from-json` to rewrite the section from the JSON lines a run printed."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--pg-database", default=pg_database, help="the PostgreSQL database to drop and build")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data (default 1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--from-json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pg_database in {"test", "postgres", "template0", "template1"} or not args.pg_database.isidentifier():
        parser.error("--pg-database must be a plain name of a database the benchmark may drop")
    name = Path(script).name
    if args.from_json:
        lines = Path(args.from_json).read_text(encoding="utf-8").splitlines()
        saved = [json.loads(line) for line in lines if line.startswith("{")]
        write_section(saved, " ".join([".venv/bin/python", f"bench/{name}", *saved[0].get("argv", [])]))
        return
    if args.child:
        result = child(args.child, args.scale, args.rounds, args.pg_database)
        print(json.dumps(result, ensure_ascii=False, default=str))
        return
    results = []
    for backend in ["sqlite", *(["postgres"] if args.postgres else [])]:
        command = [sys.executable, script, "--child", backend, "--scale", str(args.scale)]
        command += ["--rounds", str(args.rounds), "--pg-database", args.pg_database]
        out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["argv"] = sys.argv[1:]
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
    if not args.no_write:
        write_section(results, " ".join([".venv/bin/python", f"bench/{name}", *sys.argv[1:]]))


def company_of_reps(*, regions: int, teams: int, reps: int, email: bool = False) -> tuple[Any, list[Any], list[Any]]:
    """A company of `regions` regions holding `teams` teams (round robin) of `reps` reps in order
    (rep00000 …, named 业务员00000 …): (company, teams, reps). Call inside a transaction."""
    from salestrace.org.models import Role, Team, User

    company = Team.objects.create(name="公司", kind=Team.Kind.COMPANY)
    made_regions = Team.objects.bulk_create(
        [Team(name=f"大区{r:02d}", kind=Team.Kind.REGION, parent=company) for r in range(regions)]
    )
    made_teams = Team.objects.bulk_create(
        [Team(name=f"{t:04d}组", kind=Team.Kind.TEAM, parent=made_regions[t % regions]) for t in range(teams)]
    )
    per_team = max(1, reps // teams)
    users = User.objects.bulk_create(
        [
            User(
                username=f"rep{i:05d}",
                display_name=f"业务员{i:05d}",
                role=Role.REP,
                team=made_teams[min(i // per_team, teams - 1)],
                password="!",
                email=f"rep{i:05d}@example.com" if email else "",
            )
            for i in range(reps)
        ],
        batch_size=2000,
    )
    return company, made_teams, users


def import_file(kind: str, content: bytes, admin: Any) -> tuple[float, Any]:
    """Import one file of `kind` as the worker does (`import_run` on a job `import_job_create` made),
    timed: (seconds, job). Stops the bench when a row was refused."""
    import time

    from salestrace.core import clock
    from salestrace.imports.services import import_job_create, import_run

    now = clock.now()
    job = import_job_create(
        user=admin, kind=kind, filename=f"{kind}.csv", content=content, now=now, run_in_background=False
    )
    started = time.perf_counter()
    job = import_run(job_id=job.pk, now=now)
    elapsed = time.perf_counter() - started
    if job.status != "done" or job.failed_count:
        raise SystemExit(f"{kind}: {job.status} {job.message} {job.errors[:3]}")
    return elapsed, job
