"""The schedule's plumbing, shared by every app's tasks.py: local-time crontabs and the job registry.

huey runs with `utc=True`, so a plain `crontab(hour=18)` would fire at 18:00 UTC (02:00 in
Shanghai). `local_crontab` converts huey's UTC tick to TIME_ZONE before matching, which also keeps
schedules right whatever the consumer host's own time zone is.

Each app registers its runnable jobs with `register_job` in its own `tasks.py` (imported by its
AppConfig.ready, so every process knows them): `manage.py run_job <name> [--at …]` and the
`run_job_task` huey task run them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast
from zoneinfo import ZoneInfo

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

Job = Callable[[datetime], int]
Tick = Callable[[], int]

# name -> job(now) -> how many items it handled; filled by the apps' tasks.py modules.
JOBS: dict[str, Job] = {}


def register_job(name: str, job: Job) -> Job:
    """Make `job` runnable by name (run_job, run_job_task); a name is registered once."""
    if name in JOBS and JOBS[name] is not job:
        raise RuntimeError(f"job {name!r} registered twice")
    JOBS[name] = job
    return job


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


def periodic(validate: Callable[[datetime], bool]) -> Callable[[Tick], Tick]:
    """huey's db_periodic_task, typed (huey has no annotations)."""
    return cast(Callable[[Tick], Tick], db_periodic_task(validate))
