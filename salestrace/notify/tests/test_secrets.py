"""Secrets stay secret: nothing of a URL's key or token, nor a vendor's body, in the delivery log or
a log line; keys rotate (MultiFernet); one team's unreadable settings cost only its own messages."""

from __future__ import annotations

import importlib
import socket
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.views.debug import get_default_exception_reporter_filter

from salestrace.actions.evidence_services import evidence_recognise
from salestrace.actions.tests.evidence_files import upload, wav_bytes
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.notify import crypto
from salestrace.notify.jobs import deliver_due
from salestrace.notify.models import Delivery, InboxMessage
from salestrace.notify.selectors import ChannelConfig, team_configs
from salestrace.notify.services import Note, Recipient, channel_settings_update, notify
from salestrace.notify.tests import vendors as v
from salestrace.notify.transports import Message, Target

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_env_channels")]

MESSAGE = Message(title="11-26：今天还有 2 项待补录", link="http://127.0.0.1:8000/tasks/")
OLD_KEY, NEW_KEY, LOST_KEY = (Fernet.generate_key().decode() for _ in range(3))


def send_to(user: Any, channels: tuple[str, ...], now: Any, key: str = "k1") -> int:
    recipient = Recipient(user.pk, user.team_id, channels, user.wecom_userid, user.email)
    return notify(notes=[Note(recipient, MESSAGE, key)], configs=team_configs(), source="test", now=now)


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- item 7: no secret in the delivery log or any error text -----------------------------------


def test_a_network_error_logs_the_host_and_the_error_class_never_the_access_token(
    personas: Any, now: Any, settings: Any
) -> None:
    # given a DingTalk robot behind a gateway that is down
    port = closed_port()
    settings.NOTIFY_ALLOWED_HOSTS = [f"http://127.0.0.1:{port}"]
    webhook = f"http://127.0.0.1:{port}/robot/send?access_token={v.DINGTALK_TOKEN}"
    channel_settings_update(
        team=personas.east1, changes={"dingtalk_webhook_url": webhook, "dingtalk_secret": v.DINGTALK_SECRET}
    )
    send_to(personas.alice, ("dingtalk",), now)
    # when the outbox tries it
    deliver_due(now=now)
    # then the log says which host and what kind of error, and nothing of the token or the signature
    delivery = Delivery.objects.get()
    assert delivery.last_error == f"network error: ConnectionError (http://127.0.0.1:{port})"
    assert v.DINGTALK_TOKEN not in delivery.last_error + delivery.recipient
    assert "sign=" not in delivery.last_error


def test_a_wecom_gettoken_failure_never_shows_the_corp_secret(personas: Any, now: Any, settings: Any) -> None:
    # given a WeCom application whose API gateway is down
    port = closed_port()
    settings.NOTIFY_ALLOWED_HOSTS = [f"http://127.0.0.1:{port}"]
    settings.WECOM_API_BASE = f"http://127.0.0.1:{port}"
    settings.WECOM_CORP_ID, settings.WECOM_CORP_SECRET, settings.WECOM_AGENT_ID = v.CORP_ID, v.CORP_SECRET, "1000002"
    personas.alice.wecom_userid = "ZhangAlice"
    personas.alice.save()
    send_to(personas.alice, ("wecom_app",), now)
    # when the outbox tries it
    deliver_due(now=now)
    # then the corp secret appears nowhere in the log
    delivery = Delivery.objects.get()
    assert delivery.last_error.startswith("network error: ConnectionError")
    assert v.CORP_SECRET not in delivery.last_error


def test_a_vendor_error_page_is_not_copied_into_the_log(personas: Any, vendor: Any, now: Any) -> None:
    # given a gateway answering 502 with a page that echoes the request, key included
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    vendor.vendors.broken = (502, f"<h1>Bad gateway</h1> POST /cgi-bin/webhook/send?key={v.WECOM_KEY}")
    send_to(personas.alice, ("wecom_group",), now)
    # when the outbox tries it
    deliver_due(now=now)
    # then the log keeps the status and the host only
    delivery = Delivery.objects.get()
    assert delivery.last_error == f"HTTP 502 ({vendor.base})"
    assert delivery.status == Delivery.Status.PENDING  # a 5xx is worth another try


def test_a_vendor_json_error_keeps_its_errcode_but_not_its_message(personas: Any, vendor: Any, now: Any) -> None:
    # given a webhook with a wrong key (the vendor's errmsg carries a request hint)
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook + "x"})
    send_to(personas.alice, ("wecom_group",), now)
    deliver_due(now=now)
    assert Delivery.objects.get().last_error == "errcode 93000"


