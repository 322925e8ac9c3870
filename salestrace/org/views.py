"""The person's own API tokens: list them with their last use, create one, revoke one."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from salestrace.core import clock
from salestrace.org.forms import ApiTokenForm
from salestrace.org.models import User
from salestrace.org.selectors import api_token_revocable_by, api_tokens_of
from salestrace.org.services import api_token_create, api_token_revoke

# The raw token of the one just made, kept in the session only until the page after the redirect
# shows it: a reload of the page then shows nothing new and mints nothing (post/redirect/get).
NEW_TOKEN_SESSION_KEY = "org.new_api_token"  # noqa: S105 - a session key name, not a secret


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    """API tokens: the live ones with their last use; a new one is shown once, right after it is made."""
    user: User = request.user  # type: ignore[assignment]
    now = clock.now()
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        expires_at = now + timedelta(days=days) if days else None
        token, raw = api_token_create(user=user, name=form.cleaned_data["name"], expires_at=expires_at, now=now)
        request.session[NEW_TOKEN_SESSION_KEY] = {"id": token.pk, "raw": raw}
        return redirect("org:tokens")
    tokens = api_tokens_of(user, now=now)
    created = None
    if new := request.session.pop(NEW_TOKEN_SESSION_KEY, None):
        shown = next((t for t in tokens if t.pk == new.get("id")), None)
        created = {"token": shown, "raw": new.get("raw", "")} if shown is not None else None
    context = {"tokens": tokens, "form": form, "created": created}
    return render(request, "org/tokens.html", context)


@login_required
@require_POST
def token_revoke_page(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of your own tokens (an admin: anyone's); it stops working at once."""
    user: User = request.user  # type: ignore[assignment]
    now = clock.now()
    token = api_token_revocable_by(user, token_id, now=now)
    if token is None:
        raise Http404
    api_token_revoke(token=token, now=now)
    messages.success(request, _("Token %(prefix)s… revoked.") % {"prefix": token.prefix})
    return redirect("org:tokens")
