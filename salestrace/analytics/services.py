"""Writes of analytics: the cached heavy analyses (AnalysisResult), requested and computed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from salestrace.analytics.fetch import Population, everything, facts_count, population_of
from salestrace.analytics.models import AnalysisResult
from salestrace.analytics.selectors import (
    TOP_PERFORMERS,
    CycleGroup,
    DealFunnelBoard,
    Period,
    TopPerformersView,
    cycle_board,
    cycle_from_payload,
    cycle_payload,
    deal_cycle_board,
    deal_funnel_board,
    default_period,
    funnel_board,
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

FUNNEL = "funnel"
CYCLE = "cycle_time"

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
        result = AnalysisResult.objects.select_for_update().filter(kind=kind, params_key=key).defer("deal_ids").first()
        if result is None:
            try:
                with transaction.atomic():
                    result = AnalysisResult.objects.create(
                        kind=kind, params_key=key, params=params, requested_at=now, requested_by=user
                    )
            except IntegrityError:  # asked for at the same moment by someone else
                return AnalysisResult.objects.defer("deal_ids").get(kind=kind, params_key=key), False
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

    A failure is kept on the row (status failed, the error) so the page can say so; a kept funnel
    or cycle time keeps its previous figures meanwhile.
    """
    result = AnalysisResult.objects.filter(pk=result_id, status=AnalysisResult.Status.PENDING).defer("deal_ids").first()
    if result is None:
        return False
    try:
        payload = _payload_of(result.kind, result.params)
    except Exception as error:
        logger.exception("analysis %s failed", result_id)
        failed = AnalysisResult.Status.DONE if result.payload is not None else AnalysisResult.Status.FAILED
        AnalysisResult.objects.filter(pk=result_id).update(status=failed, error=str(error)[:500])
        return True
    deal_ids = payload.pop("deal_ids", None)  # kept apart: answers do not read them
    AnalysisResult.objects.filter(pk=result_id).update(
        status=AnalysisResult.Status.DONE, payload=payload, deal_ids=deal_ids, computed_at=now, error=""
    )
    return True


