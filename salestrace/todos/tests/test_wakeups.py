"""Lead wake-ups (线索唤醒): a task after 15 idle days, the supervisor CC'd, once per idle spell."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from salestrace.customers.models import Customer
from salestrace.notify.models import InboxMessage
from salestrace.todos.jobs import handle_one_wakeup_batch, vitality_sweep, wakeups
from salestrace.todos.models import Task
from salestrace.todos.tests.helpers import local, log, make_customer

pytestmark = pytest.mark.django_db
T0 = local(2026, 10, 12, 10)  # a Monday


@pytest.fixture
def quiet(personas: Any) -> Customer:
    customer = make_customer(personas.alice, "好德便利店(张江店)")
    log(personas.alice, customer, T0, key_action="send_quote")
    customer.refresh_from_db()
    Customer.objects.filter(pk=customer.pk).update(assigned_at=T0 - timedelta(days=90))
    return customer


@pytest.mark.parametrize(
    ("day", "woken"), [(6, False), (7, False), (8, False), (14, False), (15, True), (16, True), (29, True)]
)
def test_a_wakeup_task_comes_after_fifteen_idle_days(quiet: Customer, day: int, woken: bool) -> None:
    wakeups(now=T0 + timedelta(days=day, minutes=1))
    assert Task.objects.filter(source=Task.Source.WAKE_UP, customer=quiet).exists() is woken


def test_the_task_offers_three_moves_and_cc_s_the_supervisor_with_a_digest(personas: Any, quiet: Customer) -> None:
    # when the sweep runs on day 16
    wakeups(now=T0 + timedelta(days=16))
    # then alice has one wake-up task on that customer, and sam (East, above East-1) is CC'd
    task = Task.objects.get(source=Task.Source.WAKE_UP)
    assert task.assignee == personas.alice
    assert list(task.cc.all()) == [personas.sam]
    assert "好德便利店(张江店)" in task.title
    assert "16" in task.title
    for move in ("发送行业报告", "分享客户案例", "预约15分钟快速诊断"):
        assert move in task.detail
    assert task.link.endswith(f"/customers/{quiet.pk}/actions/new/?key_action=send_industry_report")
    # alice is told once for the night, the lead's line opening the first move's prefilled form
    mine = InboxMessage.objects.get(user=personas.alice, source="wakeup")
    assert [line["link"] for line in mine.payload["lines"]] == [task.link]
    assert "好德便利店(张江店)" in mine.payload["lines"][0]["text"]
    # sam's copy carries the lead's stage and its latest action (the history digest)
    digest = InboxMessage.objects.get(user=personas.sam, source="wakeup")
    text = " ".join(line["text"] for line in digest.payload["lines"])
    assert "需求确认" in text
    assert "发送报价单" in text
    assert "积极" in text
    assert "发送报价单" in task.detail


def test_an_owner_with_many_quiet_leads_gets_one_message_listing_them(personas: Any) -> None:
    # given alice has 25 leads that went quiet on the same day
    quiet = [make_customer(personas.alice, f"门店{i}") for i in range(25)]
    for customer in quiet:
        log(personas.alice, customer, T0)
    Customer.objects.filter(pk__in=[c.pk for c in quiet]).update(assigned_at=T0 - timedelta(days=90))
    # when the sweep runs on day 16, in batches of 10
    assert wakeups(now=T0 + timedelta(days=16), size=10) == 25
    # then 25 tasks, and one message each to alice and to sam, capped with "and 5 more"
    assert Task.objects.filter(source=Task.Source.WAKE_UP).count() == 25
    mine = InboxMessage.objects.get(user=personas.alice, source="wakeup")
    assert "25" in mine.title
    assert len(mine.payload["lines"]) == 21
    assert "5" in mine.payload["lines"][-1]["text"]
    assert InboxMessage.objects.filter(user=personas.sam, source="wakeup").count() == 1


def test_one_wakeup_per_idle_spell_however_often_the_sweep_runs(personas: Any, quiet: Customer) -> None:
    for hours in range(0, 72, 12):
        wakeups(now=T0 + timedelta(days=16, hours=hours))
    assert Task.objects.filter(source=Task.Source.WAKE_UP).count() == 1
    assert InboxMessage.objects.filter(user=personas.alice, source="wakeup").count() == 1
    # a new action starts a new spell, which gets its own wake-up 15 days later
    log(personas.alice, quiet, T0 + timedelta(days=20))
    wakeups(now=T0 + timedelta(days=30))
    assert Task.objects.filter(source=Task.Source.WAKE_UP).count() == 1
    wakeups(now=T0 + timedelta(days=36))
    assert Task.objects.filter(source=Task.Source.WAKE_UP).count() == 2


def test_a_crash_after_the_task_but_before_the_mark_sends_nothing_twice(personas: Any, quiet: Customer) -> None:
    now = T0 + timedelta(days=16)
    assert handle_one_wakeup_batch(now=now).handled == 1
    # as if the worker died before the customer was marked
    Customer.objects.filter(pk=quiet.pk).update(wakeup_for=None)
    wakeups(now=now)
    assert Task.objects.filter(source=Task.Source.WAKE_UP).count() == 1
    assert InboxMessage.objects.filter(user=personas.alice, source="wakeup").count() == 1


def test_the_nightly_sweep_pools_first_then_wakes(personas: Any, quiet: Customer) -> None:
    other = make_customer(personas.alice, "罗森(徐汇店)")
    log(personas.alice, other, T0 + timedelta(days=14))
    Customer.objects.filter(pk=other.pk).update(assigned_at=T0)
    # on day 31 the first customer is pooled (no wake-up now: it is no longer active); the other is woken
    handled = vitality_sweep(now=T0 + timedelta(days=31))
    quiet.refresh_from_db()
    assert quiet.status == Customer.Status.DORMANT
    assert handled == 2
    assert list(Task.objects.filter(source=Task.Source.WAKE_UP).values_list("customer__name", flat=True)) == [
        "罗森(徐汇店)"
    ]


def test_run_job_vitality_sweep(personas: Any, quiet: Customer) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("run_job", "vitality_sweep", "--at", "2026-11-13 01:30", stdout=out)
    assert "vitality_sweep at 2026-11-13 01:30" in out.getvalue()
    quiet.refresh_from_db()
    assert quiet.status == Customer.Status.DORMANT


def test_the_owner_and_the_cc_d_supervisor_each_read_the_wakeup_in_their_own_language(
    personas: Any, quiet: Customer
) -> None:
    # given alice reads English and sam, her supervisor, the default (Chinese)
    personas.alice.language = "en"
    personas.alice.save()
    # when the sweep runs on day 16
    wakeups(now=T0 + timedelta(days=16))
    # then alice's message is in English
    mine = InboxMessage.objects.get(user=personas.alice, source="wakeup")
    assert "16 days without an action" in " ".join(line["text"] for line in mine.payload["lines"])
    # and sam's copy is in Chinese
    digest = InboxMessage.objects.get(user=personas.sam, source="wakeup")
    assert "需求确认" in " ".join(line["text"] for line in digest.payload["lines"])
