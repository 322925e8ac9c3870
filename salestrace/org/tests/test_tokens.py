"""API tokens: listed with their last use, revocable by their owner and by admins, with an expiry
and a cap on how many one user holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from salestrace.core import clock as product_clock
from salestrace.org.models import ApiToken
from salestrace.org.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False) as t:
        yield t


def _bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _mint(client: Any, username: str, **extra: Any) -> Any:
    body = {"username": username, "password": f"pw-{username}", **extra}
    return client.post("/api/v1/auth/token", body, content_type="application/json")


def test_a_user_lists_their_live_tokens_with_last_use_and_never_the_secret(
    client: Any, personas: Any, clock: Any
) -> None:
    # given two tokens of alice, one used, and one of bob
    _, used = api_token_create(user=personas.alice, name="import script", now=product_clock.now())
    api_token_create(user=personas.alice, name="spare", now=product_clock.now())
    api_token_create(user=personas.bob, name="bob's", now=product_clock.now())
    clock.shift(timedelta(minutes=5))
    # when alice lists her tokens with the used one
    listed = client.get("/api/v1/auth/tokens", **_bearer(used)).json()
    # then she sees her two, the used one with its last use, and no token text or hash
    assert sorted(t["name"] for t in listed) == ["import script", "spare"]
    by_name = {t["name"]: t for t in listed}
    assert by_name["import script"]["last_used_at"].startswith("2026-11-26T02:05:00")
    assert by_name["spare"]["last_used_at"] is None
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"}
    assert used not in str(listed)


def test_last_use_is_written_at_most_once_a_minute(
    client: Any, personas: Any, clock: Any, django_assert_num_queries: Any
) -> None:
    _, raw = api_token_create(user=personas.alice, now=product_clock.now())
    client.get("/api/v1/auth/tokens", **_bearer(raw))
    # when she calls again within the minute: the token lookup and the list, no update
    with django_assert_num_queries(2):
        client.get("/api/v1/auth/tokens", **_bearer(raw))
    clock.shift(timedelta(seconds=61))
    client.get("/api/v1/auth/tokens", **_bearer(raw))
    assert ApiToken.objects.get().last_used_at == product_clock.now()


def test_the_owner_revokes_a_token_and_it_answers_401_from_then_on(client: Any, personas: Any, clock: Any) -> None:
    _, keep = api_token_create(user=personas.alice, name="keep", now=product_clock.now())
    doomed, doomed_raw = api_token_create(user=personas.alice, name="doomed", now=product_clock.now())
    # when
    response = client.delete(f"/api/v1/auth/tokens/{doomed.pk}", **_bearer(keep))
    # then
    assert response.status_code == 204
    assert client.get("/api/v1/customers", **_bearer(doomed_raw)).status_code == 401
    assert [t["name"] for t in client.get("/api/v1/auth/tokens", **_bearer(keep)).json()] == ["keep"]


def test_nobody_revokes_another_users_token_but_an_admin_may(client: Any, personas: Any, clock: Any) -> None:
    bobs, bobs_raw = api_token_create(user=personas.bob, now=product_clock.now())
    _, alices = api_token_create(user=personas.alice, now=product_clock.now())
    _, sams = api_token_create(user=personas.sam, now=product_clock.now())
    _, admins = api_token_create(user=personas.admin, now=product_clock.now())
    # a rep and a supervisor get 404 (another's token looks like no token), and nothing changes
    assert client.delete(f"/api/v1/auth/tokens/{bobs.pk}", **_bearer(alices)).status_code == 404
    assert client.delete(f"/api/v1/auth/tokens/{bobs.pk}", **_bearer(sams)).status_code == 404
    assert client.get("/api/v1/customers", **_bearer(bobs_raw)).status_code == 200
    # the admin may
    assert client.delete(f"/api/v1/auth/tokens/{bobs.pk}", **_bearer(admins)).status_code == 204
    assert client.get("/api/v1/customers", **_bearer(bobs_raw)).status_code == 401


def test_a_token_with_an_expiry_answers_401_once_it_has_passed(client: Any, personas: Any, clock: Any) -> None:
    # given a token minted for 7 days
    response = _mint(client, "alice", expires_in_days=7)
    assert response.status_code == 201
    assert response.json()["expires_at"].startswith("2026-12-03T02:00:00")
    raw = response.json()["token"]
    clock.shift(timedelta(days=6, hours=23))
    assert client.get("/api/v1/customers", **_bearer(raw)).status_code == 200
    # when it has expired
    clock.shift(timedelta(hours=2))
    # then
    answer = client.get("/api/v1/customers", **_bearer(raw))
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "not_authenticated"


def test_an_expiry_out_of_range_is_refused_and_mints_nothing(client: Any, personas: Any) -> None:
    for days in (0, -1, 3651):
        assert _mint(client, "alice", expires_in_days=days).status_code == 400
    assert not ApiToken.objects.exists()


def test_signing_in_again_and_again_keeps_at_most_the_cap_of_live_tokens(
    client: Any, personas: Any, clock: Any, settings: Any
) -> None:
    # given a cap of 3 and a token in daily use
    settings.SALESTRACE_API_TOKENS_PER_USER = 3
    daily = _mint(client, "alice", name="daily").json()["token"]
    # when a script mints a token on each of 50 runs, never using them
    for _ in range(50):
        clock.shift(timedelta(minutes=2))
        client.get("/api/v1/customers", **_bearer(daily))
        assert _mint(client, "alice", name="run").status_code == 201
    # then alice holds 3 live tokens, and the one in use is among them
    live = client.get("/api/v1/auth/tokens", **_bearer(daily)).json()
    assert len(live) == 3
    assert "daily" in [t["name"] for t in live]
    assert ApiToken.objects.filter(user=personas.alice).count() == 51


def test_the_tokens_page_lists_creates_once_and_revokes(client: Any, personas: Any, clock: Any) -> None:
    # given alice signed in with one token of her own and bob with one
    client.force_login(personas.alice)
    mine, _ = api_token_create(user=personas.alice, name="import script", now=product_clock.now())
    bobs, _ = api_token_create(user=personas.bob, name="bob-secret-name", now=product_clock.now())
    page = client.get("/account/tokens/").content.decode()
    assert "API 令牌" in page
    assert "import script" in page
    assert "bob-secret-name" not in page
    assert mine.digest not in page
    # when she creates one, it is shown once, on the page the form redirects to
    answer = client.post("/account/tokens/", {"name": "excel", "expires_in_days": "30"}, follow=True)
    assert answer.redirect_chain == [("/account/tokens/", 302)]
    created = answer.content.decode()
    new = ApiToken.objects.get(name="excel")
    assert new.expires_at == product_clock.now() + timedelta(days=30)
    raw = created.split("<code>st_", 1)[1].split("</code>", 1)[0]
    assert client.get("/api/v1/customers", **_bearer("st_" + raw)).status_code == 200
    # and a reload shows it no more and mints nothing
    assert ("st_" + raw) not in client.get("/account/tokens/").content.decode()
    assert ApiToken.objects.filter(name="excel").count() == 1
    # and she revokes her first one, but not bob's
    assert client.post(f"/account/tokens/{mine.pk}/revoke/").status_code == 302
    assert client.post(f"/account/tokens/{bobs.pk}/revoke/").status_code == 404
    mine.refresh_from_db()
    bobs.refresh_from_db()
    assert mine.revoked_at == product_clock.now()
    assert bobs.revoked_at is None


def test_admin_lists_tokens_with_last_use_and_revokes_without_ever_showing_the_hash(
    admin_client: Any, personas: Any, clock: Any
) -> None:
    token, _ = api_token_create(user=personas.alice, name="import script", now=product_clock.now())
    page = admin_client.get("/admin/org/apitoken/").content.decode()
    assert "import script" in page
    assert token.digest not in page
    assert token.digest not in admin_client.get(f"/admin/org/apitoken/{token.pk}/change/").content.decode()
    # when the admin revokes it with the list action
    response = admin_client.post(
        "/admin/org/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    # then
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at == product_clock.now()
