"""The phone app's offline parts: the service worker that keeps visited pages, and the page it shows
for one that was never opened with signal. The queue of unsent forms lives in static/js/offline.js."""

from __future__ import annotations

import hashlib
import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

# What a page needs besides itself; kept on install, so a page opened once works without signal.
SHELL = (
    "css/app.css",
    "vendor/htmx/htmx.min.js",
    "js/offline.js",
    "js/check_in.js",
    "js/action_form.js",
    "js/rules.js",
)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js at the site's root, so its scope is every page. Its version follows the files it keeps."""
    shell = [static(name) for name in SHELL]
    offline = reverse("actions:offline")
    version = hashlib.sha256("\n".join([*shell, offline]).encode()).hexdigest()[:12]
    response = render(
        request,
        "actions/sw.js",
        {"shell": json.dumps(shell), "offline": offline, "version": version, "static_prefix": static("")},
        content_type="application/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def offline_page(request: HttpRequest) -> HttpResponse:
    """无信号: what the phone shows for a page it has not kept (no data of anyone's in it)."""
    return render(request, "actions/offline.html")
