"""The calendar feed: a secret .ics address of one person's open tasks and planned next steps, that a
phone calendar subscribes to without signing in; shown once, replaced or stopped by its owner."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.todos.models import CalendarFeed, Task

pytestmark = pytest.mark.django_db


def make_task(user: Any, title: str, due_at: datetime, **fields: Any) -> Task:
    return Task.objects.create(
        assignee=user, title=title, due_at=due_at, created_at=due_at, updated_at=due_at, **fields
    )


def subscribe(client: Any, user: Any) -> str:
    """Make the address on the page as `user` and read it off the page (shown once)."""
    client.force_login(user)
    page = client.post("/account/calendar/", {"do": "create"}, follow=True)
    found = re.search(r'value="(http[^"]+\.ics)"', page.content.decode())
    assert found, page.content.decode()
    client.logout()
    return found.group(1).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def events(client: Any, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_shows_my_open_tasks_and_next_steps_to_a_calendar_that_does_not_sign_in(personas, api_as, client, now):
    # given alice's open task, a done one, bob's task, and a next step she planned on a store
    mine = make_task(personas.alice, "回访 联华超市", now + timedelta(days=1), detail="带新品目录")
    make_task(personas.alice, "已完成", now + timedelta(days=1), status=Task.Status.DONE)
    make_task(personas.bob, "bob 的", now + timedelta(days=1))
    shop = make_customer(owner=personas.alice, name="联华超市(江宁店)")
    logged = api_as(personas.alice).post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=1)))
    assert logged.status_code == 201, logged.content
    planned = date.fromisoformat(logged.json()["next_step_date"])
    # when she makes her address and her phone's calendar fetches it, signed out
    path = subscribe(client, personas.alice)
    found = events(client, path)
    # then it holds her open task at its due time and the next step on its day, nothing else
    task = found[f"task-{mine.pk}@salestrace"]
    assert str(task["SUMMARY"]) == "回访 联华超市"
    assert task.decoded("DTSTART") == mine.due_at
    assert "带新品目录" in str(task["DESCRIPTION"])
    step = found[f"next-step-{logged.json()['id']}@salestrace"]
    assert step.decoded("DTSTART") == planned
    assert "联华超市(江宁店)" in str(step["SUMMARY"])
    assert "按新账期重新报价" in str(step["SUMMARY"])
    assert len(found) == 2
    # and the fetch is noted for her page
    assert CalendarFeed.objects.get(user=personas.alice).last_used_at == now


def test_a_next_step_acted_on_leaves_the_feed(personas, api_as, client, now):
    shop = make_customer(owner=personas.alice)
    alice = api_as(personas.alice)
    first = alice.post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=3))).json()
    later = valid_price_negotiation(
        shop.pk, now - timedelta(hours=1), next_step_date=str(now.date() + timedelta(days=5))
    )
    second = alice.post("/actions", later).json()
    path = subscribe(client, personas.alice)
    assert set(events(client, path)) == {f"next-step-{second['id']}@salestrace"}
    assert first["id"] != second["id"]


def test_the_address_is_shown_once_and_a_new_one_or_stopping_it_shuts_the_old_one(personas, client):
    old = subscribe(client, personas.alice)
    # the page does not show it again
    client.force_login(personas.alice)
    assert old not in client.get("/account/calendar/").content.decode()
    client.logout()
    new = subscribe(client, personas.alice)
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    client.force_login(personas.alice)
    client.post("/account/calendar/", {"do": "revoke"})
    client.logout()
    assert client.get(new).status_code == 404


def test_a_switched_off_account_or_a_made_up_token_gets_nothing(personas, client):
    path = subscribe(client, personas.alice)
    assert client.get(path.replace("cal_", "cal_x")).status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    personas.alice.is_active = False
    personas.alice.save(update_fields=["is_active"])
    assert client.get(path).status_code == 404


def test_only_a_digest_of_the_token_is_stored(personas, client):
    path = subscribe(client, personas.alice)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(user=personas.alice)
    assert token not in (feed.digest, feed.prefix)
    assert feed.prefix == token[:8]
