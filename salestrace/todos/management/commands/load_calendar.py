"""manage.py load_calendar cn-2027 | path.yaml | path.csv [--all] [--draft YEAR]: the official holiday schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salestrace.catalog.packs import PACKS_DIR
from salestrace.core import clock
from salestrace.todos.compute import schedule_problem_text
from salestrace.todos.services import official_year_load
from salestrace.todos.workdays import ScheduleProblem, YearDef, parse_schedule_csv, read_schedule_yaml, statutory_draft

CALENDAR_DIR = PACKS_DIR / "calendar"


def _read(source: str, *, confirmed: bool) -> list[YearDef]:
    path = Path(source)
    if not path.suffix:
        path = CALENDAR_DIR / f"{source}.yaml"
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    problems: list[ScheduleProblem]
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".csv":
            years, problems = parse_schedule_csv(text, confirmed=confirmed, source=path.name)
        else:
            years, problems = read_schedule_yaml(text)
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: {exc.__class__.__name__}") from None
    if problems:
        lines = [schedule_problem_text(line=p.line, code=p.code, detail=p.detail) for p in problems]
        raise CommandError(f"{path}:\n  " + "\n  ".join(lines))
    return years


def _draft_yaml(year: int) -> str:
    draft = statutory_draft(year)
    head = (
        f"# DRAFT of {year} from the holidays package: statutory days off and its guessed substitute days only.\n"
        "# It has NO adjusted working days (调休). Complete it from the State Council notice (add the\n"
        "# `kind: work` Saturdays/Sundays and the extra days off), then set confirmed: true.\n"
        "calendar:\n"
        f"  year: {year}\n"
        "  confirmed: false\n"
        "  source: holidays package draft\n"
        "  days:\n"
    )
    return head + "".join(f"    - {{date: {d.day.isoformat()}, kind: {d.kind}, name: {d.name}}}\n" for d in draft.days)


class Command(BaseCommand):
    help = (
        "Load the official holiday schedule (days off and adjusted working days) from packs/calendar/<name>.yaml "
        "or a CSV file (date,kind,name); each year loaded replaces that year's days."
    )

    # The calendar check would warn about the very gap this command fills.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", help="cn-2027, or a .yaml / .csv path")
        parser.add_argument("--all", action="store_true", help=f"every file in {CALENDAR_DIR}")
        parser.add_argument("--unconfirmed", action="store_true", help="a CSV that is not the complete schedule yet")
        parser.add_argument("--draft", type=int, metavar="YEAR", help="print a YAML draft of YEAR from `holidays`")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["draft"]:
            self.stdout.write(_draft_yaml(options["draft"]), ending="")
            return
        sources = list(options["sources"])
        if options["all"]:
            sources += sorted(str(p) for p in CALENDAR_DIR.glob("*.yaml"))
        if not sources:
            raise CommandError("name a calendar (e.g. cn-2027), a file, or --all")
        years = [y for source in sources for y in _read(source, confirmed=not options["unconfirmed"])]
        now = clock.now()
        for year in years:
            official_year_load(year=year, now=now)
            off = sum(d.kind == "off" for d in year.days)
            state = "confirmed" if year.confirmed else "NOT confirmed"
            self.stdout.write(
                f"loaded {year.year} ({state}): {off} days off, {len(year.days) - off} adjusted working days"
            )