def test_the_failed_deliveries_admin_page_shows_no_token(
    personas: Any, now: Any, settings: Any, admin_client: Any
) -> None:
    # given a delivery that failed against a gateway that is down
    port = closed_port()
    settings.NOTIFY_ALLOWED_HOSTS = [f"http://127.0.0.1:{port}"]
    webhook = f"http://127.0.0.1:{port}/robot/send?access_token={v.DINGTALK_TOKEN}"
    channel_settings_update(team=personas.east1, changes={"dingtalk_webhook_url": webhook})
    send_to(personas.alice, ("dingtalk",), now)
    deliver_due(now=now)
    # when an admin reads the delivery log
    page = admin_client.get("/admin/notify/delivery/").content.decode()
    # then the failure is there, the token is not
    assert "ConnectionError" in page
    assert v.DINGTALK_TOKEN not in page


def test_settings_objects_print_without_their_secrets() -> None:
    # given a target and a team config holding a webhook key and a signing secret
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={v.WECOM_KEY}"
    target = Target(url, secret=v.DINGTALK_SECRET)
    config = ChannelConfig(wecom_webhook_url=url, dingtalk_secret=v.DINGTALK_SECRET, wecom_corp_secret=v.CORP_SECRET)
    # when they end up in a log line or a traceback
    shown = f"{target!r} {target} {config!r} {config}"
    # then only masks are shown
    assert v.WECOM_KEY not in shown
    assert v.DINGTALK_SECRET not in shown
    assert v.CORP_SECRET not in shown
    assert "https://qyapi.weixin.qq.com/…" in shown


# --- item 10: keys with rotation, and failures that stay where they are ------------------------


def test_several_keys_the_first_encrypts_every_one_decrypts(settings: Any) -> None:
    # given a secret stored under the old key
    settings.NOTIFY_ENCRYPTION_KEY = OLD_KEY
    token = crypto.encrypt(v.DINGTALK_SECRET)
    # when a new key is put first
    settings.NOTIFY_ENCRYPTION_KEY = f"{NEW_KEY}, {OLD_KEY}"
    # then the old value still opens, and new values are written under the new key only
    assert crypto.decrypt(token) == v.DINGTALK_SECRET
    fresh = crypto.encrypt("x")
    assert Fernet(NEW_KEY.encode()).decrypt(fresh.encode()) == b"x"


def test_secrets_written_before_the_own_key_existed_still_open(settings: Any) -> None:
    # given a secret written while NOTIFY_ENCRYPTION_KEY was unset (key derived from SECRET_KEY)
    settings.NOTIFY_ENCRYPTION_KEY = ""
    token = crypto.encrypt(v.FEISHU_SECRET)
    # when the deployment gets its own key
    settings.NOTIFY_ENCRYPTION_KEY = NEW_KEY
    # then the old value still opens
    assert crypto.decrypt(token) == v.FEISHU_SECRET
    # and after SECRET_KEY itself is rotated the way Django documents (old one in the fallbacks)
    old_secret_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key-" + "x" * 40, [old_secret_key]
    assert crypto.decrypt(token) == v.FEISHU_SECRET


def test_secrets_saved_under_the_old_built_in_secret_key_still_open_once_a_real_one_is_set(settings: Any) -> None:
    # given a secret saved by an earlier version that ran on its built-in SECRET_KEY
    settings.NOTIFY_ENCRYPTION_KEY, settings.SECRET_KEY = "", crypto.BUILT_IN_SECRET_KEY
    token = crypto.encrypt(v.DINGTALK_SECRET)
    # when the deployment gets a generated SECRET_KEY and its own notification key
    settings.SECRET_KEY, settings.NOTIFY_ENCRYPTION_KEY = "generated-" + "z" * 50, NEW_KEY
    # then the secret still opens (and notify_reencrypt can move it under the new key)
    assert crypto.decrypt(token) == v.DINGTALK_SECRET
    assert Fernet(NEW_KEY.encode()).decrypt(crypto.reencrypt(token).encode()) == v.DINGTALK_SECRET.encode()


