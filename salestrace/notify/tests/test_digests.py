"""Whose channels, and group robots: team defaults, digests merged per robot, the robot's rate limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from salestrace.notify.jobs import deliver_due, handle_one_delivery
from salestrace.notify.models import ChannelSettings, Delivery
from salestrace.notify.selectors import team_configs
from salestrace.notify.services import TeamDigest, notify_teams, notify_user
from salestrace.notify.tests import vendors as v
from salestrace.notify.transports import Line, Mention, Message
from salestrace.org.models import Team

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_env_channels")]

NOTE = Message(title="明日回访 2 项", lines=(Line("回访联华超市"),))


def channels_queued(user: Any, now: Any, key: str) -> list[str]:
    notify_user(user=user, message=NOTE, dedupe_key=key, source="test", now=now)
    return sorted(Delivery.objects.filter(dedupe_key__startswith=f"{key}:").values_list("channel", flat=True))


def test_a_user_without_a_choice_gets_every_channel_configured_for_the_team_and_a_team_list_narrows_it(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    # given the company configured a DingTalk robot and e-mail, and East-1 its own WeCom group robot
    settings.DINGTALK_WEBHOOK_URL = vendor.dingtalk_webhook
    settings.DINGTALK_SECRET = v.DINGTALK_SECRET
    settings.NOTIFY_EMAIL_ENABLED = True
    from salestrace.notify.services import channel_settings_update

    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    personas.bob.email = "bob@example.com"
    personas.bob.save()
    # then without any choice, each gets every channel their team can use
    assert channels_queued(personas.alice, now, "a1") == ["dingtalk", "wecom_group"]
    assert channels_queued(personas.bob, now, "b1") == ["dingtalk", "email"]
    # when the East region sets its default list to the WeCom robot only (East-1 inherits it)
    ChannelSettings.objects.update_or_create(team=personas.east, defaults={"default_channels": ["wecom_group"]})
    assert channels_queued(personas.alice, now, "a2") == ["wecom_group"]
    # and a user's own choice overrides the team's list; an empty choice means the inbox only
    personas.alice.notify_channels = ["dingtalk"]
    personas.alice.save()
    assert channels_queued(personas.alice, now, "a3") == ["dingtalk"]
    personas.alice.notify_channels = []
    personas.alice.save()
    assert channels_queued(personas.alice, now, "a4") == []


def _digest(team: Team, reps: int, key: str) -> TeamDigest:
    title = "11-26 待补录汇总"
    pieces = [Message(title=title, lines=(Line(f"{team.name}：{reps} 人"),))]
    pieces += [
        Message(title=title, lines=(Line(f"{team.name}-业务员{i:02d}：3 项待补"),), mentions=(Mention("x", f"u{i}"),))
        for i in range(reps)
    ]
    return TeamDigest(team.pk, tuple(pieces), key)


def test_a_saturated_shared_robot_puts_the_merged_digests_back_and_sends_each_once_later(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    # given 5 teams' digests for one company-wide robot that another system has saturated
    settings.WECOM_WEBHOOK_URL = vendor.wecom_webhook
    teams = Team.objects.bulk_create([Team(name=f"T{t}", parent=personas.east) for t in range(5)])
    notify_teams(digests=[_digest(t, 3, f"d{t.pk}") for t in teams], configs=team_configs(), source="daily", now=now)
    vendor.vendors.wecom_group_per_minute = 0
    # when the outbox tries
    handle_one_delivery(now=now)
    # then all five went out as one message, were refused with 45009, and wait a minute, no attempt counted
    rows = list(Delivery.objects.order_by("pk"))
    assert [(d.status, d.attempts, d.next_attempt_at) for d in rows] == [
        (Delivery.Status.PENDING, 0, now + timedelta(seconds=60))
    ] * 5
    assert all("45009" in d.last_error for d in rows)
    # when the robot has room again and the outbox runs a minute later
    vendor.vendors.wecom_group_per_minute = 20
    later = now + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        deliver_due(now=later)
    # then one message carries every team's digest once
    (body,) = vendor.vendors.bodies("wecom_group")
    for team in teams:
        assert body["markdown"]["content"].count(f"{team.name}：3 人") == 1
    assert body["markdown"]["content"].count("<@u0>") == 5
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_a_robots_limit_counts_vendor_messages_not_the_team_digests_they_carry(
    personas: Any, vendor: Any, now: Any, settings: Any
) -> None:
    # given 60 teams share one robot, each digest about 1.4 KB, so two fit in one 4 KB WeCom message
    settings.WECOM_WEBHOOK_URL = vendor.wecom_webhook
    teams = Team.objects.bulk_create([Team(name=f"T{t:02d}", parent=personas.east) for t in range(60)])
    notify_teams(digests=[_digest(t, 40, f"d{t.pk}") for t in teams], configs=team_configs(), source="daily", now=now)
    # when the outbox runs for one minute
    deliver_due(now=now)
    # then the robot took its 20 messages, carrying more than 20 teams, none over the size limit
    bodies = vendor.vendors.bodies("wecom_group")
    assert len(bodies) == 20
    assert all(len(b["markdown"]["content"].encode()) <= 4096 for b in bodies)
    sent = Delivery.objects.filter(status=Delivery.Status.SENT).count()
    assert sent > 20
    # and the rest wait for the next minute, then go out without loss or repetition
    later = now + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        deliver_due(now=later)
    text = "\n".join(b["markdown"]["content"] for b in vendor.vendors.bodies("wecom_group"))
    assert all(text.count(f"T{t:02d}：40 人") == 1 for t in range(60))
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 60
