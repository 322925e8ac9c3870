"""A form the phone sends with fetch (static/js/offline.js) learns where the server would have
redirected it, instead of fetch following the redirect itself: fetch drops the #fragment and would
use up the flash message the next page is meant to show."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

FETCH_HEADER = "X-SalesTrace-Fetch"
LOCATION_HEADER = "X-SalesTrace-Location"


class FetchRedirectMiddleware:
    """A redirect answering a POST marked with X-SalesTrace-Fetch becomes 204 with the target in
    X-SalesTrace-Location; every other response is left as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "POST" and request.headers.get(FETCH_HEADER) and response.status_code in (301, 302, 303):
            answer = HttpResponse(status=204)
            answer[LOCATION_HEADER] = response["Location"]
            for cookie in response.cookies.values():
                answer.cookies[cookie.key] = cookie
            return answer
        return response
