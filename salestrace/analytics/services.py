"""Writes of analytics: the cached heavy analyses (AnalysisResult), requested and computed."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from salestrace.analytics.fetch import Population, everything, population_of
from salestrace.analytics.models import AnalysisResult
from salestrace.analytics.selectors import (
    TOP_PERFORMERS,
    Period,
    TopPerformersView,
    params_key,
    top_performers_compute,
    top_performers_params,
    top_performers_view,
)
from salestrace.org.models import User

logger = logging.getLogger(__name__)

# A computation pending longer than this was lost (a consumer restarted): it may be asked for again.
STUCK_AFTER = timedelta(minutes=10)


def analysis_request(
    *, kind: str, params: dict[str, Any], user: User, now: datetime, force: bool = False
) -> tuple[AnalysisResult, bool]:
    """The cached result for these parameters, and whether a computation was queued.

    A missing result is created pending and queued; `force` (the recompute button) queues an
    existing one again. While one is pending nothing more is queued, unless it has been pending
    longer than STUCK_AFTER. The task is queued after the commit.
    """
    key = params_key(params)
    with transaction.atomic():
        result = AnalysisResult.objects.select_for_update().filter(kind=kind, params_key=key).first()
        if result is None:
            try:
                with transaction.atomic():
                    result = AnalysisResult.objects.create(
                        kind=kind, params_key=key, params=params, requested_at=now, requested_by=user
                    )
            except IntegrityError:  # asked for at the same moment by someone else
                return AnalysisResult.objects.get(kind=kind, params_key=key), False
        else:
            stuck = result.status == AnalysisResult.Status.PENDING and result.requested_at < now - STUCK_AFTER
            if not (force and result.status != AnalysisResult.Status.PENDING) and not stuck:
                return result, False
            result.status, result.requested_at, result.requested_by = AnalysisResult.Status.PENDING, now, user
            result.save(update_fields=["status", "requested_at", "requested_by"])
        pk = result.pk
        transaction.on_commit(lambda: enqueue_analysis(pk))
    return result, True


# Analyses nobody asked for in this long are dropped: the default period moves every day, so
# yesterday's parameters are rarely asked for again.
KEEP_FOR = timedelta(days=30)


def analysis_purge(*, now: datetime) -> int:
    """Delete analyses last requested more than KEEP_FOR ago; how many were deleted."""
    deleted, _by_model = AnalysisResult.objects.filter(requested_at__lt=now - KEEP_FOR).delete()
    return deleted


def enqueue_analysis(result_id: int) -> None:
    from salestrace.analytics.tasks import analysis_compute_task

    analysis_compute_task(result_id)


def _population(scope: str, team_id: int | None) -> Population:
    if scope == "all":
        return everything(team_id)
    user = User.objects.get(pk=int(scope.removeprefix("user:")))
    return population_of(user, team_id=team_id)


def analysis_compute(*, result_id: int, now: datetime) -> bool:
    """Compute one pending analysis into its row; False when it is gone or not pending.

    A failure is kept on the row (status failed, the error) so the page can say so.
    """
    result = AnalysisResult.objects.filter(pk=result_id, status=AnalysisResult.Status.PENDING).first()
    if result is None:
        return False
    params = result.params
    try:
        payload = top_performers_compute(
            population=_population(params["scope"], params["team_id"]),
            period=Period(date.fromisoformat(params["since"]), date.fromisoformat(params["until"])),
            group=params["group"],
            top_n=params["top_n"],
            threshold=params["min_sample"],
        )
    except Exception as error:
        logger.exception("analysis %s failed", result_id)
        AnalysisResult.objects.filter(pk=result_id).update(
            status=AnalysisResult.Status.FAILED, error=str(error)[:500], computed_at=now
        )
        return True
    AnalysisResult.objects.filter(pk=result_id).update(
        status=AnalysisResult.Status.DONE, payload=payload, computed_at=now, error=""
    )
    return True


def top_performers_get(
    *, user: User, period: Period, team_id: int | None, group: str, top_n: int, now: datetime, force: bool = False
) -> tuple[AnalysisResult, TopPerformersView | None]:
    """The cached top-performer analysis for these parameters (queued when missing, or when
    `force`), and its sentences when one has been computed (the previous one while recomputing)."""
    params = top_performers_params(user=user, period=period, team_id=team_id, group=group, top_n=top_n)
    result, _queued = analysis_request(kind=TOP_PERFORMERS, params=params, user=user, now=now, force=force)
    return result, top_performers_view(result.payload) if result.payload else None