def _payload_of(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Compute an analysis from its kept parameters (whoever asked: the scope is in them)."""
    population = _population(params["scope"], params["team_id"])
    period = Period(date.fromisoformat(params["since"]), date.fromisoformat(params["until"]))
    if kind == FUNNEL:
        return funnel_payload(funnel_board(population=population, period=period))
    if kind == CYCLE:
        today = date.fromisoformat(params["today"])
        return cycle_payload(cycle_board(population=population, period=period, today=today, top_n=params["top_n"]))
    return top_performers_compute(
        population=population,
        period=period,
        group=params["group"],
        top_n=params["top_n"],
        threshold=params["min_sample"],
    )


def top_performers_get(
    *, user: User, period: Period, team_id: int | None, group: str, top_n: int, now: datetime, force: bool = False
) -> tuple[AnalysisResult, TopPerformersView | None]:
    """The cached top-performer analysis for these parameters (queued when missing, or when
    `force`), and its sentences when one has been computed (the previous one while recomputing)."""
    params = top_performers_params(user=user, period=period, team_id=team_id, group=group, top_n=top_n)
    result, _queued = analysis_request(kind=TOP_PERFORMERS, params=params, user=user, now=now, force=force)
    return result, top_performers_view(result.payload) if result.payload else None


# --- the funnel and cycle time: computed on request for a team, kept for a company ---------------


def kept_params(*, scope: str, team_id: int | None, period: Period, extra: dict[str, Any]) -> dict[str, Any]:
    """The parameters a kept funnel or cycle time is found by (and computed from)."""
    return {
        "scope": scope,
        "team_id": team_id,
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "min_sample": min_sample(),
        **extra,
    }


AnswerStatus = Literal["done", "pending", "failed"]


@dataclass(frozen=True)
class Answer:
    """A funnel or cycle-time answer: its figures (None while the first computation is pending),
    when they were computed, and done / pending / failed."""

    payload: dict[str, Any] | None
    computed_at: datetime | None
    status: AnswerStatus


def _answer(
    *,
    kind: str,
    user: User,
    period: Period,
    team_id: int | None,
    extra: dict[str, Any],
    now: datetime,
    compute: Callable[[], dict[str, Any]],
) -> Answer:
    """The figures for a request, computed by it only when that is quick.

    A scope of up to SALESTRACE_ANALYSIS_INLINE_DEALS deals (a team; a rep always) is computed on
    every request, so it moves with every logged action. A larger one (a company's year: hundreds
    of thousands of deals, seconds of work) is computed by the worker and kept, shared by everyone
    with the same scope: the company's default view every night (`analysis_warm`), any other on
    its first request, which is answered `pending` at once (the page updates itself when it is
    done). A kept result answers at once; once older than SALESTRACE_ANALYSIS_MAX_AGE_MINUTES the
    worker computes it again meanwhile, and the page says when the figures were computed.
    """
    if is_rep_view(user):
        return Answer(compute(), now, "done")
    # Only a large scope is kept: what is kept is answered without counting the deals again.
    params = kept_params(scope=scope_of(user), team_id=team_id, period=period, extra=extra)
    kept = AnalysisResult.objects.filter(kind=kind, params_key=params_key(params)).defer("deal_ids").first()
    if kept is not None and kept.payload is not None and kept.computed_at is not None:
        if kept.computed_at < now - timedelta(minutes=settings.SALESTRACE_ANALYSIS_MAX_AGE_MINUTES):
            analysis_request(kind=kind, params=params, user=user, now=now, force=True)
        return Answer(kept.payload, kept.computed_at, "done")
    if kept is None:
        population = population_of(user, team_id=team_id)
        if facts_count(population, since=period.since, until=period.until) <= settings.SALESTRACE_ANALYSIS_INLINE_DEALS:
            return Answer(compute(), now, "done")
    # Too large for a request and nothing kept yet (or the last try failed: asked for again).
    failed = kept is not None and kept.status == AnalysisResult.Status.FAILED
    result, _queued = analysis_request(kind=kind, params=params, user=user, now=now, force=failed)
    return Answer(None, None, cast(AnswerStatus, result.status))


def _keep(*, kind: str, params: dict[str, Any], payload: dict[str, Any], user: User | None, now: datetime) -> None:
    AnalysisResult.objects.update_or_create(
        kind=kind,
        params_key=params_key(params),
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


def analysis_warm(*, now: datetime) -> int:
    """Compute tonight what a director's deal pages first show tomorrow (the whole company, the
    default period and top 3): their first request is then answered from what is kept. How many
    analyses were computed; nothing for a company small enough to be computed on every request."""
    today = timezone.localdate(now)
    period = default_period(today)
    if facts_count(everything(), since=period.since, until=period.until) <= settings.SALESTRACE_ANALYSIS_INLINE_DEALS:
        return 0
    done = 0
    for kind, extra in ((FUNNEL, {}), (CYCLE, {"top_n": 3, "today": today.isoformat()})):
        params = kept_params(scope="all", team_id=None, period=period, extra=extra)
        _keep(kind=kind, params=params, payload=_payload_of(kind, params), user=None, now=now)
        done += 1
    return done


def funnel_answer(
    *, user: User, period: Period, team_id: int | None, now: datetime
) -> tuple[DealFunnelBoard | None, Answer]:
    """The funnel board (`deal_funnel_board`; None while pending) and how it was answered."""
    answer = _answer(
        kind=FUNNEL,
        user=user,
        period=period,
        team_id=team_id,
        extra={},
        now=now,
        compute=lambda: funnel_payload(deal_funnel_board(user=user, period=period, team_id=team_id)),
    )
    return (funnel_from_payload(answer.payload) if answer.payload is not None else None), answer


def cycle_answer(
    *, user: User, period: Period, today: date, team_id: int | None, top_n: int, now: datetime
) -> tuple[list[CycleGroup] | None, Answer]:
    """The cycle-time groups (`deal_cycle_board`; None while pending) and how they were answered."""
    answer = _answer(
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
    return (cycle_from_payload(answer.payload, top_n=top_n) if answer.payload is not None else None), answer
