"""Writes for the organisation: API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction

from salestrace.org.models import ApiToken, User

TOKEN_PREFIX = "st_"  # noqa: S105 - a public marker, not a secret
# Recording every use would turn each API read into a write; once a minute is enough to audit.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str = "", now: datetime) -> tuple[ApiToken, str]:
    """A new token for `user`; the plain text is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:8], digest=_digest(raw), created_at=now)
    return token, raw


def api_token_authenticate(*, raw: str, now: datetime) -> User | None:
    """The active user a bearer token belongs to, or None; notes when it was last used."""
    if not raw or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__team")
        .filter(digest=_digest(raw), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
