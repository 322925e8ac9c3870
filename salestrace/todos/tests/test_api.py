"""/api/v1/tasks and the 我的待办 page, per persona."""

from __future__ import annotations

from typing import Any

import pytest

from salestrace.todos.models import Task

pytestmark = pytest.mark.django_db


def _create(api: Any, **body: Any) -> Any:
    return api.post("/tasks", {"title": "送新品样品到联华", "due_at": "2026-11-27T10:00:00+08:00", **body})


def test_a_rep_creates_a_task_for_herself_and_a_rep_of_another_team_cannot_see_it(
    personas: Any, api_as: Any, now: Any
) -> None:
    # given alice creates a task with her supervisor CC'd
    response = _create(api_as(personas.alice), cc_ids=[personas.sam.pk])
    assert response.status_code == 201, response.content
    task = response.json()
    assert (task["assignee_id"], task["status"], task["source"], task["cc_ids"]) == (
        personas.alice.pk,
        "open",
        "manual",
        [personas.sam.pk],
    )
    assert task["remind_at"].startswith("2026-11-27T00:00:00")  # 2 h before, in UTC
    # then bob gets 404 and an empty list; sam (supervisor, CC'd) sees it
    assert api_as(personas.bob).get(f"/tasks/{task['id']}").status_code == 404
    assert api_as(personas.bob).get("/tasks").json()["items"] == []
    assert [t["id"] for t in api_as(personas.sam).get("/tasks").json()["items"]] == [task["id"]]


def test_a_rep_may_not_assign_tasks_to_others_but_a_supervisor_may_within_scope(
    personas: Any, api_as: Any, now: Any
) -> None:
    assert _create(api_as(personas.alice), assignee_id=personas.bob.pk).status_code == 403
    assert _create(api_as(personas.sam), assignee_id=personas.bob.pk).status_code == 422
    assert _create(api_as(personas.sam), assignee_id=personas.alice.pk).status_code == 201


def test_marking_a_task_done_and_filtering_by_status(personas: Any, api_as: Any, now: Any) -> None:
    api = api_as(personas.alice)
    task_id = _create(api).json()["id"]
    response = api.patch(f"/tasks/{task_id}", {"status": "done"})
    assert response.status_code == 200
    assert response.json()["completed_at"] is not None
    assert api.get("/tasks?status=open").json()["items"] == []
    assert api.patch(f"/tasks/{task_id}", {"status": "finished"}).status_code == 400
    assert api_as(personas.bob).patch(f"/tasks/{task_id}", {"status": "open"}).status_code == 404


def test_bad_input_is_a_clear_error_not_a_crash(personas: Any, api_as: Any, now: Any) -> None:
    api = api_as(personas.alice)
    response = api.post("/tasks", {"title": "", "due_at": "tomorrow"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"title", "due_at"}


def test_my_tasks_page_lists_open_tasks_and_marks_one_done(
    personas: Any, api_as: Any, client: Any, now: Any, settings: Any
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    task_id = _create(api_as(personas.alice)).json()["id"]
    client.force_login(personas.alice)
    page = client.get("/tasks/")
    assert page.status_code == 200
    assert "送新品样品到联华" in page.content.decode()
    assert "我的待办" in page.content.decode()
    response = client.post(f"/tasks/{task_id}/status/", {"status": "done"})
    assert response.status_code == 302
    assert Task.objects.get(pk=task_id).status == Task.Status.DONE


def test_inbox_messages_show_as_new_once_on_my_tasks(client: Any, personas: Any, now: Any) -> None:
    from salestrace.notify.models import InboxMessage

    message = InboxMessage.objects.create(
        user=personas.alice,
        title="请补写沟通摘要：联华超市",
        payload={},
        source="evidence",
        dedupe_key="k1",
        created_at=now,
    )
    client.force_login(personas.alice)
    first = client.get("/tasks/").content.decode()
    assert 'class="unread"' in first
    message.refresh_from_db()
    assert message.read_at is not None
    assert 'class="unread"' not in client.get("/tasks/").content.decode()
