"""Tokens: POST /api/v1/auth/token and manage.py create_api_token."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from salestrace.org.models import ApiToken

pytestmark = pytest.mark.django_db


def test_a_password_buys_a_token_that_opens_the_api(client, personas):
    response = client.post(
        "/api/v1/auth/token", {"username": "alice", "password": "pw-alice"}, content_type="application/json"
    )
    assert response.status_code == 201
    token = response.json()["token"]
    assert token.startswith("st_")
    assert not ApiToken.objects.filter(digest=token).exists()  # only the hash is kept
    assert client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_a_wrong_password_is_401_in_chinese_by_default(client, personas):
    response = client.post(
        "/api/v1/auth/token", {"username": "alice", "password": "x"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "用户名或密码错误。"


def test_an_inactive_user_gets_no_token_and_old_tokens_stop_working(client, personas, api_as):
    alice = api_as(personas.alice)
    personas.alice.is_active = False
    personas.alice.save()
    assert alice.get("/customers").status_code == 401
    response = client.post(
        "/api/v1/auth/token", {"username": "alice", "password": "pw-alice"}, content_type="application/json"
    )
    assert response.status_code == 401


def test_a_revoked_token_is_refused(personas, api_as, now):
    alice = api_as(personas.alice)
    ApiToken.objects.update(revoked_at=now)
    assert alice.get("/customers").status_code == 401


def test_create_api_token_prints_a_working_token(client, personas):
    out = StringIO()
    call_command("create_api_token", "alice", stdout=out)
    token = out.getvalue().strip()
    assert client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_create_api_token_for_an_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="no active user 'ghost'"):
        call_command("create_api_token", "ghost")


def test_session_login_also_opens_the_api(client, personas):
    client.force_login(personas.alice)
    assert client.get("/api/v1/customers").status_code == 200


def test_admin_picks_a_users_channels_with_checkboxes(admin_client, personas):
    page = admin_client.get(f"/admin/org/user/{personas.alice.pk}/change/").content.decode()
    assert 'type="checkbox" name="notify_channels" value="dingtalk"' in page


def test_admin_can_put_a_user_back_on_the_teams_channels_or_choose_their_own(admin_client, personas):
    # given alice chose DingTalk only
    personas.alice.notify_channels = ["dingtalk"]
    personas.alice.save()
    url = f"/admin/org/user/{personas.alice.pk}/change/"
    form = {
        "username": "alice",
        "password": personas.alice.password,
        "role": "rep",
        "team": personas.east1.pk,
        "date_joined_0": "2026-11-26",
        "date_joined_1": "10:00:00",
        "is_active": "on",
        "language": "en",
        "mobile": "13800000002",
    }
    # when the admin ticks "use the team's channels"
    response = admin_client.post(url, {**form, "team_channels": "on", "notify_channels": ["dingtalk"]})
    assert response.status_code == 302, response.content.decode()[:2000]
    personas.alice.refresh_from_db()
    # then she follows her team again, and reads her messages in English
    assert personas.alice.notify_channels is None
    assert (personas.alice.language, personas.alice.mobile) == ("en", "13800000002")
    # when the admin unticks it and leaves every channel unticked: the inbox only
    admin_client.post(url, form)
    personas.alice.refresh_from_db()
    assert personas.alice.notify_channels == []
