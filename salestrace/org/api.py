"""API tokens: exchange a password for one, list yours, revoke one (yours, or anyone's as an admin)."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from ninja.security import HttpBearer, SessionAuth

from salestrace.core import clock
from salestrace.core.api import ERRORS, IdPath
from salestrace.core.errors import DomainError, FieldError, NotFound
from salestrace.org.models import ApiToken
from salestrace.org.selectors import api_token_revocable_by, api_tokens_of
from salestrace.org.services import api_token_authenticate, api_token_create, api_token_revoke

router = Router(tags=["auth"])


class BearerToken(HttpBearer):
    """`Authorization: Bearer st_…` from `POST /auth/token` or `manage.py create_api_token`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(raw=token, now=clock.now())
        if user is not None:
            request.user = user
        return user


def api_auth() -> list[Any]:
    """Token first (machines), then the browser session with CSRF (our own pages)."""
    return [BearerToken(), SessionAuth()]


class TokenIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1, max_length=200)
    name: str = Field("", max_length=100, description="What the token is for, e.g. 'import script'.")
    expires_in_days: int | None = Field(
        None, ge=1, le=3650, description="Days until the token stops working; empty: until revoked."
    )


class TokenOut(Schema):
    token: str = Field(..., description="Shown once; send it as 'Authorization: Bearer <token>'.")
    id: int
    prefix: str
    username: str
    role: str
    expires_at: datetime | None


class TokenListOut(Schema):
    """A live token as its owner sees it: never the token itself, nor its hash."""

    id: int
    name: str
    prefix: str = Field(..., description="The first characters of the token, to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None = Field(..., description="Noted at most once a minute.")
    expires_at: datetime | None


class InvalidCredentials(DomainError):
    status = 401


@router.post("/token", auth=None, response={201: TokenOut, **ERRORS})
def create_token(request: HttpRequest, payload: TokenIn) -> tuple[int, TokenOut]:
    """Exchange a username and password for an API token.

    Failed attempts are counted per account and per client address (shared with the login page);
    past the limit the answer is 429 until the cool-off ends. A user keeps at most a set number of
    live tokens: creating one more revokes the least recently used."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None or not user.is_active:
        raise InvalidCredentials([FieldError(None, "invalid_credentials", _("Wrong username or password."))])
    # A sign-in like the login page's: last_login is set and the failure count starts over.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    now = clock.now()
    expires_at = now + timedelta(days=payload.expires_in_days) if payload.expires_in_days else None
    token, raw = api_token_create(user=user, name=payload.name, expires_at=expires_at, now=now)
    return 201, TokenOut(
        token=raw, id=token.pk, prefix=token.prefix, username=user.get_username(), role=user.role, expires_at=expires_at
    )


@router.get("/tokens", response={200: list[TokenListOut], **ERRORS})
def list_tokens(request: HttpRequest) -> list[ApiToken]:
    """Your live API tokens, newest first, with when each was last used."""
    return api_tokens_of(request.user, now=clock.now())  # type: ignore[arg-type]


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS})
def revoke_token(request: HttpRequest, token_id: IdPath) -> tuple[int, None]:
    """Revoke a token: one of your own, or anyone's as an admin. It answers 401 from then on."""
    now = clock.now()
    token = api_token_revocable_by(request.user, token_id, now=now)  # type: ignore[arg-type]
    if token is None:
        raise NotFound([FieldError(None, "not_found", _("Not found."))])
    api_token_revoke(token=token, now=now)
    return 204, None
