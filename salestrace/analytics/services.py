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
from salestrace.analytics.health import HealthRules
from salestrace.analytics.health_selectors import (
    ContactQualityBoard,
    HealthBoard,
    HeatmapBoard,
    Whose,
    actions_in,
    board_scope,
    contact_quality_from_tally,
    contact_quality_tally,
    health_board_from_tally,
    health_default_period,
    health_rules,
    health_tally,
    heatmap_board_from_tally,
    heatmap_tally,
    meeting_period,
    tally_rules_key,
    trend_period,
    whose,
)
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
from salestrace.org.selectors import team_subtree_ids

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
    if kind in HEALTH_KINDS:
        return _health_payload(kind, params)
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
    params: dict[str, Any],
    now: datetime,
    compute: Callable[[], dict[str, Any]],
    small: Callable[[], bool],
) -> Answer:
    """The figures for a request, computed by it only when that is quick.

    A small scope (`small()`: a team's deals or actions; a rep's always) is computed on every
    request, so it moves with every logged action. A larger one (a company's year: hundreds of
    thousands of deals or actions, seconds of work) is computed by the worker and kept, shared by
    everyone with the same parameters: the company's default views every night (`analysis_warm`),
    any other on its first request, which is answered `pending` at once (the page updates itself
    when it is done). A kept result answers at once; once older than
    SALESTRACE_ANALYSIS_MAX_AGE_MINUTES the worker computes it again meanwhile, and the page says
    when the figures were computed.
    """
    if is_rep_view(user):
        return Answer(compute(), now, "done")
    # Only a large scope is kept: what is kept is answered without counting again.
    kept = AnalysisResult.objects.filter(kind=kind, params_key=params_key(params)).defer("deal_ids").first()
    if kept is not None and kept.payload is not None and kept.computed_at is not None:
        if kept.computed_at < now - timedelta(minutes=settings.SALESTRACE_ANALYSIS_MAX_AGE_MINUTES):
            analysis_request(kind=kind, params=params, user=user, now=now, force=True)
        return Answer(kept.payload, kept.computed_at, "done")
    if kept is None and small():
        return Answer(compute(), now, "done")
    # Too large for a request and nothing kept yet (or the last try failed: asked for again).
    failed = kept is not None and kept.status == AnalysisResult.Status.FAILED
    result, _queued = analysis_request(kind=kind, params=params, user=user, now=now, force=failed)
    return Answer(None, None, cast(AnswerStatus, result.status))


def _few_deals(user: User, team_id: int | None, period: Period) -> Callable[[], bool]:
    def small() -> bool:
        population = population_of(user, team_id=team_id)
        count = facts_count(population, since=period.since, until=period.until)
        return count <= settings.SALESTRACE_ANALYSIS_INLINE_DEALS

    return small


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
    """Compute tonight what a director's deal and health pages first show tomorrow (the whole
    company, the default periods, top 3): their first request is then answered from what is kept.
    How many analyses were computed; nothing for a company small enough to be computed on every
    request."""
    done = health_warm(now=now)
    today = timezone.localdate(now)
    period = default_period(today)
    if facts_count(everything(), since=period.since, until=period.until) <= settings.SALESTRACE_ANALYSIS_INLINE_DEALS:
        return done
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
        params=kept_params(scope=scope_of(user), team_id=team_id, period=period, extra={}),
        now=now,
        compute=lambda: funnel_payload(deal_funnel_board(user=user, period=period, team_id=team_id)),
        small=_few_deals(user, team_id, period),
    )
    return (funnel_from_payload(answer.payload) if answer.payload is not None else None), answer


def cycle_answer(
    *, user: User, period: Period, today: date, team_id: int | None, top_n: int, now: datetime
) -> tuple[list[CycleGroup] | None, Answer]:
    """The cycle-time groups (`deal_cycle_board`; None while pending) and how they were answered."""
    extra = {"top_n": top_n, "today": today.isoformat()}
    answer = _answer(
        kind=CYCLE,
        user=user,
        params=kept_params(scope=scope_of(user), team_id=team_id, period=period, extra=extra),
        now=now,
        compute=lambda: cycle_payload(
            deal_cycle_board(user=user, period=period, today=today, team_id=team_id, top_n=top_n)
        ),
        small=_few_deals(user, team_id, period),
    )
    return (cycle_from_payload(answer.payload, top_n=top_n) if answer.payload is not None else None), answer


# --- action health: computed on request for a team, kept for a company -----------------------------

HEALTH = "health"
HEATMAP = "heatmap"
CONTACT_QUALITY = "contact_quality"
HEALTH_KINDS = frozenset({HEALTH, HEATMAP, CONTACT_QUALITY})


def _health_params(
    *, scope: str, team_id: int | None, period: Period, rules: HealthRules, extra: dict[str, Any]
) -> dict[str, Any]:
    """What a kept health figure is found by and computed from; a change of the template's counting
    rules (key fields, late line, effective actions, plan lint …) makes a new key."""
    return {
        "scope": scope,
        "team_id": team_id,
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "rules": tally_rules_key(rules),
        **extra,
    }


def _whose_of(scope: str, team_id: int | None) -> Whose:
    if scope == "all":
        return Whose(every_team=True) if team_id is None else Whose(teams=frozenset(team_subtree_ids(team_id)))
    return whose(User.objects.get(pk=int(scope.removeprefix("user:"))), team_id=team_id)


