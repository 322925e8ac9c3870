"""Webhook targets are not an SSRF hole: vendor hosts only (or NOTIFY_ALLOWED_HOSTS), https, no
redirects, checked when configured and before each call; a team that moves the WeCom API base
elsewhere never sends its parent's corp secret there."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from config.env import env_allowed_hosts, env_vendor_url
from salestrace.notify import crypto
from salestrace.notify.hosts import Problem, parse_allowed, problem
from salestrace.notify.jobs import deliver_due
from salestrace.notify.models import ChannelSettings, Delivery
from salestrace.notify.selectors import team_configs
from salestrace.notify.services import Note, Recipient, channel_settings_update, notify
from salestrace.notify.tests import vendors as v
from salestrace.notify.transports import Message

MESSAGE = Message(title="11-26：今天还有 2 项待补录", link="http://127.0.0.1:8000/tasks/")


def send_to(user: Any, channels: tuple[str, ...], now: Any, key: str = "k1") -> int:
    recipient = Recipient(user.pk, user.team_id, channels, user.wecom_userid, user.email)
    return notify(notes=[Note(recipient, MESSAGE, key)], configs=team_configs(), source="test", now=now)


# --- the rule (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "vendor", "expected"),
    [
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "wecom", None),
        ("https://qyapi.weixin.qq.com", "wecom", None),
        ("https://oapi.dingtalk.com/robot/send?access_token=t", "dingtalk", None),
        ("https://open.feishu.cn/open-apis/bot/v2/hook/h", "feishu", None),
        ("https://open.larksuite.com/open-apis/bot/v2/hook/h", "feishu", None),
        ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "wecom", Problem.SCHEME),
        ("https://169.254.169.254/latest/meta-data/", "wecom", Problem.HOST),
        ("https://localhost:6379/", "dingtalk", Problem.HOST),
        ("https://oapi.dingtalk.com.evil.example/robot/send", "dingtalk", Problem.HOST),
        ("https://evil.example/?h=oapi.dingtalk.com", "dingtalk", Problem.HOST),
        ("https://oapi.dingtalk.com@10.0.0.1/robot/send", "dingtalk", Problem.USERINFO),
        ("https://user:pw@oapi.dingtalk.com/robot/send", "dingtalk", Problem.USERINFO),
        ("https://oapi.dingtalk.com:8443/robot/send", "dingtalk", Problem.HOST),
        ("https://oapi.dingtalk.com/robot/send", "feishu", Problem.HOST),  # another vendor's host
        ("https://evil.example\\@oapi.dingtalk.com/", "dingtalk", Problem.MALFORMED),
        ("https://oapi.dingtalk.com/robot/send\n", "dingtalk", Problem.MALFORMED),
        ("ftp://oapi.dingtalk.com/", "dingtalk", Problem.MALFORMED),
        ("oapi.dingtalk.com/robot/send", "dingtalk", Problem.MALFORMED),
    ],
)
def test_only_https_urls_on_the_vendors_own_hosts_are_allowed(url: str, vendor: str, expected: Problem | None) -> None:
    assert problem(url, vendor=vendor) == expected


def test_an_allowed_host_setting_widens_the_list_for_a_self_hosted_gateway() -> None:
    # given a gateway allowed over https on one port, and a LAN relay allowed over plain http
    allowed = parse_allowed(["gw.corp.example:8443", "http://relay.lan"])
    # then those and only those pass
    assert problem("https://gw.corp.example:8443/cgi-bin/gettoken", vendor="wecom", allowed=allowed) is None
    assert problem("https://gw.corp.example/cgi-bin/gettoken", vendor="wecom", allowed=allowed) == Problem.HOST
    assert problem("http://gw.corp.example:8443/", vendor="wecom", allowed=allowed) == Problem.SCHEME
    assert problem("http://relay.lan:8080/robot/send", vendor="dingtalk", allowed=allowed) is None
    assert problem("http://relay.lan.evil.example/", vendor="dingtalk", allowed=allowed) == Problem.HOST


# --- when configured: the environment at startup, a team's settings in the admin ----------------


def test_a_webhook_url_in_the_environment_off_the_vendors_host_stops_startup(monkeypatch: Any) -> None:
    monkeypatch.setenv("DINGTALK_WEBHOOK_URL", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ImproperlyConfigured, match=re.escape("DINGTALK_WEBHOOK_URL must point at oapi.dingtalk.com")):
        env_vendor_url("DINGTALK_WEBHOOK_URL", vendor="dingtalk", allowed=[])
    monkeypatch.setenv("WECOM_API_BASE", "http://qyapi.weixin.qq.com")
    with pytest.raises(ImproperlyConfigured, match="WECOM_API_BASE must use https"):
        env_vendor_url("WECOM_API_BASE", vendor="wecom", allowed=[])
    monkeypatch.setenv("NOTIFY_ALLOWED_HOSTS", "gw.corp.example/path")
    with pytest.raises(ImproperlyConfigured, match="NOTIFY_ALLOWED_HOSTS"):
        env_allowed_hosts("NOTIFY_ALLOWED_HOSTS")


def test_a_self_hosted_gateway_in_the_environment_starts_when_allowed(monkeypatch: Any) -> None:
    monkeypatch.setenv("WECOM_API_BASE", "https://wecom-gw.corp.example:8443")
    url = env_vendor_url("WECOM_API_BASE", vendor="wecom", allowed=["wecom-gw.corp.example:8443"])
    assert url == "https://wecom-gw.corp.example:8443"


@pytest.mark.django_db
def test_the_admin_refuses_a_webhook_off_the_vendors_host_with_a_form_error(personas: Any, admin_client: Any) -> None:
    # when an admin points East-1's DingTalk robot at an internal address
    response = admin_client.post(
        "/admin/notify/channelsettings/add/",
        {
            "team": personas.east1.pk,
            "dingtalk_webhook_url": "http://10.0.0.5:8080/robot/send?access_token=x",
            "wecom_api_base": "https://metadata.google.internal",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    # then the form says why, and nothing is saved
    assert response.status_code == 200
    page = response.content.decode()
    assert "这里只允许厂商自己的地址（oapi.dingtalk.com）" in page
    assert "这里只允许厂商自己的地址（qyapi.weixin.qq.com）" in page
    assert not ChannelSettings.objects.exists()


@pytest.mark.django_db
def test_the_admin_accepts_the_vendors_own_webhook(personas: Any, admin_client: Any) -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456"
    response = admin_client.post(
        "/admin/notify/channelsettings/add/", {"team": personas.east1.pk, "dingtalk_webhook_url": url}
    )
    assert response.status_code == 302
    assert crypto.decrypt(ChannelSettings.objects.get(team=personas.east1).dingtalk_webhook_url_enc) == url


@pytest.mark.django_db
def test_the_settings_service_refuses_an_endpoint_off_the_vendors_host(personas: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        channel_settings_update(team=personas.east1, changes={"feishu_webhook_url": "https://127.0.0.1/hook"})
    assert set(refused.value.message_dict) == {"feishu_webhook_url"}
    assert not ChannelSettings.objects.exists()


# --- before each call ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("no_env_channels")
def test_a_stored_url_no_longer_allowed_is_not_called(personas: Any, vendor: Any, now: Any, settings: Any) -> None:
    # given East-1's robot was configured while the local gateway was allowed
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    send_to(personas.alice, ("wecom_group",), now)
    # when the gateway is no longer allowed and the outbox is worked
    settings.NOTIFY_ALLOWED_HOSTS = []
    deliver_due(now=now)
    # then nothing was sent there, and the delivery waits for an admin, failed, saying why
    assert vendor.vendors.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error.startswith("URL refused: must point at qyapi.weixin.qq.com")
    assert v.WECOM_KEY not in delivery.last_error


@pytest.mark.django_db
@pytest.mark.usefixtures("no_env_channels")
def test_a_redirect_is_not_followed_and_counts_as_a_failure(personas: Any, vendor: Any, now: Any) -> None:
    # given a robot URL that answers with a redirect to an internal address
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    vendor.vendors.redirect_to = f"{vendor.base}/internal/admin?key={v.WECOM_KEY}"
    send_to(personas.alice, ("wecom_group",), now)
    # when the outbox is worked
    deliver_due(now=now)
    # then the redirect was not followed, and the delivery failed
    assert [path.split("?")[0] for path in vendor.vendors.requests] == ["/cgi-bin/webhook/send"]
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error == f"HTTP 302: redirect not followed ({vendor.base})"


# --- a team that moves an endpoint does not take its parent's secret along ----------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("no_env_channels")
def test_a_team_that_overrides_the_wecom_api_base_never_sends_the_parents_corp_secret_there(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    # given the company's WeCom application in the environment, on WeCom's own host
    settings.WECOM_API_BASE = "https://qyapi.weixin.qq.com"
    settings.WECOM_CORP_ID, settings.WECOM_CORP_SECRET, settings.WECOM_AGENT_ID = v.CORP_ID, v.CORP_SECRET, "1000002"
    # and the East region points the API base at another (allowed) gateway, without its own secret
    channel_settings_update(team=personas.east, changes={"wecom_api_base": vendor.base})
    personas.alice.wecom_userid = "ZhangAlice"
    personas.alice.save()
    # when a WeCom application message for alice (East-1) is queued and the outbox worked
    queued = send_to(personas.alice, ("wecom_app",), now)
    deliver_due(now=now)
    # then the gateway never saw the company's corp secret: the channel is simply not configured there
    assert queued == 0
    assert not any(v.CORP_SECRET in path for path in vendor.vendors.requests)
    assert team_configs()[personas.east1.pk].wecom_corp_secret == ""
    # when East sets its own secret for its gateway, its messages go there
    channel_settings_update(team=personas.east, changes={"wecom_corp_secret": v.CORP_SECRET})
    assert send_to(personas.alice, ("wecom_app",), now, key="k2") == 1
    deliver_due(now=now)
    assert [b["touser"] for b in vendor.vendors.bodies("wecom_app")] == ["ZhangAlice"]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_env_channels")
def test_a_team_with_its_own_robot_url_does_not_sign_with_the_parents_secret(personas: Any, vendor: Any) -> None:
    # given East's signed robot, and East-1 with a robot of its own but no secret typed for it
    channel_settings_update(
        team=personas.east,
        changes={
            "dingtalk_webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=east",
            "dingtalk_secret": "SECeast",
        },
    )
    channel_settings_update(team=personas.east1, changes={"dingtalk_webhook_url": vendor.dingtalk_webhook})
    # then East-1's robot gets no secret, and East keeps its own
    configs = team_configs()
    assert configs[personas.east1.pk].dingtalk_secret == ""
    assert configs[personas.east.pk].dingtalk_secret == "SECeast"
