from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from ninja.throttling import AnonRateThrottle

from salestrace.core import clock
from salestrace.core.api import ERRORS
from salestrace.core.errors import DomainError, FieldError
from salestrace.org.services import api_token_create

router = Router(tags=["auth"])


class TokenIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1, max_length=200)
    name: str = Field("", max_length=100, description="What the token is for, e.g. 'import script'.")


class TokenOut(Schema):
    token: str = Field(..., description="Shown once; send it as 'Authorization: Bearer <token>'.")
    prefix: str
    username: str
    role: str


class InvalidCredentials(DomainError):
    status = 401


@router.post("/token", auth=None, response={201: TokenOut, **ERRORS}, throttle=[AnonRateThrottle("30/m")])
def create_token(request: HttpRequest, payload: TokenIn) -> tuple[int, TokenOut]:
    """Exchange a username and password for an API token."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None or not user.is_active:
        raise InvalidCredentials([FieldError(None, "invalid_credentials", _("Wrong username or password."))])
    token, raw = api_token_create(user=user, name=payload.name, now=clock.now())
    return 201, TokenOut(token=raw, prefix=token.prefix, username=user.get_username(), role=user.role)
