"""Signatures use the real clock: `run_job deliver --at` decides what is due, never what a vendor sees."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from salestrace.notify.models import Delivery
from salestrace.notify.selectors import team_configs
from salestrace.notify.services import Note, Recipient, channel_settings_update, notify
from salestrace.notify.tests import vendors as v
from salestrace.notify.transports import Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_env_channels")]


def test_a_rerun_with_at_in_the_past_signs_dingtalk_and_feishu_with_the_real_time(
    personas: Any, vendor: Any, now: Any
) -> None:
    # given East-1's signed DingTalk robot and Feishu bot, and a message queued at 10:00 on 11-26
    channel_settings_update(
        team=personas.east1,
        changes={
            "dingtalk_webhook_url": vendor.dingtalk_webhook,
            "dingtalk_secret": v.DINGTALK_SECRET,
            "feishu_webhook_url": vendor.feishu_webhook,
            "feishu_secret": v.FEISHU_SECRET,
        },
    )
    recipient = Recipient(personas.alice.pk, personas.east1.pk, ("dingtalk", "feishu"))
    notify(notes=[Note(recipient, Message(title="补录提醒"), "k1")], configs=team_configs(), source="test", now=now)
    # when, two days later, an admin re-runs that outbox as of 10:00 on 11-26
    with time_machine.travel(now + timedelta(days=2), tick=False):
        call_command("run_job", "deliver", "--at", "2026-11-26 10:00", stdout=io.StringIO())
    # then both vendors, which refuse a signature more than an hour off their clock, accepted them
    assert len(vendor.vendors.bodies("dingtalk")) == 1
    assert len(vendor.vendors.bodies("feishu")) == 1
    # and the log keeps the simulated time the job ran as
    assert set(Delivery.objects.values_list("status", "sent_at")) == {(Delivery.Status.SENT, now)}
