"""The 18:00 message on the channels a company really uses: defaults, team digests, languages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from salestrace.notify.models import Delivery, InboxMessage
from salestrace.notify.services import channel_settings_update
from salestrace.notify.tests import vendors as v
from salestrace.notify.tests.vendors import VendorServer
from salestrace.org.models import Role, Team, User
from salestrace.todos.models import Task
from salestrace.todos.tests.helpers import local

pytestmark = pytest.mark.django_db

AT = local(2026, 11, 26, 18)  # a Thursday


@pytest.fixture
def vendor(settings: Any) -> Any:
    """Nothing configured from the environment; the local vendors listen."""
    for name in ("WECOM_WEBHOOK_URL", "WECOM_CORP_ID", "WECOM_CORP_SECRET", "WECOM_AGENT_ID"):
        setattr(settings, name, "")
    for name in ("DINGTALK_WEBHOOK_URL", "DINGTALK_SECRET", "FEISHU_WEBHOOK_URL", "FEISHU_SECRET"):
        setattr(settings, name, "")
    settings.NOTIFY_EMAIL_ENABLED = False
    with VendorServer() as server:
        settings.NOTIFY_ALLOWED_HOSTS = [server.base]
        yield server


def due_today(*users: Any, title: str = "回访联华超市") -> None:
    """An open task due at 18:00 today for each user: something their daily message must list."""
    for user in users:
        Task.objects.create(
            assignee=user,
            title=title,
            due_at=AT,
            source=Task.Source.FOLLOW_UP,
            created_at=local(2026, 11, 25, 9),
            updated_at=local(2026, 11, 25, 9),
        )


def run_sweep_and_outbox(at: datetime = AT) -> None:
    with time_machine.travel(at, tick=False):
        call_command("run_job", "daily_reminders", "--at", f"{at:%Y-%m-%d %H:%M}")
        call_command("run_job", "deliver", "--at", f"{at:%Y-%m-%d %H:%M}")


def test_a_company_with_only_a_dingtalk_robot_gets_the_daily_reminder_there(
    personas: Any, vendor: Any, settings: Any
) -> None:
    # given a new company that set only DINGTALK_WEBHOOK_URL and DINGTALK_SECRET, and a rep added as
    # an admin adds one (no channel chosen)
    settings.DINGTALK_WEBHOOK_URL = vendor.dingtalk_webhook
    settings.DINGTALK_SECRET = v.DINGTALK_SECRET
    carol = User.objects.create_user(username="carol", password="pw-carol", role=Role.REP, team=personas.east1)
    due_today(carol)
    # when the 18:00 job runs, then the outbox
    run_sweep_and_outbox()
    # then the DingTalk robot received the team's digest naming her, and the delivery log shows it sent
    (body,) = vendor.vendors.bodies("dingtalk")
    assert "carol：1 项" in body["markdown"]["text"]
    assert list(Delivery.objects.values_list("channel", "status")) == [("dingtalk", Delivery.Status.SENT)]
    # and her own list is in her inbox
    (message,) = InboxMessage.objects.filter(user=carol)
    assert "回访联华超市" in message.payload["lines"][0]["text"]


def test_each_team_robot_gets_one_digest_with_its_members_mentioned_and_each_rep_their_own_list(
    personas: Any, vendor: Any, settings: Any
) -> None:
    # given East-1 has a WeCom group robot, West-1 a signed DingTalk robot, and the company a WeCom
    # application for personal messages
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    channel_settings_update(
        team=personas.west1,
        changes={"dingtalk_webhook_url": vendor.dingtalk_webhook, "dingtalk_secret": v.DINGTALK_SECRET},
    )
    settings.WECOM_API_BASE = vendor.base
    settings.WECOM_CORP_ID, settings.WECOM_CORP_SECRET, settings.WECOM_AGENT_ID = v.CORP_ID, v.CORP_SECRET, "1000002"
    carol = User.objects.create_user(username="carol", role=Role.REP, team=personas.east1, wecom_userid="ZhangCarol")
    User.objects.filter(pk=personas.alice.pk).update(wecom_userid="LiAlice")
    User.objects.filter(pk=personas.bob.pk).update(mobile="13800000001")
    due_today(personas.alice, carol, personas.bob)
    # when the sweep and the outbox run
    run_sweep_and_outbox()
    # then East-1's robot got one digest of both reps, @-mentioning them by WeCom userid
    (wecom,) = vendor.vendors.bodies("wecom_group")
    content = wecom["markdown"]["content"]
    assert "East-1：2 人，共 2 项待补" in content
    assert "<@LiAlice>" in content
    assert "<@ZhangCarol>" in content
    assert "回访联华超市" not in content  # the personal list stays personal
    # and West-1's DingTalk robot one digest @-mentioning bob by his mobile number
    (dingtalk,) = vendor.vendors.bodies("dingtalk")
    assert dingtalk["at"]["atMobiles"] == ["13800000001"]
    assert "@13800000001" in dingtalk["markdown"]["text"]
    assert "bob：1 项" in dingtalk["markdown"]["text"]
    # and each rep with a WeCom userid got their own list as an application message, not via a robot
    assert sorted(b["touser"] for b in vendor.vendors.bodies("wecom_app")) == ["LiAlice", "ZhangCarol"]
    assert all("回访联华超市" in b["markdown"]["content"] for b in vendor.vendors.bodies("wecom_app"))


def test_a_robot_shared_by_many_teams_gets_their_digests_in_as_few_messages_as_fit(
    personas: Any, vendor: Any, settings: Any
) -> None:
    # given one company-wide WeCom group robot and 30 teams of 10 reps, each with something to finish
    settings.WECOM_WEBHOOK_URL = vendor.wecom_webhook
    region = Team.objects.create(name="South", kind=Team.Kind.REGION, parent=personas.east.parent)
    teams = Team.objects.bulk_create([Team(name=f"{t:02d}组", parent=region) for t in range(30)])
    reps = User.objects.bulk_create(
        [
            User(
                username=f"rep{i:03d}", display_name=f"业务员{i:03d}", role=Role.REP, team=teams[i // 10], password="!"
            )
            for i in range(300)
        ]
    )
    due_today(*reps)
    # when the sweep and one run of the outbox go
    run_sweep_and_outbox()
    # then the robot got a few messages, never one over WeCom's 4,096 bytes, within its 20 a minute
    bodies = [b["markdown"]["content"] for b in vendor.vendors.bodies("wecom_group")]
    assert 1 < len(bodies) < 20
    assert all(len(c.encode()) <= 4096 for c in bodies)
    # and every rep is named exactly once, every team's digest is logged as sent
    text = "\n".join(bodies)
    assert all(text.count(f"业务员{i:03d}：") == 1 for i in range(300))
    assert Delivery.objects.filter(team__in=teams, status=Delivery.Status.SENT).count() == 30
    assert not Delivery.objects.exclude(status=Delivery.Status.SENT).exists()


def test_each_rep_reads_the_message_in_their_language_and_the_team_digest_is_in_chinese(
    personas: Any, vendor: Any
) -> None:
    # given alice reads English, bob the default (Chinese), and East-1 has a robot
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    User.objects.filter(pk=personas.alice.pk).update(language="en")
    carol = User.objects.create_user(username="carol", role=Role.REP, team=personas.east1)
    due_today(personas.alice, carol, personas.bob)
    # when the sweep runs
    run_sweep_and_outbox()
    # then each inbox message is in its reader's language
    alice_msg = InboxMessage.objects.get(user=personas.alice)
    assert alice_msg.title == "11-26: 1 things to finish today"
    assert alice_msg.payload["lines"][0]["text"].startswith("Due today:")
    bob_msg = InboxMessage.objects.get(user=personas.bob)
    assert bob_msg.title.startswith("11-26")
    assert "今日到期" in bob_msg.payload["lines"][0]["text"]
    # and the team's digest is in the company's language
    (content,) = [b["markdown"]["content"] for b in vendor.vendors.bodies("wecom_group")]
    assert "East-1：2 人，共 2 项待补" in content
