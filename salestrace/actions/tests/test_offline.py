"""The phone's offline parts on the server: the service worker, its fallback page, and the answer a
fetch-sent form gets instead of a redirect (so a queued form knows it was saved)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_service_worker_is_served_at_the_root_with_the_files_it_keeps(client: Client) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert "/static/js/offline.js" in body
    assert '"/offline/"' in body
    assert "/api/" in body  # never cached: the API answers live


def test_the_offline_page_holds_nobodys_data(client: Client) -> None:
    response = client.get("/offline/")
    assert response.status_code == 200
    assert "没有信号" in response.content.decode() or "No signal" in response.content.decode()


def test_a_form_sent_with_fetch_learns_where_it_would_be_redirected(personas, now) -> None:
    from salestrace.field.tests.helpers import make_store

    store = make_store(personas.alice, "联华超市(曹杨店)")
    alice = Client()
    alice.force_login(personas.alice)
    # a fetch-sent check-in: 204 and where to go, instead of a redirect fetch would follow
    sent = alice.post(f"/field/check-in/{store.pk}/", {"key": "k1"}, HTTP_X_SALESTRACE_FETCH="1")
    assert sent.status_code == 204
    assert sent["X-SalesTrace-Location"] == "/field/"
    # the same form posted by the browser itself is redirected as always
    plain = alice.post(f"/field/check-in/{store.pk}/", {"key": "k2"})
    assert plain.status_code == 302
    # signed out, a queued form learns it must sign in first (and stays queued)
    anonymous = Client().post(f"/field/check-in/{store.pk}/", {"key": "k3"}, HTTP_X_SALESTRACE_FETCH="1")
    assert anonymous.status_code == 204
    assert anonymous["X-SalesTrace-Location"].startswith("/login/")
    # a refusal is not a redirect: the page with its message comes back as it is
    refused = alice.post(
        f"/field/check-in/{store.pk}/", {"latitude": "95", "longitude": "1"}, HTTP_X_SALESTRACE_FETCH="1"
    )
    assert refused.status_code == 422
