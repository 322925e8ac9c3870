from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salestrace.core import clock
from salestrace.org.models import User
from salestrace.org.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="what the token is for")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="days until it stops working (default: never)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['username']!r}")
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1")
        now = clock.now()
        expires_at = now + timedelta(days=days) if days else None
        _, raw = api_token_create(user=user, name=options["name"], expires_at=expires_at, now=now)
        self.stdout.write(raw)