def test_notify_reencrypt_moves_every_stored_secret_to_the_first_key(personas: Any, settings: Any) -> None:
    # given East-1's secrets stored under the old key
    settings.NOTIFY_ENCRYPTION_KEY = OLD_KEY
    url = "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456"
    channel_settings_update(team=personas.east1, changes={"dingtalk_webhook_url": url, "dingtalk_secret": "SECx"})
    # when a new key is put first and the command is run
    settings.NOTIFY_ENCRYPTION_KEY = f"{NEW_KEY},{OLD_KEY}"
    call_command("notify_reencrypt", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # then the old key can be dropped: the new one alone opens them
    settings.NOTIFY_ENCRYPTION_KEY = NEW_KEY
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40  # not the derived fallback either
    config = team_configs()[personas.east1.pk]
    assert (config.dingtalk_webhook_url, config.dingtalk_secret, config.unreadable) == (url, "SECx", frozenset())


def test_notify_reencrypt_names_the_teams_whose_secrets_no_key_opens(personas: Any, settings: Any) -> None:
    settings.NOTIFY_ENCRYPTION_KEY = LOST_KEY
    channel_settings_update(team=personas.west1, changes={"feishu_secret": "lost"})
    settings.NOTIFY_ENCRYPTION_KEY = NEW_KEY
    with pytest.raises(CommandError, match=f"team\\(s\\) {personas.west1.pk} cannot be decrypted"):
        call_command("notify_reencrypt", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_one_teams_unreadable_settings_fail_its_own_deliveries_and_the_others_go_out(
    personas: Any, vendor: Any, now: Any, settings: Any, admin_client: Any
) -> None:
    # given East-1's robot was stored under a key since lost, West-1's under the current key
    settings.NOTIFY_ENCRYPTION_KEY = LOST_KEY
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    settings.NOTIFY_ENCRYPTION_KEY = NEW_KEY
    channel_settings_update(team=personas.west1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    # when both teams get their message and the outbox is worked
    send_to(personas.alice, ("wecom_group",), now, key="east")
    send_to(personas.bob, ("wecom_group",), now, key="west")
    deliver_due(now=now)
    # then West-1's went out, and East-1's failed with a clear error that shows no secret
    east = Delivery.objects.get(user=personas.alice)
    west = Delivery.objects.get(user=personas.bob)
    assert west.status == Delivery.Status.SENT
    assert len(vendor.vendors.bodies("wecom_group")) == 1
    assert east.status == Delivery.Status.FAILED
    assert "wecom_webhook_url cannot be decrypted" in east.last_error
    assert v.WECOM_KEY not in east.last_error + east.recipient
    # and the channel settings admin lists both teams, the unreadable one said so
    page = admin_client.get("/admin/notify/channelsettings/")
    assert page.status_code == 200
    assert "无法解密" in page.content.decode()  # the admin speaks Chinese by default


def test_saving_an_action_whose_notification_meets_unreadable_settings_still_succeeds(
    personas: Any, api_as: Any, now: Any, settings: Any
) -> None:
    # given East-1's channel settings were stored under a key since lost
    settings.NOTIFY_ENCRYPTION_KEY = LOST_KEY
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": "https://qyapi.weixin.qq.com/x?key=1"})
    settings.NOTIFY_ENCRYPTION_KEY = NEW_KEY
    # and alice's call recording could not be read (no speech-to-text engine)
    settings.ASR_URL = ""
    shop = make_customer(owner=personas.alice, name="联华超市(徐汇店)")
    alice = api_as(personas.alice)
    payload = {"customer_id": str(shop.pk), "kind": "audio", "file": upload("call.wav", wav_bytes())}
    recording = alice.client.post("/api/v1/evidence", payload, **alice.headers).json()
    evidence_recognise(evidence_id=recording["id"], now=now)
    # when she saves the call, which tells her to write the summary by hand
    body = valid_price_negotiation(shop.pk, now, contact_method="phone", summary="", evidence_ids=[recording["id"]])
    response = alice.post("/actions", body)
    # then the save succeeds and the message reaches her inbox
    assert response.status_code == 201, response.content
    assert InboxMessage.objects.filter(user=personas.alice, source="evidence").count() == 1


def test_errors_logged_before_the_fix_are_scrubbed_of_urls_and_bodies() -> None:
    # given error texts the delivery log held before (the full URL, the vendor's body)
    migration = importlib.import_module("salestrace.notify.migrations.0002_scrub_delivery_errors")
    old = {
        f"network error: ConnectionError: HTTPSConnectionPool(host='oapi.dingtalk.com', port=443): Max retries "
        f"exceeded with url: /robot/send?access_token={v.DINGTALK_TOKEN}": "network error: ConnectionError",
        f"HTTP 502: <h1>Bad gateway</h1> key={v.WECOM_KEY}": "HTTP 502",
        "not JSON: <html>…</html>": "not JSON",
        "errcode 93000: invalid webhook url, hint: [1700000000_1_abc]": "errcode 93000",
        "gettoken errcode 40001: invalid credential": "gettoken errcode 40001",
        f"KeyError: '{v.CORP_SECRET}'": "(error text removed: it could contain a secret)",
        "channel no longer configured for this recipient": "channel no longer configured for this recipient",
    }
    # then the migration keeps the class, status or errcode, and nothing else
    assert {text: migration.scrubbed(text) for text in old} == old


def test_error_reports_hide_the_webhook_urls(settings: Any) -> None:
    # given webhooks configured from the environment
    settings.WECOM_WEBHOOK_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={v.WECOM_KEY}"
    settings.DINGTALK_WEBHOOK_URL = f"https://oapi.dingtalk.com/robot/send?access_token={v.DINGTALK_TOKEN}"
    # when an error report lists the settings
    shown = str(get_default_exception_reporter_filter().get_safe_settings())
    # then neither key appears
    assert v.WECOM_KEY not in shown
    assert v.DINGTALK_TOKEN not in shown
