"""manage.py notify_reencrypt: encrypt every stored notification secret again under the first key.

Rotation: set NOTIFY_ENCRYPTION_KEY="NEW,OLD" (the new key first; keep the old ones, and SECRET_KEY,
unchanged), restart, run this, then remove OLD. Teams whose secrets no key opens are listed: an
admin types those secrets again in the team's channel settings.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from salestrace.notify.services import channel_settings_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every team's notification secrets under the first NOTIFY_ENCRYPTION_KEY (key rotation)."

    def handle(self, *args: Any, **options: Any) -> None:
        done = channel_settings_reencrypt()
        self.stdout.write(f"{done.rows} team channel settings re-encrypted under the first key")
        if done.unreadable_team_ids:
            ids = ", ".join(str(team_id) for team_id in done.unreadable_team_ids)
            raise CommandError(f"secrets of team(s) {ids} cannot be decrypted with any key: enter them again")
