"""Writes for the organisation: API tokens; people and teams brought in by an import."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from salestrace.core.errors import FieldError, PermissionDenied, RuleViolation
from salestrace.org.models import ApiToken, Role, Team, User
from salestrace.org.selectors import can_import, is_admin, live_tokens

TOKEN_PREFIX = "st_"  # noqa: S105 - a public marker, not a secret
# Recording every use would turn each API read into a write; once a minute is enough to audit.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, name: str = "", expires_at: datetime | None = None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for `user`; the plain text is returned once and never stored.

    A user holds at most SALESTRACE_API_TOKENS_PER_USER live tokens: past that, the least recently
    used ones (never used: by creation) are revoked, so a script that signs in on every run does not
    pile up keys to the account."""
    if expires_at is not None and expires_at <= now:
        raise RuleViolation([FieldError("expires_at", "in_the_past", _("The expiry must be in the future."))])
    # One mint at a time per user, so two concurrent sign-ins cannot both stay under the cap.
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    live = ApiToken.objects.filter(live_tokens(now), user=user)
    keep = settings.SALESTRACE_API_TOKENS_PER_USER - 1
    stale = list(live.order_by(Coalesce("last_used_at", "created_at"), "pk").values_list("pk", flat=True))
    if len(stale) > keep:
        ApiToken.objects.filter(pk__in=stale[: len(stale) - keep]).update(revoked_at=now)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=raw[:8], digest=_digest(raw), created_at=now, expires_at=expires_at
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, now: datetime) -> bool:
    """Revoke `token` from now on; False when it was already revoked (nothing changes)."""
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=now)
    if changed:
        token.revoked_at = now
    return bool(changed)


def api_token_authenticate(*, raw: str, now: datetime) -> User | None:
    """The active user a live bearer token belongs to, or None; notes when it was last used
    (at most once a minute, so reads stay reads)."""
    if not raw or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__team")
        .filter(live_tokens(now), digest=_digest(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- imports: people and teams from another system ------------------------------------------------


def _refuse_unless_importer(user: User) -> None:
    if not can_import(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins and assistants may import data."))])


@transaction.atomic
def team_import(*, by: User, name: str, parent: Team | None, kind: str = Team.Kind.TEAM) -> Team:
    """The team of that name under `parent`, created when missing (teams are named uniquely per parent)."""
    _refuse_unless_importer(by)
    if not name.strip():
        raise RuleViolation([FieldError("team", "required", _("The team needs a name."))])
    team, _created = Team.objects.get_or_create(parent=parent, name=name.strip()[:100], defaults={"kind": kind})
    return team


@transaction.atomic
def user_import(
    *, by: User, username: str, display_name: str, role: str, team: Team | None, email: str = ""
) -> tuple[User, str]:
    """Create or update a person from an import: (user, "created" | "updated" | "unchanged").

    A new person gets no usable password (an admin sets one, or they sign in another way). An
    existing person keeps their password and sign-in; only name, role, team and e-mail follow the
    file. Nobody is made a superuser, and an importer who is not an admin may not create admins."""
    _refuse_unless_importer(by)
    errors: list[FieldError] = []
    if role not in Role.values:
        errors.append(FieldError("role", "invalid_choice", _("Unknown role.")))
    if role == Role.ADMIN and not is_admin(by):
        errors.append(FieldError("role", "forbidden", _("Only an admin may create or change admins.")))
    if errors:
        raise RuleViolation(errors)
    user = User.objects.select_for_update().filter(username=username).first()
    values = {"display_name": display_name[:100], "role": role, "team": team, "email": email}
    if user is None:
        user = User(username=username, **values)
        user.set_unusable_password()
        user.save()
        return user, "created"
    if user.is_superuser and not is_admin(by):
        raise PermissionDenied([FieldError("username", "forbidden", _("Only an admin may change an admin."))])
    changed = [k for k, v in values.items() if v and getattr(user, k) != v]
    if not changed:
        return user, "unchanged"
    for name in changed:
        setattr(user, name, values[name])
    user.save(update_fields=changed)
    return user, "updated"
