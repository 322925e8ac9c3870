"""manage.py import_data <kind> <file|folder> [--preset P] [--skip-bad-rows] [--dry-run] [--as USER]"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.imports.models import ImportJob, Kind
from salestrace.imports.presets import PRESETS
from salestrace.imports.services import full_import, import_job_create, import_run, maven_folder_import
from salestrace.org.models import Role, User


class Command(BaseCommand):
    help = (
        "Import a file in the SalesTrace format (kinds: teams, products, customers, deals, actions), "
        "or a whole maven-crm folder: import_data maven-crm <folder>."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[*Kind.values, "maven-crm", "full"])
        parser.add_argument("path")
        parser.add_argument("--preset", default="salestrace", choices=sorted(PRESETS))
        parser.add_argument("--skip-bad-rows", action="store_true", help="Write the good rows, report the others.")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument(
            "--as", dest="username", help="The importing admin or assistant (default: the first admin)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._importer(options["username"])
        path = Path(options["path"])
        started = time.monotonic()
        try:
            if options["kind"] == "full":
                if not path.is_file():
                    raise CommandError(f"{path} is not a file")
                jobs = full_import(
                    user=user, data=path.read_bytes(), now=clock.now(), skip_bad_rows=options["skip_bad_rows"]
                )
            elif options["kind"] == "maven-crm":
                if not path.is_dir():
                    raise CommandError(f"{path} is not a folder")
                jobs = maven_folder_import(
                    user=user,
                    folder=path,
                    now=clock.now(),
                    skip_bad_rows=options["skip_bad_rows"],
                    dry_run=options["dry_run"],
                )
            else:
                if not path.is_file():
                    raise CommandError(f"{path} is not a file")
                job = import_job_create(
                    user=user,
                    kind=options["kind"],
                    filename=path.name,
                    content=path.read_bytes(),
                    now=clock.now(),
                    preset=options["preset"],
                    skip_bad_rows=options["skip_bad_rows"],
                    dry_run=options["dry_run"],
                    run_in_background=False,
                )
                jobs = [import_run(job_id=job.pk, now=clock.now())]
        except DomainError as exc:
            raise CommandError("; ".join(f"{e.field or ''}: {e.message}" for e in exc.errors)) from None
        for job in jobs:
            self._report(job)
        self.stdout.write(
            f"{time.monotonic() - started:.1f} s" + (" (dry run: nothing written)" if options["dry_run"] else "")
        )
        if any(job.status != ImportJob.Status.DONE for job in jobs):
            raise CommandError("the import was refused; nothing of the refused file was written")

    def _importer(self, username: str | None) -> User:
        users = User.objects.filter(is_active=True)
        user = (
            users.filter(username=username).first()
            if username
            else users.filter(role=Role.ADMIN).order_by("pk").first() or users.filter(is_superuser=True).first()
        )
        if user is None:
            raise CommandError("no importing user: create an admin first, or name one with --as")
        return user

    def _report(self, job: ImportJob) -> None:
        self.stdout.write(
            f"{job.kind} ({job.original_name}, {job.encoding}): {job.status}; rows {job.total_rows}, "
            f"created {job.created_count}, updated {job.updated_count}, unchanged {job.skipped_count}, "
            f"failed {job.failed_count}"
        )
        if job.message:
            self.stdout.write(f"  {job.message}")
        for error in job.errors[:20]:
            self.stdout.write(f"  row {error['row']} {error['column']} {error['value']!r}: {error['message']}")
        if len(job.errors) > 20:
            self.stdout.write(f"  … {len(job.errors) - 20} more")
