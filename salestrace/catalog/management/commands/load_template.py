from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salestrace.catalog.packs import PackError, available_packs
from salestrace.catalog.services import template_load
from salestrace.core import clock


class Command(BaseCommand):
    help = "Load an industry template pack from packs/<pack>.yaml (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pack", help=f"one of: {', '.join(available_packs())}")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = template_load(code=options["pack"], now=clock.now())
        except PackError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"loaded {report.pack}: options +{report.options_created} ~{report.options_updated} "
            f"-{report.options_deactivated} (deactivated); rules +{report.rules_created} ~{report.rules_updated} "
            f"-{report.rules_deactivated} (deactivated)"
        )
