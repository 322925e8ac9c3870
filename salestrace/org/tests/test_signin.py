"""Sign-in throttling: /login/ and POST /api/v1/auth/token, per account and per client address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.cache import cache

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
LOCKED_ZH = "登录失败次数过多，请 15 分钟后再试。"


@pytest.fixture
def clock() -> Iterator[Any]:
    """A clock we can move past the cool-off."""
    with time_machine.travel(datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False) as t:
        yield t


def _forwarded(i: int) -> str:
    return f"198.51.{i // 250}.{i % 250 + 1}"


def _login(client: Any, username: str, password: str, **headers: str) -> Any:
    return client.post("/login/", {"username": username, "password": password}, **headers)


def _token(client: Any, username: str, password: str, **headers: str) -> Any:
    body = {"username": username, "password": password}
    return client.post(TOKEN_URL, body, content_type="application/json", **headers)


def test_login_page_locks_an_account_hammered_from_rotating_forwarded_addresses(
    client: Any, personas: Any, clock: Any
) -> None:
    # when 100 wrong passwords for alice arrive, each claiming another X-Forwarded-For
    codes = [_login(client, "alice", f"guess-{i}", HTTP_X_FORWARDED_FOR=_forwarded(i)).status_code for i in range(100)]
    # then the first nine are plain refusals and every later one is a lockout
    assert codes[:9] == [200] * 9
    assert set(codes[9:]) == {429}
    # and the right password is refused too, with a clear message in Chinese, until the cool-off
    clock.shift(timedelta(minutes=14))
    cache.clear()  # the counters live in the database, not in a per-worker cache
    locked = _login(client, "alice", "pw-alice", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert locked.status_code == 429
    assert LOCKED_ZH in locked.content.decode()
    assert locked["Retry-After"] == "900"
    clock.shift(timedelta(minutes=2))  # a refused try during the lockout did not extend it
    assert _login(client, "alice", "pw-alice").status_code == 302


def test_login_page_locks_an_address_that_tries_many_accounts_whatever_it_forwards(
    client: Any, personas: Any, clock: Any
) -> None:
    # when one address tries 60 different accounts with rotating X-Forwarded-For headers
    codes = [_login(client, f"user{i}", "x", HTTP_X_FORWARDED_FOR=_forwarded(i)).status_code for i in range(60)]
    # then it is locked out after the address's limit (50), whichever account it names next
    assert set(codes[:49]) == {200}
    assert set(codes[49:]) == {429}
    assert _login(client, "alice", "pw-alice").status_code == 429
    assert AccessAttempt.objects.filter(ip_address="127.0.0.1").exists()
    assert not AccessAttempt.objects.filter(ip_address__startswith="198.51.").exists()


def test_token_endpoint_locks_an_account_with_a_json_error_in_the_clients_language(
    client: Any, personas: Any, clock: Any
) -> None:
    # when 100 wrong passwords for alice arrive at the API, rotating X-Forwarded-For
    codes = [_token(client, "alice", f"g{i}", HTTP_X_FORWARDED_FOR=_forwarded(i)).status_code for i in range(100)]
    # then the first nine are 401 and the rest 429
    assert codes[:9] == [401] * 9
    assert set(codes[9:]) == {429}
    # and the right password is refused with the project's error format, in the client's language
    locked = _token(client, "alice", "pw-alice", HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429
    assert locked.json() == {
        "errors": [
            {
                "field": None,
                "code": "too_many_attempts",
                "message": "Too many failed sign-in attempts. Try again in 15 minutes.",
            }
        ]
    }
    assert _token(client, "alice", "pw-alice").json()["errors"][0]["message"] == LOCKED_ZH
    # until the cool-off has passed
    clock.shift(timedelta(minutes=16))
    assert _token(client, "alice", "pw-alice").status_code == 201


def test_token_endpoint_locks_an_address_that_tries_many_accounts(client: Any, personas: Any, clock: Any) -> None:
    codes = [_token(client, f"user{i}", "x", HTTP_X_FORWARDED_FOR=_forwarded(i)).status_code for i in range(100)]
    assert set(codes[49:]) == {429}
    assert _token(client, "bob", "pw-bob").status_code == 429


def test_failures_on_the_login_page_also_lock_the_token_endpoint(client: Any, personas: Any, clock: Any) -> None:
    # given alice's account hammered on the login page from many (real) addresses
    for i in range(10):
        _login(client, "alice", "nope", REMOTE_ADDR=_forwarded(i))
    # when her right password arrives at the API from yet another address
    response = _token(client, "alice", "pw-alice", REMOTE_ADDR="203.0.113.50")
    # then the account is locked there too
    assert response.status_code == 429


def test_a_success_before_the_limit_resets_the_count(client: Any, personas: Any, clock: Any) -> None:
    # given nine typos, then the right password
    for _ in range(9):
        _login(client, "alice", "typo")
    assert _login(client, "alice", "pw-alice").status_code == 302
    client.logout()
    # when she mistypes again later, she has the full allowance again, and no more
    codes = [_login(client, "alice", "typo").status_code for _ in range(10)]
    assert codes == [200] * 9 + [429]


def test_behind_a_trusted_proxy_the_address_it_saw_counts_not_what_the_client_wrote(
    client: Any, personas: Any, clock: Any, settings: Any
) -> None:
    # given one reverse proxy at 10.0.0.2 that appends the address it saw
    settings.SALESTRACE_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # when an attacker at 203.0.113.7 tries many accounts, spoofing the left of the header
    for i in range(50):
        _token(client, f"user{i}", "x", HTTP_X_FORWARDED_FOR=f"{_forwarded(i)}, 203.0.113.7", **proxy)
    # then the attacker's address is locked out, while a colleague behind the same proxy signs in
    assert _token(client, "zed", "x", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    assert _token(client, "bob", "pw-bob", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy).status_code == 201
    assert AccessAttempt.objects.filter(ip_address="203.0.113.7").exists()


def test_a_token_minted_with_the_right_password_restores_the_allowance(client: Any, personas: Any, clock: Any) -> None:
    # given nine typos in a script, then the right password
    for _ in range(9):
        _token(client, "alice", "typo")
    assert _token(client, "alice", "pw-alice").status_code == 201
    # then she has the full allowance again, as after signing in on the page
    codes = [_token(client, "alice", "typo").status_code for _ in range(10)]
    assert codes == [401] * 9 + [429]
    personas.alice.refresh_from_db()
    assert personas.alice.last_login is not None


def test_one_reps_typos_lock_his_account_not_the_colleagues_signing_in_from_the_same_office(
    client: Any, personas: Any, clock: Any
) -> None:
    # given bob mistypes his password eleven times from the office's one address
    codes = [_login(client, "bob", f"typo-{i}").status_code for i in range(11)]
    assert codes[-1] == 429
    # when alice signs in from the same address
    answer = _login(client, "alice", "pw-alice")
    # then she gets in, while bob waits out his lockout
    assert answer.status_code == 302
    client.logout()
    assert _login(client, "bob", "pw-bob").status_code == 429