def _health_payload(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """A kept health figure's counts, computed from its parameters (whoever asked: the scope is in them)."""
    scope = _whose_of(params["scope"], params["team_id"])
    period = Period(date.fromisoformat(params["since"]), date.fromisoformat(params["until"]))
    rules = health_rules()
    if kind == HEALTH:
        return health_tally(scope=scope, period=period, group=params["group"], weeks=True, rules=rules)
    return _TALLIES[kind](scope=scope, period=period, rules=rules)


def _few_actions(scope: Whose, period: Period) -> Callable[[], bool]:
    def small() -> bool:
        if scope.every_team or len(scope.teams) > 0:
            limit = settings.SALESTRACE_HEALTH_INLINE_ACTIONS
            # counted up to one past the limit: a company's year is not counted to say it is large
            return actions_in(scope, period).order_by()[: limit + 1].count() <= limit
        return True  # one person

    return small


def health_answer(
    *,
    user: User,
    period: Period,
    team_id: int | None = None,
    group: str = "rep",
    rep_id: int | None = None,
    weeks: bool = True,
    now: datetime,
) -> tuple[HealthBoard | None, Answer]:
    """The health board (`health_board`; None while pending) and how it was answered: one rep's, or
    a scope of up to SALESTRACE_HEALTH_INLINE_ACTIONS actions in the period, is counted on request;
    a larger one is kept (`_answer`), always with its weeks."""
    rules = health_rules()
    scope = board_scope(user, team_id=team_id, rep_id=rep_id)
    params = _health_params(scope=scope_of(user), team_id=team_id, period=period, rules=rules, extra={"group": group})
    if rep_id is not None:  # one rep: nothing kept
        tally = health_tally(scope=scope, period=period, group=group, weeks=weeks, rules=rules)
        answer = Answer(tally, now, "done")
    else:
        answer = _answer(
            kind=HEALTH,
            user=user,
            params=params,
            now=now,
            compute=lambda: health_tally(scope=scope, period=period, group=group, weeks=weeks, rules=rules),
            small=_few_actions(scope, period),
        )
    if answer.payload is None:
        return None, answer
    board = health_board_from_tally(answer.payload, user=user, period=period, group=group, rules=rules, scope=scope)
    return board, answer


def _scope_answer(
    *, kind: str, user: User, period: Period, team_id: int | None, now: datetime
) -> tuple[HealthRules, Answer]:
    """A heatmap's or contact quality's counts for `user`'s scope, answered as `health_answer`."""
    rules = health_rules()
    scope = whose(user, team_id=team_id)
    answer = _answer(
        kind=kind,
        user=user,
        params=_health_params(scope=scope_of(user), team_id=team_id, period=period, rules=rules, extra={}),
        now=now,
        compute=lambda: _TALLIES[kind](scope=scope, period=period, rules=rules),
        small=_few_actions(scope, period),
    )
    return rules, answer


_TALLIES: dict[str, Callable[..., dict[str, Any]]] = {HEATMAP: heatmap_tally, CONTACT_QUALITY: contact_quality_tally}


def heatmap_answer(
    *, user: User, period: Period, team_id: int | None = None, now: datetime
) -> tuple[HeatmapBoard | None, Answer]:
    """The blocking heatmap (`heatmap_board`; None while pending), answered as `health_answer`."""
    rules, answer = _scope_answer(kind=HEATMAP, user=user, period=period, team_id=team_id, now=now)
    if answer.payload is None:
        return None, answer
    return heatmap_board_from_tally(answer.payload, period=period, rules=rules), answer


def contact_quality_answer(
    *, user: User, period: Period, team_id: int | None = None, now: datetime
) -> tuple[ContactQualityBoard | None, Answer]:
    """Contact quality (`contact_quality_board`; None while pending), answered as `health_answer`."""
    rules, answer = _scope_answer(kind=CONTACT_QUALITY, user=user, period=period, team_id=team_id, now=now)
    if answer.payload is None:
        return None, answer
    return contact_quality_from_tally(answer.payload, period=period, rules=rules), answer


def health_warm(*, now: datetime) -> int:
    """Keep tonight what a director's health pages first show tomorrow (the whole company): the board
    of the default period per rep and per team, the last eight weeks per team (the trend), last week
    per rep (the weekly meeting), the heatmap and contact quality. How many were kept; nothing when
    the company's period has few enough actions to be counted on every request."""
    today = timezone.localdate(now)
    period = health_default_period(today)
    scope = Whose(every_team=True)
    if _few_actions(scope, period)():
        return 0
    rules = health_rules()
    boards: list[tuple[str, Period, dict[str, Any]]] = [
        (HEALTH, period, {"group": "rep"}),
        (HEALTH, period, {"group": "team"}),
        (HEALTH, trend_period(today), {"group": "team"}),
        (HEALTH, meeting_period(today), {"group": "rep"}),
        (HEATMAP, period, {}),
        (CONTACT_QUALITY, period, {}),
    ]
    for kind, when, extra in boards:
        params = _health_params(scope="all", team_id=None, period=when, rules=rules, extra=extra)
        _keep(kind=kind, params=params, payload=_health_payload(kind, params), user=None, now=now)
    return len(boards)
