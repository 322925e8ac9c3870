"""Imports' background work: committing an uploaded file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from huey.contrib.djhuey import db_task

from salestrace.core import clock
from salestrace.imports.services import import_run, import_set_run


def _import_run(job_id: int) -> str:
    """Check and write one queued import (queued by import_job_create after its commit)."""
    return import_run(job_id=job_id, now=clock.now()).status


# Not retried by huey: a failure is kept on the job, with its row errors, for the importer to read.
import_run_task = cast(Callable[..., Any], db_task()(_import_run))


def _import_set_run(job_ids: list[int]) -> list[str]:
    """Run the jobs of one set (a maven-crm zip's four files) in order."""
    return [job.status for job in import_set_run(job_ids=job_ids, now=clock.now())]


import_set_task = cast(Callable[..., Any], db_task()(_import_set_run))
