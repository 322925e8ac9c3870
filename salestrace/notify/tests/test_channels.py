"""Every channel against a local server that behaves like the vendor (format, signature, errors)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from salestrace.notify import crypto
from salestrace.notify.jobs import deliver_due, handle_one_delivery
from salestrace.notify.models import ChannelSettings, Delivery, InboxMessage
from salestrace.notify.selectors import team_configs
from salestrace.notify.services import Note, Recipient, channel_settings_update, notify
from salestrace.notify.tests import vendors as v
from salestrace.notify.transports import Line, Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_env_channels")]

MESSAGE = Message(
    title="11-26：今天还有 2 项待补录",
    lines=(
        Line("补全联华超市的动作记录：缺少障碍类型", "http://127.0.0.1:8000/customers/1/actions/new/"),
        Line("下一步今日到期：华联"),
    ),
    link="http://127.0.0.1:8000/tasks/",
    mention="Alice",
)


def send_to(user: Any, channels: tuple[str, ...], now: Any, key: str = "k1", message: Message = MESSAGE) -> int:
    recipient = Recipient(user.pk, user.team_id, channels, user.wecom_userid, user.email)
    return notify(notes=[Note(recipient, message, key)], configs=team_configs(), source="test", now=now)


def test_wecom_group_robot_gets_markdown_and_the_message_is_logged_as_sent(
    personas: Any, vendor: Any, now: Any
) -> None:
    # given East-1 has its own WeCom group robot
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    # when a message for alice is queued and the outbox is worked
    assert send_to(personas.alice, ("wecom_group",), now) == 1
    deliver_due(now=now)
    # then the robot got one markdown message with the title, lines and links
    (body,) = vendor.vendors.bodies("wecom_group")
    content = body["markdown"]["content"]
    assert body["msgtype"] == "markdown"
    assert "**11-26：今天还有 2 项待补录**" in content
    assert "[补全联华超市的动作记录：缺少障碍类型](http://127.0.0.1:8000/customers/1/actions/new/)" in content
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.sent_at) == (Delivery.Status.SENT, 1, now)
    # and the log shows the webhook masked, never its key
    assert v.WECOM_KEY not in delivery.recipient
    assert delivery.recipient.endswith(v.WECOM_KEY[-4:])
    assert InboxMessage.objects.get(user=personas.alice).title == MESSAGE.title


def test_wecom_group_robot_limit_is_respected_by_queueing_not_by_losing_messages(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    # given 25 messages for the same team robot (WeCom takes 20 a minute)
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    for i in range(25):
        send_to(personas.alice, ("wecom_group",), now, key=f"m{i}")
    # when the outbox is worked now
    deliver_due(now=now)
    # then 20 went out and 5 wait for the next minute (and a second's margin) without an attempt or an error
    assert len(vendor.vendors.bodies("wecom_group")) == 20
    waiting = Delivery.objects.filter(status=Delivery.Status.PENDING)
    assert waiting.count() == 5
    assert all(d.attempts == 0 and d.next_attempt_at == now + timedelta(minutes=1, seconds=1) for d in waiting)
    # and a minute later the rest go out
    with_time = now + timedelta(minutes=1, seconds=1)
    import time_machine

    with time_machine.travel(with_time, tick=False):
        deliver_due(now=with_time)
    assert len(vendor.vendors.bodies("wecom_group")) == 25
    assert not Delivery.objects.exclude(status=Delivery.Status.SENT).exists()


def test_wecom_rate_limit_errcode_45009_requeues_the_message_a_minute_later(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    # given the robot is already saturated by another system (our own count says we may send)
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    vendor.vendors.wecom_group_per_minute = 0
    send_to(personas.alice, ("wecom_group",), now)
    # when the outbox is worked
    handle_one_delivery(now=now)
    # then the vendor's 45009 puts it back in the queue for a minute later, not counted as a failure
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at == now + timedelta(seconds=60)
    assert delivery.attempts == 0
    assert "45009" in delivery.last_error


def test_wecom_invalid_webhook_key_fails_at_once_and_is_left_for_an_admin(personas: Any, vendor: Any, now: Any) -> None:
    # given a webhook with a wrong key: errcode 93000 is something only a person can fix
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook + "x"})
    send_to(personas.alice, ("wecom_group",), now)
    deliver_due(now=now)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error.startswith("errcode 93000")


def test_wecom_app_message_caches_the_access_token_and_refreshes_it_when_expired(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    # given WeCom application settings from the environment and alice's WeCom user id
    settings.WECOM_API_BASE = vendor.base
    settings.WECOM_CORP_ID = v.CORP_ID
    settings.WECOM_CORP_SECRET = v.CORP_SECRET
    settings.WECOM_AGENT_ID = "1000002"
    personas.alice.wecom_userid = "ZhangAlice"
    personas.alice.save()
    # when two messages go out
    send_to(personas.alice, ("wecom_app",), now, key="a")
    send_to(personas.alice, ("wecom_app",), now, key="b")
    deliver_due(now=now)
    # then one token served both
    assert vendor.vendors.tokens_issued == 1
    bodies = vendor.vendors.bodies("wecom_app")
    assert [b["touser"] for b in bodies] == ["ZhangAlice", "ZhangAlice"]
    assert bodies[0]["agentid"] == 1000002
    assert bodies[0]["msgtype"] == "markdown"
    # when WeCom expires the token (42001), the next send fetches a new one and succeeds
    vendor.vendors.expire_tokens()
    send_to(personas.alice, ("wecom_app",), now, key="c")
    deliver_due(now=now)
    assert vendor.vendors.tokens_issued == 2
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3


def test_wecom_app_with_a_wrong_corp_secret_fails_without_retrying(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    settings.WECOM_API_BASE = vendor.base
    settings.WECOM_CORP_ID = v.CORP_ID
    settings.WECOM_CORP_SECRET = "wrong"
    settings.WECOM_AGENT_ID = "1000002"
    personas.alice.wecom_userid = "ZhangAlice"
    personas.alice.save()
    send_to(personas.alice, ("wecom_app",), now)
    deliver_due(now=now)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "40001" in delivery.last_error


def test_dingtalk_robot_request_is_signed_with_hmac_sha256(personas: Any, vendor: Any, now: Any) -> None:
    # given a signed DingTalk robot for the East region (East-1 inherits it)
    channel_settings_update(
        team=personas.east,
        changes={"dingtalk_webhook_url": vendor.dingtalk_webhook, "dingtalk_secret": v.DINGTALK_SECRET},
    )
    send_to(personas.alice, ("dingtalk",), now)
    deliver_due(now=now)
    (body,) = vendor.vendors.bodies("dingtalk")
    assert body["markdown"]["title"] == MESSAGE.title
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_dingtalk_wrong_secret_is_refused_by_the_robot_and_retried_with_backoff(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    channel_settings_update(
        team=personas.east1, changes={"dingtalk_webhook_url": vendor.dingtalk_webhook, "dingtalk_secret": "SECwrong"}
    )
    send_to(personas.alice, ("dingtalk",), now)
    handle_one_delivery(now=now)
    delivery = Delivery.objects.get()
    assert vendor.vendors.bodies("dingtalk") == []
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert delivery.next_attempt_at == now + timedelta(seconds=60)
    assert "310000" in delivery.last_error


def test_feishu_bot_signed_post_is_accepted(personas: Any, vendor: Any, now: Any) -> None:
    channel_settings_update(
        team=personas.east1, changes={"feishu_webhook_url": vendor.feishu_webhook, "feishu_secret": v.FEISHU_SECRET}
    )
    send_to(personas.alice, ("feishu",), now)
    deliver_due(now=now)
    (body,) = vendor.vendors.bodies("feishu")
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == MESSAGE.title
    assert {"tag": "a", "text": MESSAGE.lines[0].text, "href": MESSAGE.lines[0].link} in post["content"][1]
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_feishu_bot_without_our_signature_answers_19021_and_we_record_it(personas: Any, vendor: Any, now: Any) -> None:
    # given the bot has a secret but our settings do not
    channel_settings_update(team=personas.east1, changes={"feishu_webhook_url": vendor.feishu_webhook})
    send_to(personas.alice, ("feishu",), now)
    handle_one_delivery(now=now)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert "19021" in delivery.last_error


def test_failed_sends_back_off_exponentially_then_stay_failed_for_admins(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    # given a DingTalk robot that always refuses our signature
    settings.NOTIFY_MAX_ATTEMPTS = 4
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    channel_settings_update(
        team=personas.east1, changes={"dingtalk_webhook_url": vendor.dingtalk_webhook, "dingtalk_secret": "SECwrong"}
    )
    send_to(personas.alice, ("dingtalk",), now)
    waits = []
    at = now
    for _ in range(4):
        handle_one_delivery(now=at)
        delivery = Delivery.objects.get()
        if delivery.status == Delivery.Status.FAILED:
            break
        waits.append(delivery.next_attempt_at - at)
        at = delivery.next_attempt_at
    # then the waits double, and after the last attempt it is failed, visible in the admin
    assert waits == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 4)
    assert handle_one_delivery(now=at + timedelta(days=1)) is False


def test_secrets_are_stored_encrypted_and_shown_back_masked(personas: Any, admin_client: Any) -> None:
    # given an admin sets a DingTalk secret for East-1
    channel_settings_update(
        team=personas.east1,
        changes={
            "dingtalk_webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456",
            "dingtalk_secret": v.DINGTALK_SECRET,
        },
    )
    row = ChannelSettings.objects.get(team=personas.east1)
    # then the database holds no plain text
    assert v.DINGTALK_SECRET not in row.dingtalk_secret_enc
    assert "abcdef123456" not in row.dingtalk_webhook_url_enc
    assert crypto.decrypt(row.dingtalk_secret_enc) == v.DINGTALK_SECRET
    # and the admin page shows only a mask
    page = admin_client.get(f"/admin/notify/channelsettings/{row.pk}/change/").content.decode()
    assert v.DINGTALK_SECRET not in page
    assert "abcdef123456" not in page
    assert crypto.mask(v.DINGTALK_SECRET) in page


def test_channels_a_user_did_not_choose_or_nobody_configured_send_nothing_but_the_inbox(
    personas: Any, now: Any
) -> None:
    # given nothing is configured anywhere
    # when a message is queued for every channel
    queued = send_to(personas.alice, ("wecom_group", "wecom_app", "dingtalk", "feishu", "email"), now)
    # then only the inbox has it
    assert queued == 0
    assert InboxMessage.objects.filter(user=personas.alice).count() == 1


def test_queueing_the_same_note_twice_creates_one_inbox_message_and_one_delivery(
    personas: Any, vendor: Any, now: Any
) -> None:
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    assert send_to(personas.alice, ("wecom_group",), now) == 1
    assert send_to(personas.alice, ("wecom_group",), now) == 0
    assert InboxMessage.objects.count() == 1
    assert Delivery.objects.count() == 1
