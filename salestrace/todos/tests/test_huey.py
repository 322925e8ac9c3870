"""A real task through the configured huey storage (SQLite file, or Redis with REDIS_URL), run the
way the consumer runs it: dequeue, then execute. Not immediate mode."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from huey.contrib.djhuey import HUEY

from salestrace.core.schedule import local_crontab
from salestrace.core.tasks import run_job_task
from salestrace.notify.models import InboxMessage
from salestrace.todos.models import ReminderRun
from salestrace.todos.tests.helpers import local, log, make_customer


def _run_like_the_consumer(task_id: str) -> Any:
    """Dequeue until our task comes up (others go back), then execute it."""
    others = []
    try:
        for _ in range(1000):
            task = HUEY.dequeue()
            if task is None:
                break
            if task.id == task_id:
                return HUEY.execute(task)
            others.append(task)
    finally:
        for task in others:
            HUEY.enqueue(task)
    raise AssertionError("our task never came out of the queue")


@pytest.mark.django_db(transaction=True)
def test_the_daily_sweep_runs_from_the_real_queue(personas: Any, settings: Any) -> None:
    # given alice has a next step due on 8 October
    assert not HUEY.immediate
    settings.NOTIFY_EMAIL_ENABLED = False
    settings.WECOM_WEBHOOK_URL = ""
    shop = make_customer(personas.alice, "联华超市")
    log(personas.alice, shop, local(2026, 10, 7, 16), next_step=date(2026, 10, 8))
    # when a web process enqueues the sweep and a consumer picks it up
    at = local(2026, 10, 8, 18)
    with time_machine.travel(at, tick=False):
        result = run_job_task("daily_reminders", at.isoformat())
        assert HUEY.pending_count() >= 1
        handled = _run_like_the_consumer(result.id)
    # then the sweep ran in the worker and alice has her message
    assert handled == 5
    assert ReminderRun.objects.count() == 5
    assert InboxMessage.objects.filter(user=personas.alice).count() == 1


def test_schedules_are_read_in_shanghai_time_not_utc() -> None:
    at_six_pm = local_crontab(minute="0", hour="18")
    # huey hands the validator naive UTC (utc=True): 10:00 UTC is 18:00 in Shanghai
    assert HUEY.utc
    assert at_six_pm(datetime(2026, 10, 8, 10, 0))
    assert not at_six_pm(datetime(2026, 10, 8, 18, 0))


def test_the_embedded_queue_does_not_fsync_on_every_enqueue(tmp_path: Any) -> None:
    # given the embedded queue as settings build it (the SQLite file without REDIS_URL)
    from config.huey_sqlite import SqliteHuey

    queue = SqliteHuey("salestrace", filename=str(tmp_path / "huey.sqlite3"))
    # when a task is queued, then it is kept in WAL mode with synchronous=NORMAL, as the main
    # database is: consistent on a crash, without an fsync on each photo upload's enqueue
    queue.storage.enqueue(b"task")
    assert queue.storage.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert queue.storage.conn.execute("pragma synchronous").fetchone()[0] == 1
    assert queue.pending_count() == 1
