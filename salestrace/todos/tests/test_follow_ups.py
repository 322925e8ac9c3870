"""Follow-up rules from the template, next-step tasks and their reminders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine

from salestrace.notify.models import InboxMessage
from salestrace.todos.jobs import follow_ups, task_reminders
from salestrace.todos.models import FollowUpRule, Task
from salestrace.todos.tests.helpers import SHANGHAI, local, log, make_customer

pytestmark = pytest.mark.django_db


def _scan(at: Any) -> None:
    with time_machine.travel(at, tick=False):
        follow_ups(now=at)


def test_the_fmcg_quote_rule_is_read_from_the_template(personas: Any) -> None:
    _scan(local(2026, 9, 30, 12))
    rule = FollowUpRule.objects.get(code="quote_follow_up")
    assert (rule.condition, rule.due_working_days, rule.pack) == (
        {"field": "key_action", "equals": "send_quote"},
        3,
        "fmcg",
    )


def test_a_quote_makes_a_follow_up_due_on_the_third_working_day_once(personas: Any) -> None:
    # given alice sends a quote on 30 September
    shop = make_customer(personas.alice, "联华超市")
    action = log(personas.alice, shop, local(2026, 9, 30, 10), key_action="send_quote")
    # when the follow-up job scans the log (twice)
    _scan(local(2026, 9, 30, 10, 5))
    _scan(local(2026, 9, 30, 10, 10))
    # then one task, due on Saturday 10 October (the adjusted working day), linked to the form
    task = Task.objects.get(source=Task.Source.FOLLOW_UP)
    assert task.assignee == personas.alice
    assert task.action == action
    assert task.due_at.astimezone(SHANGHAI).date() == date(2026, 10, 10)
    assert task.remind_at == local(2026, 10, 10, 8, 30)
    assert task.link.endswith(f"/customers/{shop.pk}/actions/new/?after={action.pk}")


def test_an_action_on_the_customer_meanwhile_closes_the_follow_up(personas: Any) -> None:
    shop = make_customer(personas.alice, "联华超市")
    log(personas.alice, shop, local(2026, 9, 30, 10), key_action="send_quote")
    _scan(local(2026, 9, 30, 11))
    # when alice calls on the store on 8 October
    log(personas.alice, shop, local(2026, 10, 8, 9))
    _scan(local(2026, 10, 8, 9, 5))
    task = Task.objects.get(source=Task.Source.FOLLOW_UP)
    assert task.status == Task.Status.DONE
    assert task.resolution == "auto: action logged"


def test_the_morning_of_the_next_step_date_the_rep_is_reminded_once(personas: Any, settings: Any) -> None:
    settings.NOTIFY_EMAIL_ENABLED = False
    shop = make_customer(personas.alice, "联华超市")
    log(personas.alice, shop, local(2026, 10, 8, 16), next_step=date(2026, 10, 9))
    _scan(local(2026, 10, 8, 16, 5))
    task = Task.objects.get(source=Task.Source.NEXT_STEP)
    # when the reminder job runs before and after 08:30 on the 9th
    for at in (local(2026, 10, 9, 8, 25), local(2026, 10, 9, 8, 30), local(2026, 10, 9, 8, 35)):
        with time_machine.travel(at, tick=False):
            task_reminders(now=at)
    # then exactly one message, sent at 08:30
    (message,) = InboxMessage.objects.filter(user=personas.alice)
    assert message.created_at == local(2026, 10, 9, 8, 30)
    assert "复查陈列并补货" in message.payload["lines"][0]["text"]
    task.refresh_from_db()
    assert task.reminded_at == local(2026, 10, 9, 8, 30)


def test_a_planned_contact_is_reminded_hours_before(personas: Any, api_as: Any, settings: Any) -> None:
    # given alice plans a call at 15:00 with the default 2-hour reminder
    settings.SALESTRACE_TASK_REMIND_HOURS = 2
    at = local(2026, 11, 26, 9)
    with time_machine.travel(at, tick=False):
        response = api_as(personas.alice).post("/tasks", {"title": "电话回访王店长", "due_at": "2026-11-26T15:00:00"})
    assert response.status_code == 201, response.content
    # when the job runs at 12:55 and 13:00
    for moment in (at + timedelta(hours=3, minutes=55), at + timedelta(hours=4)):
        with time_machine.travel(moment, tick=False):
            task_reminders(now=moment)
    (message,) = InboxMessage.objects.filter(user=personas.alice)
    assert message.created_at == local(2026, 11, 26, 13)
    assert "电话回访王店长" in message.payload["lines"][0]["text"]


def test_the_admin_only_shows_follow_up_rules(admin_client: Any, personas: Any) -> None:
    # changed in Settings › Follow-ups, through the services that check them and keep their history
    _scan(local(2026, 9, 30, 12))
    rule = FollowUpRule.objects.get(code="quote_follow_up")
    assert admin_client.get("/admin/todos/followuprule/").status_code == 200
    assert admin_client.get("/admin/todos/followuprule/add/").status_code == 403
    admin_client.post(f"/admin/todos/followuprule/{rule.pk}/change/", {"due_working_days": 9, "condition": "{}"})
    assert FollowUpRule.objects.get(pk=rule.pk).due_working_days == 3
