"""The action log's background work: stamping photos, reading evidence, the hourly evidence sweep
and the purge of old Idempotency-Keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from huey.contrib.djhuey import db_task

from salestrace.actions.evidence_services import (
    evidence_process,
    evidence_recognise,
    evidence_requeue_stuck,
    evidence_sweep_orphan_files,
    evidence_sweep_unattached,
)
from salestrace.actions.services import idempotency_purge
from salestrace.core import clock
from salestrace.core.schedule import local_crontab, periodic, register_job


def evidence_sweep(now: datetime) -> int:
    """Uploads never attached to an action: rows and files deleted after EVIDENCE_UNATTACHED_HOURS;
    files no row names (a process killed mid-upload) deleted after EVIDENCE_ORPHAN_GRACE_HOURS;
    readings and stampings whose task was lost are queued again."""
    return evidence_sweep_unattached(now=now) + evidence_sweep_orphan_files(now=now) + evidence_requeue_stuck(now=now)


register_job("evidence_sweep", evidence_sweep)


@periodic(local_crontab(minute="17"))
def evidence_sweep_tick() -> int:
    return evidence_sweep(clock.now())


# Idempotency-Keys older than IDEMPOTENCY_RETENTION_HOURS are forgotten.
register_job("idempotency_purge", lambda now: idempotency_purge(now=now))


@periodic(local_crontab(minute="47"))
def idempotency_purge_tick() -> int:
    return idempotency_purge(now=clock.now())


def _evidence_recognise(evidence_id: int) -> bool:
    """OCR a screenshot or transcribe a recording, queued by evidence_add after its commit."""
    return evidence_recognise(evidence_id=evidence_id, now=clock.now())


# Retried by hand (POST /evidence/{id}/retry), not by huey: a failure is shown to the user.
evidence_recognise_task = cast(Callable[..., Any], db_task()(_evidence_recognise))


def _evidence_process(evidence_id: int) -> bool:
    """Stamp a visit photo and make its hash and flags, queued by its upload after the commit."""
    return evidence_process(evidence_id=evidence_id, now=clock.now())


# Not retried by huey: a photo that cannot be stamped is shown as such; a lost task is queued
# again by the hourly evidence sweep.
evidence_process_task = cast(Callable[..., Any], db_task()(_evidence_process))
