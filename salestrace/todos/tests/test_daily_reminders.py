"""The 18:00 sweep with frozen time: across the National Day holiday and its adjusted working weekend."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from salestrace.actions.evidence_services import evidence_recognise, evidence_upload
from salestrace.actions.rules import ActionDraft
from salestrace.actions.services import action_log
from salestrace.actions.tests.evidence_files import photo_bytes, upload, wav_bytes
from salestrace.catalog.models import Rule
from salestrace.catalog.services import catalog_changed
from salestrace.notify.jobs import deliver_due
from salestrace.notify.models import Delivery, InboxMessage
from salestrace.notify.services import channel_settings_update
from salestrace.notify.tests.vendors import VendorServer
from salestrace.todos import jobs
from salestrace.todos.jobs import daily_reminders, follow_ups
from salestrace.todos.models import CompanyDayOff, ReminderRun, Task
from salestrace.todos.tests.helpers import local, log, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor(settings: Any) -> Any:
    settings.WECOM_WEBHOOK_URL = ""
    settings.WECOM_CORP_ID = ""
    settings.DINGTALK_WEBHOOK_URL = ""
    settings.FEISHU_WEBHOOK_URL = ""
    settings.NOTIFY_EMAIL_ENABLED = False
    with VendorServer() as server:
        settings.NOTIFY_ALLOWED_HOSTS = [server.base]
        yield server


@pytest.fixture
def week(personas: Any, vendor: Any) -> Any:
    """Alice quotes a store on 30 Sep with a next step on 8 Oct; Bob plans a next step for 8 Oct too.

    Both teams have a WeCom group robot (the local one); reps keep the default channels.
    """
    channel_settings_update(team=personas.east1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    channel_settings_update(team=personas.west1, changes={"wecom_webhook_url": vendor.wecom_webhook})
    shop = make_customer(personas.alice, "联华超市(曹杨店)")
    log(personas.alice, shop, local(2026, 9, 30, 10), key_action="send_quote", next_step=date(2026, 10, 8))
    market = make_customer(personas.bob, "华润万家(滨江店)")
    log(personas.bob, market, local(2026, 9, 30, 11), next_step=date(2026, 10, 8))
    with time_machine.travel(local(2026, 9, 30, 12), tick=False):
        follow_ups(now=local(2026, 9, 30, 12))
    return personas


def test_on_a_public_holiday_nobody_is_reminded(week: Any) -> None:
    # when the sweep runs at 18:00 on National Day
    at = local(2026, 10, 1, 18)
    with time_machine.travel(at, tick=False):
        handled = daily_reminders(now=at)
    # then nothing is queued
    assert handled == 0
    assert not InboxMessage.objects.exists()


def test_at_18_00_each_rep_with_something_missing_gets_one_message_with_links(week: Any, vendor: Any) -> None:
    # given it is Thursday 8 October, the first working day after the holiday
    at = local(2026, 10, 8, 18)
    with time_machine.travel(at, tick=False):
        daily_reminders(now=at)
        deliver_due(now=at)
    # then alice's inbox has one message naming the next step due today, with a link to the form
    (alice_msg,) = InboxMessage.objects.filter(user=week.alice)
    texts = [line["text"] for line in alice_msg.payload["lines"]]
    assert any("联华超市(曹杨店)" in t and "复查陈列并补货" in t for t in texts), texts
    assert all("/customers/" in line["link"] for line in alice_msg.payload["lines"])
    # and the team robot got exactly one message per rep
    contents = [b["markdown"]["content"] for b in vendor.vendors.bodies("wecom_group")]
    assert len(contents) == 2
    assert sum("联华超市(曹杨店)" in c for c in contents) == 1
    assert sum("华润万家(滨江店)" in c for c in contents) == 1


def test_before_the_team_reminder_time_nothing_is_sent_and_a_team_can_move_its_time(week: Any) -> None:
    # given East-1 moved its reminder to 17:30
    week.east1.reminder_time = time(17, 30)
    week.east1.save()
    at = local(2026, 10, 8, 17, 45)
    with time_machine.travel(at, tick=False):
        daily_reminders(now=at)
    # then at 17:45 alice (East-1) has her message and bob (West-1, 18:00) not yet
    assert InboxMessage.objects.filter(user=week.alice).count() == 1
    assert InboxMessage.objects.filter(user=week.bob).count() == 0


def test_nothing_missing_means_no_message(week: Any) -> None:
    # given alice logged a visit on the store today, so her next step is done
    shop = week.alice.customers.get()
    log(week.alice, shop, local(2026, 10, 8, 15))
    at = local(2026, 10, 8, 18)
    with time_machine.travel(at, tick=False):
        daily_reminders(now=at)
    assert not InboxMessage.objects.filter(user=week.alice).exists()
    assert InboxMessage.objects.filter(user=week.bob).count() == 1


def test_an_entry_that_breaks_a_rule_added_later_is_listed_as_incomplete(week: Any) -> None:
    # given alice sends an e-mail today, then the admin requires a deliverable on e-mails
    shop = week.alice.customers.get()
    log(week.alice, shop, local(2026, 10, 8, 15))
    Rule.objects.create(
        code="email_needs_deliverable",
        condition={"field": "contact_method", "equals": "email"},
        requires=["next_step_deliverable"],
        message_zh="邮件沟通须填写交付物",
        message_en="An e-mail needs a deliverable",
    )
    catalog_changed()  # as the admin does on save
    at = local(2026, 10, 8, 18)
    with time_machine.travel(at, tick=False):
        daily_reminders(now=at)
    (message,) = InboxMessage.objects.filter(user=week.alice)
    assert any(
        "联华超市(曹杨店)" in line["text"] and "next step deliverable" not in line["text"]
        for line in message.payload["lines"]
    )
    assert len(message.payload["lines"]) == 1


def test_the_adjusted_working_saturday_has_a_sweep_with_the_quote_follow_up_and_sunday_has_none(week: Any) -> None:
    # given the quote's follow-up fell on the adjusted working Saturday, 10 October
    follow_up = Task.objects.get(source=Task.Source.FOLLOW_UP)
    assert follow_up.due_at.astimezone(local(2026, 1, 1).tzinfo).date() == date(2026, 10, 10)
    # when the sweeps run on Saturday and Sunday at 18:00
    for day in (10, 11):
        at = local(2026, 10, day, 18)
        with time_machine.travel(at, tick=False):
            daily_reminders(now=at)
    # then Saturday's message lists the follow-up, and Sunday sent nothing more
    messages = list(InboxMessage.objects.filter(user=week.alice))
    assert len(messages) == 1
    assert messages[0].dedupe_key.endswith("2026-10-10")
    assert any("报价已发出3个工作日" in line["text"] for line in messages[0].payload["lines"])


def test_a_company_day_off_has_no_sweep(week: Any) -> None:
    CompanyDayOff.objects.create(date=date(2026, 10, 8), name="公司年会")
    at = local(2026, 10, 8, 18)
    with time_machine.travel(at, tick=False):
        assert daily_reminders(now=at) == 0
    assert not InboxMessage.objects.exists()


def test_a_sweep_killed_midway_and_run_again_sends_nothing_twice(week: Any, vendor: Any, monkeypatch: Any) -> None:
    # given the worker dies while queueing the second team's messages
    from salestrace.notify.services import notify as real_notify

    calls = {"with_notes": 0}

    def dying_notify(**kwargs: Any) -> int:
        if kwargs["notes"]:
            calls["with_notes"] += 1
            if calls["with_notes"] == 2:
                raise RuntimeError("worker killed")
        return real_notify(**kwargs)

    monkeypatch.setattr(jobs, "notify", dying_notify)
    at = local(2026, 10, 8, 18)
    with time_machine.travel(at, tick=False), pytest.raises(RuntimeError):
        daily_reminders(now=at)
    assert InboxMessage.objects.count() == 1  # the first team is done, the second rolled back whole
    # when the operator re-runs the sweep (twice, for good measure) and the outbox is worked
    monkeypatch.setattr(jobs, "notify", real_notify)
    with time_machine.travel(at, tick=False):
        call_command("run_job", "daily_reminders", "--at", "2026-10-08 18:00")
        call_command("run_job", "daily_reminders", "--at", "2026-10-08 18:05")
        deliver_due(now=at)
        deliver_due(now=at)
    # then every rep has exactly one inbox message and the robot got exactly one per rep
    assert sorted(InboxMessage.objects.values_list("user__username", flat=True)) == ["alice", "bob"]
    assert len(vendor.vendors.bodies("wecom_group")) == 2
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2
    assert ReminderRun.objects.filter(local_date=date(2026, 10, 8)).count() == 5  # every team, once


def test_run_job_rejects_a_malformed_time(week: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("run_job", "daily_reminders", "--at", "8 Oct 18:00")


def test_a_visit_with_its_photo_is_complete_and_an_unreadable_call_asks_for_its_summary(
    week: Any, settings: Any
) -> None:
    # given alice's visit with its photo, and a call saved with a recording nobody could transcribe
    settings.ASR_URL = ""
    shop = week.alice.customers.get()
    at = local(2026, 10, 8, 15)
    photo = evidence_upload(
        user=week.alice, customer_id=shop.pk, kind="photo", upload=upload("p.jpg", photo_bytes(seed=5)), now=at
    )
    visit = ActionDraft(
        occurred_at=at, contact_method="visit", stage="needs_confirmed", key_action="store_check", emotion="positive"
    )
    action_log(user=week.alice, customer_id=shop.pk, draft=visit, now=at, evidence_ids=[photo.pk])
    recording = evidence_upload(
        user=week.alice, customer_id=shop.pk, kind="audio", upload=upload("c.wav", wav_bytes()), now=at
    )
    call = ActionDraft(
        occurred_at=at, contact_method="phone", stage="needs_confirmed", key_action="store_check", emotion="positive"
    )
    call_action, _ = action_log(user=week.alice, customer_id=shop.pk, draft=call, now=at, evidence_ids=[recording.pk])
    evidence_recognise(evidence_id=recording.pk, now=at)
    # when the 18:00 sweep runs
    at = local(2026, 10, 8, 18)
    with time_machine.travel(at, tick=False):
        daily_reminders(now=at)
    # then the visit is not listed, and the call's summary is asked for with a link to write it
    (message,) = InboxMessage.objects.filter(user=week.alice, source=jobs.DAILY_SOURCE)
    lines = message.payload["lines"]
    assert not any("照片" in line["text"] for line in lines)
    (summary_line,) = [line for line in lines if "请补写" in line["text"]]
    assert summary_line["text"] == "请补写 联华超市(曹杨店) 的沟通摘要：截图或录音未能识别"
    assert summary_line["link"].endswith(f"/actions/{call_action.pk}/summary/")
