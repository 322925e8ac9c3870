"""The action log's background work: reading evidence, and the hourly evidence sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from huey.contrib.djhuey import db_task

from salestrace.actions.evidence_services import evidence_recognise, evidence_requeue_stuck, evidence_sweep_unattached
from salestrace.core import clock
from salestrace.core.schedule import local_crontab, periodic, register_job


def evidence_sweep(now: datetime) -> int:
    """Uploads never attached to an action: rows and files deleted after EVIDENCE_UNATTACHED_HOURS;
    readings whose task was lost are queued again."""
    return evidence_sweep_unattached(now=now) + evidence_requeue_stuck(now=now)


register_job("evidence_sweep", evidence_sweep)


@periodic(local_crontab(minute="17"))
def evidence_sweep_tick() -> int:
    return evidence_sweep(clock.now())


def _evidence_recognise(evidence_id: int) -> bool:
    """OCR a screenshot or transcribe a recording, queued by evidence_add after its commit."""
    return evidence_recognise(evidence_id=evidence_id, now=clock.now())


# Retried by hand (POST /evidence/{id}/retry), not by huey: a failure is shown to the user.
evidence_recognise_task = cast(Callable[..., Any], db_task()(_evidence_recognise))
