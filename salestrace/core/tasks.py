"""The one generic task: run a registered job in the worker (the apps' own tasks live in their tasks.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from huey.contrib.djhuey import db_task

from salestrace.core import clock
from salestrace.core.schedule import JOBS


def _run_job(name: str, at_iso: str | None = None) -> int:
    """Run one named job in the worker, as if at `at_iso` (default: now)."""
    now = datetime.fromisoformat(at_iso) if at_iso else clock.now()
    return JOBS[name](now)


# Enqueue with run_job_task(name, at_iso); huey returns a Result handle.
run_job_task = cast(Callable[..., Any], db_task()(_run_job))
