"""manage.py run_job <name> [--at "YYYY-MM-DD HH:MM"]: run one scheduled job now, as if at that local time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from salestrace.core import clock
from salestrace.core.schedule import JOBS


class Command(BaseCommand):
    help = (
        "Run one scheduled job now (e.g. re-run a missed 18:00 sweep: run_job daily_reminders --at '2026-11-26 18:00')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=sorted(JOBS), help="the job to run")
        parser.add_argument("--at", help='local time (Asia/Shanghai) to run as, "YYYY-MM-DD HH:MM"; default now')

    def handle(self, *args: Any, **options: Any) -> None:
        now = clock.now()
        if options["at"]:
            try:
                naive = datetime.strptime(options["at"].strip(), "%Y-%m-%d %H:%M")  # noqa: DTZ007 - local time, made aware below
            except ValueError:
                raise CommandError('--at must look like "2026-11-26 18:00" (local time)') from None
            now = timezone.make_aware(naive, timezone.get_default_timezone())
        handled = JOBS[options["name"]](now)
        local = timezone.localtime(now)
        self.stdout.write(f"{options['name']} at {local:%Y-%m-%d %H:%M %Z}: {handled} handled")
