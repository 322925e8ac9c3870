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

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['username']!r}")
        _, raw = api_token_create(user=user, name=options["name"], now=clock.now())
        self.stdout.write(raw)
