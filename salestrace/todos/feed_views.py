"""The calendar feed: a secret .ics address of a person's tasks and next steps, and the page that
makes (once shown), replaces and stops it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from salestrace.core import clock
from salestrace.org.models import User
from salestrace.todos.ics import feed_bytes
from salestrace.todos.selectors import absolute, calendar_entries, calendar_feed_get, calendar_feed_live
from salestrace.todos.services import calendar_feed_create, calendar_feed_revoke, calendar_feed_used

NEW_FEED_SESSION_KEY = "todos.new_calendar_feed"


@require_GET
def feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The .ics itself: no sign-in (a phone calendar cannot), the token in the address is the key."""
    feed = calendar_feed_get(token)
    if feed is None:
        raise Http404
    now = clock.now()
    calendar_feed_used(feed=feed, now=now)
    name = _("SalesTrace · %(name)s") % {"name": feed.user}
    body = feed_bytes(calendar_entries(user=feed.user, now=now), name=name, now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="salestrace.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def feed_page(request: HttpRequest) -> HttpResponse:
    """日历订阅: make the address (shown once), replace it, or stop it."""
    user: User = request.user  # type: ignore[assignment]
    now = clock.now()
    if request.method == "POST":
        if request.POST.get("do") == "revoke":
            if calendar_feed_revoke(user=user, now=now):
                messages.success(
                    request, _("The calendar address is stopped; calendars subscribed to it get nothing more.")
                )
        else:
            _feed, raw = calendar_feed_create(user=user, now=now)
            request.session[NEW_FEED_SESSION_KEY] = raw
        return redirect("todos:calendar_feed")
    url = None
    if raw := request.session.pop(NEW_FEED_SESSION_KEY, None):
        url = absolute(reverse("todos:calendar_feed_ics", args=[raw]))
    webcal = "webcal://" + url.split("://", 1)[1] if url else None
    context = {"feed": calendar_feed_live(user), "url": url, "webcal": webcal}
    return render(request, "todos/calendar_feed.html", context)
