"""manage.py export_data <folder> [--kind K ...]: every kind as <folder>/<kind>.csv, in the import format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from salestrace.core import clock
from salestrace.imports.exports import ORDER, csv_lines, full_export


class Command(BaseCommand):
    help = (
        "Write teams.csv, products.csv, customers.csv, deals.csv and actions.csv (UTF-8 with BOM) in the "
        "SalesTrace import format: import_data reads them back (docs/import-format.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder")
        parser.add_argument("--kind", action="append", choices=[str(k) for k in ORDER], help="Only these kinds.")
        parser.add_argument(
            "--zip",
            help="Write everything (settings, calendar and every kind) as one zip instead, which "
            "`import_data full <zip>` reads back into an empty install.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["zip"]:
            target = Path(options["zip"])
            with target.open("wb") as out:
                counts = full_export(out, now=clock.now())
            self.stdout.write(f"{target}: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()))
            return
        folder = Path(options["folder"])
        folder.mkdir(parents=True, exist_ok=True)
        for kind in options["kind"] or [str(k) for k in ORDER]:
            path = folder / f"{kind}.csv"
            rows = -1  # the header
            with path.open("w", encoding="utf-8", newline="") as out:
                for line in csv_lines(kind):
                    out.write(line)
                    rows += line != "\ufeff"
            self.stdout.write(f"{path}: {rows} rows")
