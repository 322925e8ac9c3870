"""Every background schedule of SalesTrace, in one place, in Asia/Shanghai local time.

huey runs with `utc=True`, so a plain `crontab(hour=18)` would fire at 18:00 UTC (02:00 in
Shanghai). `local_crontab` converts huey's UTC tick to TIME_ZONE before matching, which also keeps
schedules right whatever the consumer host's own time zone is.

`JOBS` names the jobs `manage.py run_job <name> [--at "YYYY-MM-DD HH:MM"]` can run by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from salestrace.actions.evidence_services import (
    evidence_requeue_stuck,
    evidence_sweep_orphan_files,
    evidence_sweep_unattached,
)
from salestrace.actions.services import idempotency_purge
from salestrace.core import clock
from salestrace.notify.jobs import deliver_due
from salestrace.todos.jobs import daily_reminders, follow_ups, task_reminders, vitality_sweep

# A huey periodic task must finish well inside its minute, or ticks pile up behind it.
DELIVERY_BUDGET_SECONDS = 50


def local_crontab(
    minute: str = "*", hour: str = "*", day: str = "*", month: str = "*", day_of_week: str = "*"
) -> Callable[[datetime], bool]:
    """huey's crontab, read in settings.TIME_ZONE (Asia/Shanghai) instead of huey's UTC."""
    matches = crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, strict=True)
    zone = ZoneInfo(settings.TIME_ZONE)

    def validate(timestamp: datetime) -> bool:
        if HUEY.utc and timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        if timestamp.tzinfo is not None:
            timestamp = timestamp.astimezone(zone).replace(tzinfo=None)
        return bool(matches(timestamp))

    return validate


Tick = Callable[[], int]


def _periodic(validate: Callable[[datetime], bool]) -> Callable[[Tick], Tick]:
    """huey's db_periodic_task, typed (huey has no annotations)."""
    return cast(Callable[[Tick], Tick], db_periodic_task(validate))


def _deliver(now: datetime) -> int:
    return deliver_due(now=now, budget_seconds=DELIVERY_BUDGET_SECONDS)


JOBS: dict[str, Callable[[datetime], int]] = {
    # Each team's daily reminder at its own local time (18:00 unless moved): checked every minute,
    # so a moved time or a consumer that was down at 18:00 still gets the day's reminder out.
    "daily_reminders": lambda now: daily_reminders(now=now),
    # Follow-up rules and next-step tasks from newly logged actions.
    "follow_ups": lambda now: follow_ups(now=now),
    # Reminders of tasks coming due: the morning of the due day, N hours before a planned time.
    "task_reminders": lambda now: task_reminders(now=now),
    # The outbox: WeCom, DingTalk, Feishu, e-mail, with retries.
    "deliver": _deliver,
    # Lead aging: idle leads to the dormant pool, wake-up tasks for the quiet ones (nightly).
    "vitality_sweep": lambda now: vitality_sweep(now=now),
    # Uploads never attached to an action: rows and files deleted after EVIDENCE_UNATTACHED_HOURS;
    # files no row names (a process killed mid-upload) deleted after EVIDENCE_ORPHAN_GRACE_HOURS;
    # readings and stampings whose task was lost are queued again.
    "evidence_sweep": lambda now: (
        evidence_sweep_unattached(now=now) + evidence_sweep_orphan_files(now=now) + evidence_requeue_stuck(now=now)
    ),
    # Idempotency-Keys older than IDEMPOTENCY_RETENTION_HOURS are forgotten.
    "idempotency_purge": lambda now: idempotency_purge(now=now),
}


@_periodic(local_crontab(minute="*"))
def daily_reminders_tick() -> int:
    return JOBS["daily_reminders"](clock.now())


@_periodic(local_crontab(minute="*/2"))
def follow_ups_tick() -> int:
    return JOBS["follow_ups"](clock.now())


@_periodic(local_crontab(minute="*/5"))
def task_reminders_tick() -> int:
    return JOBS["task_reminders"](clock.now())


@_periodic(local_crontab(minute="*"))
def deliver_tick() -> int:
    return JOBS["deliver"](clock.now())


# Nightly, before anyone starts work; a rerun (or run_job vitality_sweep) changes nothing twice.
@_periodic(local_crontab(minute="30", hour="1"))
def vitality_sweep_tick() -> int:
    return JOBS["vitality_sweep"](clock.now())


@_periodic(local_crontab(minute="17"))
def evidence_sweep_tick() -> int:
    return JOBS["evidence_sweep"](clock.now())


@_periodic(local_crontab(minute="47"))
def idempotency_purge_tick() -> int:
    return JOBS["idempotency_purge"](clock.now())


def _run_job(name: str, at_iso: str | None = None) -> int:
    """Run one named job in the worker, as if at `at_iso` (default: now)."""
    now = datetime.fromisoformat(at_iso) if at_iso else clock.now()
    return JOBS[name](now)


# Enqueue with run_job_task(name, at_iso); huey returns a Result handle.
run_job_task = cast(Callable[..., Any], db_task()(_run_job))


def _evidence_recognise(evidence_id: int) -> bool:
    """OCR a screenshot or transcribe a recording, queued by evidence_add after its commit."""
    from salestrace.actions.evidence_services import evidence_recognise

    return evidence_recognise(evidence_id=evidence_id, now=clock.now())


# Retried by hand (POST /evidence/{id}/retry), not by huey: a failure is shown to the user.
evidence_recognise_task = cast(Callable[..., Any], db_task()(_evidence_recognise))


def _evidence_process(evidence_id: int) -> bool:
    """Stamp a visit photo and make its hash and flags, queued by its upload after the commit."""
    from salestrace.actions.evidence_services import evidence_process

    return evidence_process(evidence_id=evidence_id, now=clock.now())


# Not retried by huey: a photo that cannot be stamped is shown as such; a lost task is queued
# again by the hourly evidence sweep.
evidence_process_task = cast(Callable[..., Any], db_task()(_evidence_process))
