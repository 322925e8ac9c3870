"""设置 · 渠道: a team's channels set from the product, secrets only ever shown masked, every change in
the settings history (masked), and a test button that answers with the vendor's verdict in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from salestrace.catalog.models import SettingChange
from salestrace.notify.models import ChannelSettings, Delivery
from salestrace.notify.tests.vendors import DINGTALK_SECRET, WECOM_KEY, VendorServer
from salestrace.org.models import Team

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_only_configurers_see_the_channels(personas: Any) -> None:
    for user in (personas.alice, personas.sam, personas.diana):
        assert as_user(user).get("/settings/channels/").status_code == 403
        assert (
            as_user(user).post(f"/settings/channels/{personas.east1.pk}/", {"test": "wecom_group"}).status_code == 403
        )
    assert as_user(personas.admin).get("/settings/channels/").status_code == 200


def test_a_robot_set_here_is_masked_recorded_and_tested(
    personas: Any, vendor: VendorServer, no_env_channels: None, now: datetime
) -> None:
    admin = as_user(personas.admin)
    page = f"/settings/channels/{personas.east.pk}/"
    # when the admin sets the region's WeCom robot and its reminder time
    saved = admin.post(page, {"do": "save", "wecom_webhook_url": vendor.wecom_webhook, "reminder_time": "17:30"})
    assert saved.status_code == 302
    html = admin.get(page).content.decode()
    # then the key is never shown back, only masked; the history holds the masked value
    assert WECOM_KEY not in html
    assert WECOM_KEY not in str(list(SettingChange.objects.values_list("before", "after")))
    assert set(SettingChange.objects.filter(area="channel").values_list("key", flat=True)) == {
        f"{personas.east.pk}.wecom_webhook_url",
        f"{personas.east.pk}.reminder_time",
    }
    assert str(Team.objects.get(pk=personas.east.pk).reminder_time) == "17:30:00"
    history = admin.get("/settings/history/").content.decode()
    assert "East 的渠道 · wecom_webhook_url" in history
    assert WECOM_KEY not in history
    change = SettingChange.objects.get(key=f"{personas.east.pk}.wecom_webhook_url")
    refused = admin.post(f"/settings/history/{change.pk}/rollback/", follow=True).content.decode()
    assert "密钥不保存在变更记录中" in refused
    # and a team below inherits it: its test message reaches the region's robot
    tested = admin.post(f"/settings/channels/{personas.east1.pk}/", {"test": "wecom_group"})
    assert "已送达" in tested.content.decode()
    assert [b["msgtype"] for b in vendor.vendors.bodies("wecom_group")] == ["markdown"]
    assert not Delivery.objects.exists()  # a test is sent now, not queued
    # a listing shows where each team's messages go
    listing = admin.get("/settings/channels/").content.decode()
    assert "企业微信群机器人" in listing


@pytest.mark.parametrize(
    ("fields", "channel", "words"),
    [
        ({"wecom_webhook_url": "{base}/cgi-bin/webhook/send?key=wrong"}, "wecom_group", "webhook key 不正确"),
        (
            {"dingtalk_webhook_url": "{dingtalk}", "dingtalk_secret": "SEC-not-the-right-one"},
            "dingtalk",
            "签名被拒绝",
        ),
        ({"feishu_webhook_url": "{feishu}", "feishu_secret": "wrong"}, "feishu", "签名被拒绝"),
    ],
)
def test_a_wrong_setting_is_explained_in_plain_words(
    personas: Any, vendor: VendorServer, no_env_channels: None, fields: dict[str, str], channel: str, words: str
) -> None:
    admin = as_user(personas.admin)
    page = f"/settings/channels/{personas.east1.pk}/"
    values = {
        k: v.format(base=vendor.base, dingtalk=vendor.dingtalk_webhook, feishu=vendor.feishu_webhook)
        for k, v in fields.items()
    }
    assert admin.post(page, {"do": "save", **values}).status_code == 302
    answer = admin.post(page, {"test": channel}).content.decode()
    assert words in answer
    assert DINGTALK_SECRET not in answer


def test_an_address_off_the_vendors_host_is_refused_by_its_field(personas: Any, no_env_channels: None) -> None:
    admin = as_user(personas.admin)
    page = f"/settings/channels/{personas.east1.pk}/"
    refused = admin.post(page, {"do": "save", "dingtalk_webhook_url": "https://evil.example.com/robot/send?x=1"})
    assert refused.status_code == 422
    assert "oapi.dingtalk.com" in refused.content.decode()
    assert not ChannelSettings.objects.exists()
    untested = admin.post(page, {"test": "feishu"}).content.decode()
    assert "这个团队还没有设置这个渠道" in untested


def test_a_channel_change_made_meanwhile_is_not_overwritten(
    personas: Any, vendor: VendorServer, no_env_channels: None
) -> None:
    import re

    admin = as_user(personas.admin)
    page = f"/settings/channels/{personas.east1.pk}/"
    seen = re.search(r'name="seen" value="(\w+)"', admin.get(page).content.decode())
    assert seen is not None
    first = {"do": "save", "reminder_time": "17:00", "seen": seen.group(1)}
    assert admin.post(page, first).status_code == 302
    late = admin.post(page, {**first, "reminder_time": "19:00"})
    assert late.status_code == 409
    assert "在此期间" in late.content.decode()
    assert str(Team.objects.get(pk=personas.east1.pk).reminder_time) == "17:00:00"
