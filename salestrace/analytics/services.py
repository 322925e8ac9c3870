"""Writes of analytics: the cached heavy analyses (AnalysisResult), requested and computed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from salestrace.analytics.fetch import Population, everything, facts_count, population_of
from salestrace.analytics.models import AnalysisResult
from salestrace.analytics.selectors import (
    TOP_PERFORMERS,
    CycleGroup,
    DealFunnelBoard,
    Period,
    TopPerformersView,
    cycle_from_payload,
    cycle_payload,
    deal_cycle_board,
    deal_funnel_board,
    funnel_from_payload,
    funnel_payload,
    is_rep_view,
    min_sample,
    params_key,
    scope_of,
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


# --- the funnel and cycle time: computed on request for a team, kept a while for a company ------


def _answer(
    *,
    kind: str,
    user: User,
    period: Period,
    team_id: int | None,
    extra: dict[str, Any],
    now: datetime,
    compute: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], datetime]:
    """(payload, when it was computed). A scope of up to SALESTRACE_ANALYSIS_INLINE_DEALS deals (a
    team; a rep always) is computed on every request, so it moves with every logged action. A larger
    one (a company's year: hundreds of thousands of deals, seconds of work) is computed on the first
    request and kept for SALESTRACE_ANALYSIS_MAX_AGE_MINUTES, shared by everyone with the same scope;
    the page says when it was computed and offers to compute it again."""
    if (
        is_rep_view(user)
        or facts_count(population_of(user, team_id=team_id), since=period.since, until=period.until)
        <= settings.SALESTRACE_ANALYSIS_INLINE_DEALS
    ):
        return compute(), now
    params = {
        "scope": scope_of(user),
        "team_id": team_id,
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "min_sample": min_sample(),
        **extra,
    }
    key = params_key(params)
    fresh_after = now - timedelta(minutes=settings.SALESTRACE_ANALYSIS_MAX_AGE_MINUTES)
    kept = AnalysisResult.objects.filter(
        kind=kind, params_key=key, status=AnalysisResult.Status.DONE, computed_at__gte=fresh_after
    ).first()
    if kept is not None and kept.payload is not None and kept.computed_at is not None:
        return kept.payload, kept.computed_at
    payload = compute()
    AnalysisResult.objects.update_or_create(
        kind=kind,
        params_key=key,
        defaults={
            "params": params,
            "payload": payload,
            "status": AnalysisResult.Status.DONE,
            "requested_at": now,
            "requested_by": user,
            "computed_at": now,
            "error": "",
        },
    )
    return payload, now


def funnel_answer(
    *, user: User, period: Period, team_id: int | None, now: datetime
) -> tuple[DealFunnelBoard, datetime]:
    """The funnel board (`deal_funnel_board`) and when it was computed."""
    payload, at = _answer(
        kind=FUNNEL,
        user=user,
        period=period,
        team_id=team_id,
        extra={},
        now=now,
        compute=lambda: funnel_payload(deal_funnel_board(user=user, period=period, team_id=team_id)),
    )
    return funnel_from_payload(payload), at


def cycle_answer(
    *, user: User, period: Period, today: date, team_id: int | None, top_n: int, now: datetime
) -> tuple[list[CycleGroup], datetime]:
    """The cycle-time groups (`deal_cycle_board`) and when they were computed."""
    payload, at = _answer(
        kind=CYCLE,
        user=user,
        period=period,
        team_id=team_id,
        extra={"top_n": top_n, "today": today.isoformat()},
        now=now,
        compute=lambda: cycle_payload(
            deal_cycle_board(user=user, period=period, today=today, team_id=team_id, top_n=top_n)
        ),
    )
    return cycle_from_payload(payload, top_n=top_n), at


FUNNEL = "funnel"
CYCLE = "cycle_time"
