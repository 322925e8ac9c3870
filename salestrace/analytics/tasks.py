"""Analytics background work: the heavy analyses the deal pages read from their cache, and the weekly
action-health digest with its coaching tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from huey.contrib.djhuey import db_task

from salestrace.analytics.jobs import digest_images_purge, health_digest
from salestrace.analytics.services import analysis_compute, analysis_purge, analysis_warm
from salestrace.core import clock
from salestrace.core.schedule import local_crontab, periodic, register_job


def _analysis_compute(result_id: int) -> bool:
    """Compute one requested analysis (queued by analysis_request after its commit)."""
    return analysis_compute(result_id=result_id, now=clock.now())


# Not retried by huey: a failure is kept on the row and the page offers to compute again.
analysis_compute_task = cast(Callable[..., Any], db_task()(_analysis_compute))


register_job("analysis_purge", lambda now: analysis_purge(now=now))


@periodic(local_crontab(minute="40", hour="2"))
def analysis_purge_tick() -> int:
    return analysis_purge(now=clock.now())


register_job("health_digest_purge", lambda now: digest_images_purge(now=now))


@periodic(local_crontab(minute="45", hour="2"))
def digest_images_purge_tick() -> int:
    return digest_images_purge(now=clock.now())


register_job("analysis_warm", lambda now: analysis_warm(now=now))


@periodic(local_crontab(minute="10", hour="5"))
def analysis_warm_tick() -> int:
    """Before the working day: the company's funnel and cycle time, so a director's first look is instant."""
    return analysis_warm(now=clock.now())


register_job("health_digest", lambda now: health_digest(now=now))


# Every ten minutes: nothing happens until the week's digest day and time have come (one query once
# the week is done), so a moved setting or a consumer that was down at 08:00 still gets it out.
@periodic(local_crontab(minute="*/10"))
def health_digest_tick() -> int:
    return health_digest(now=clock.now())
