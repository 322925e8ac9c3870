"""Reminders and lead aging on huey's clock, in Asia/Shanghai local time."""

from __future__ import annotations

from salestrace.core import clock
from salestrace.core.schedule import local_crontab, periodic, register_job
from salestrace.todos.jobs import daily_reminders, follow_ups, task_reminders, vitality_sweep

# Each team's daily reminder at its own local time (18:00 unless moved): checked every minute,
# so a moved time or a consumer that was down at 18:00 still gets the day's reminder out.
register_job("daily_reminders", lambda now: daily_reminders(now=now))
# Follow-up rules and next-step tasks from newly logged actions.
register_job("follow_ups", lambda now: follow_ups(now=now))
# Reminders of tasks coming due: the morning of the due day, N hours before a planned time.
register_job("task_reminders", lambda now: task_reminders(now=now))
# Lead aging: idle leads to the dormant pool, wake-up tasks for the quiet ones (nightly).
register_job("vitality_sweep", lambda now: vitality_sweep(now=now))


@periodic(local_crontab(minute="*"))
def daily_reminders_tick() -> int:
    return daily_reminders(now=clock.now())


@periodic(local_crontab(minute="*/2"))
def follow_ups_tick() -> int:
    return follow_ups(now=clock.now())


@periodic(local_crontab(minute="*/5"))
def task_reminders_tick() -> int:
    return task_reminders(now=clock.now())


# Nightly, before anyone starts work; a rerun (or run_job vitality_sweep) changes nothing twice.
@periodic(local_crontab(minute="30", hour="1"))
def vitality_sweep_tick() -> int:
    return vitality_sweep(now=clock.now())
