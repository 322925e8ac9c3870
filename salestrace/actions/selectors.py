"""Reads of the action log, always within the caller's data scope."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, prefetch_related_objects
from django.utils.translation import gettext_lazy as _

from salestrace.actions import compute
from salestrace.actions.compute import hash_distance
from salestrace.actions.models import ActionEdit, ActionLog, Evidence
from salestrace.actions.rules import evidence_values
from salestrace.catalog.packs import EVIDENCE_FIELDS
from salestrace.catalog.rules import Condition, RuleSpec, condition_fields, evaluate, rule_fields
from salestrace.core.errors import FieldError, NotFound
from salestrace.customers.compute import COLOURS, VitalityBands, search_key
from salestrace.customers.models import Customer
from salestrace.customers.selectors import CustomerFilters, active_at, customer_list, vitality_q
from salestrace.org.models import User
from salestrace.org.selectors import action_scope, is_admin, team_subtree_ids


@dataclass(frozen=True)
class ActionFilters:
    customer_id: int | None = None
    rep_id: int | None = None
    stage: str | None = None
    key_action: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


def action_list(*, user: User, filters: ActionFilters | None = None) -> QuerySet[ActionLog]:
    """Actions the user may see, newest first by when they happened."""
    qs = ActionLog.objects.filter(action_scope(user)).select_related("rep", "customer")
    f = filters or ActionFilters()
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    if f.rep_id is not None:
        qs = qs.filter(rep_id=f.rep_id)
    if f.stage:
        qs = qs.filter(stage=f.stage)
    if f.key_action:
        qs = qs.filter(key_action=f.key_action)
    if f.occurred_after is not None:
        qs = qs.filter(occurred_at__gte=f.occurred_after)
    if f.occurred_before is not None:
        qs = qs.filter(occurred_at__lt=f.occurred_before)
    return qs.order_by("-occurred_at", "-id")


def action_get(*, user: User, action_id: int) -> ActionLog:
    """One action in scope, or NotFound."""
    action = ActionLog.objects.filter(action_scope(user)).select_related("rep", "customer").filter(pk=action_id).first()
    if action is None:
        raise NotFound([FieldError(None, "not_found", _("Action not found."))])
    return action


def may_change(user: User, owner_id: int) -> bool:
    """Whether the user may change what `owner_id` logged or uploaded: their own, or an admin."""
    return owner_id == user.pk or is_admin(user)


def action_edits(*, action: ActionLog) -> QuerySet[ActionEdit]:
    """The kept edits of an action, oldest first."""
    return action.edits.select_related("edited_by").order_by("edited_at", "id")


def open_next_steps(*, user: User, until: date) -> QuerySet[ActionLog]:
    """Next steps on the user's own customers dated on or before `until`, earliest first.

    A next step is open while its action is the customer's latest: logging a newer action on the
    customer answers it (and sets the next one). Won customers keep theirs (restock, payment).
    """
    newer = ActionLog.objects.filter(customer_id=OuterRef("customer_id")).filter(
        Q(occurred_at__gt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), pk__gt=OuterRef("pk"))
    )
    return (
        ActionLog.objects.filter(
            customer__owner=user,
            customer__status__in=[Customer.Status.ACTIVE, Customer.Status.WON],
            next_step_date__lte=until,
        )
        .exclude(Exists(newer))
        .select_related("customer")
        .order_by("next_step_date", "occurred_at", "id")
    )


def next_step_counts(*, user: User, today: date) -> dict[str, int]:
    """How many of the user's open next steps are due today and how many are overdue; one query."""
    return {
        k: int(v or 0)
        for k, v in open_next_steps(user=user, until=today)
        .order_by()
        .aggregate(
            due_today=Count("pk", filter=Q(next_step_date=today)),
            overdue=Count("pk", filter=Q(next_step_date__lt=today)),
        )
        .items()
    }


def actions_logged_count(*, user: User, since: datetime) -> int:
    """How many actions the user has logged since `since`."""
    return ActionLog.objects.filter(rep=user, logged_at__gte=since).count()


# An action's evidence in the order it arrived, loaded with the action(s): one query for a page.
EVIDENCE_IN_ORDER = Prefetch("evidence", queryset=Evidence.objects.order_by("created_at", "id"))


def with_evidence(action: ActionLog) -> ActionLog:
    """The action with its evidence loaded (EVIDENCE_IN_ORDER), for a detail answer."""
    prefetch_related_objects([action], EVIDENCE_IN_ORDER)
    return action


def customer_timeline(
    *, user: User, customer_id: int, offset: int = 0, limit: int = 20
) -> tuple[list[ActionLog], bool]:
    """One page of a customer's actions the user may see, newest first, and whether more follow."""
    actions = action_list(user=user, filters=ActionFilters(customer_id=customer_id)).prefetch_related(EVIDENCE_IN_ORDER)
    page = list(actions[offset : offset + limit + 1])
    return page[:limit], len(page) > limit


def last_contact_method(*, customer_id: int) -> str:
    """How the customer was last contacted ("" when never): the action form's default."""
    method = (
        ActionLog.objects.filter(customer_id=customer_id)
        .order_by("-occurred_at", "-id")
        .values_list("contact_method", flat=True)
        .first()
    )
    return method or ""


def evidence_of(*, action: ActionLog) -> QuerySet[Evidence]:
    """The evidence attached to an action, in the order it arrived."""
    return Evidence.objects.filter(action=action).order_by("created_at", "id")


def evidence_scope(user: User, *, all_loose: bool = False) -> Q:
    """The evidence a user may see: attached to an action in their scope, or their own upload not
    attached yet (`all_loose`: every unattached upload, for an admin cleaning up)."""
    loose = Q(action__isnull=True) if all_loose else Q(action__isnull=True, uploaded_by=user)
    return Q(action__in=ActionLog.objects.filter(action_scope(user))) | loose


def evidence_get(*, user: User, evidence_id: int) -> Evidence:
    """One piece of evidence the user may see (evidence_scope), or NotFound (the same answer for both)."""
    evidence = (
        Evidence.objects.select_related("action", "customer")
        .filter(evidence_scope(user))
        .filter(pk=evidence_id)
        .first()
    )
    if evidence is None:
        raise NotFound([FieldError(None, "not_found", _("Evidence not found."))])
    return evidence


def own_uploads(
    *, user: User, customer_id: int, evidence_ids: Collection[int], now: datetime, lock: bool = False
) -> list[Evidence]:
    """The user's uploads for this customer that no action has taken yet and that are younger than
    EVIDENCE_UNATTACHED_HOURS (older ones are being swept), oldest first; `lock` for the
    transaction that attaches them. Whatever else is asked for is simply missing from the answer."""
    if not evidence_ids:
        return []
    qs = (
        Evidence.objects.filter(
            pk__in=evidence_ids,
            uploaded_by=user,
            customer_id=customer_id,
            action__isnull=True,
        )
        .filter(
            # A check-in's photo is kept (not swept), so the visit can still be logged with it later.
            Q(created_at__gte=now - timedelta(hours=settings.EVIDENCE_UNATTACHED_HOURS)) | Q(kept=True)
        )
        .order_by("created_at", "pk")
    )
    return list(qs.select_for_update() if lock else qs)


def summary_needed(action: ActionLog) -> bool:
    """Whether the rep must still write this action's summary by hand (see compute.summary_needed);
    uses the prefetched evidence when there is some, so a timeline page costs no extra query."""
    files = [(e.kind, e.recognition, e.recognised_text) for e in action.evidence.all()]
    return compute.summary_needed(action.summary, files)


def photo_reused(
    *, action_id: int, rep_id: int, sha256: str, image_hash: str, max_distance: int, since: datetime
) -> bool:
    """Whether the same picture backs another action: the same bytes anywhere, or a near-identical
    picture among the rep's photos since `since` (a bounded set, so no scan of every photo).
    Uploads not attached to an action back nothing and are not compared."""
    others = Evidence.objects.exclude(action_id=action_id).filter(
        action__isnull=False, kind__in=[Evidence.Kind.PHOTO, Evidence.Kind.SCREENSHOT]
    )
    if others.filter(Q(sha256=sha256) | Q(image_hash=image_hash)).exists():
        return True
    recent = others.filter(uploaded_by_id=rep_id, created_at__gte=since).exclude(image_hash="")
    return any(hash_distance(image_hash, h) <= max_distance for h in recent.values_list("image_hash", flat=True))


# --- the 我的客户 list: customers with their latest action ----------------------------------------


@dataclass(frozen=True)
class DirectoryFilters:
    """The 我的客户 list: text (name, pinyin or initials), stage code and vitality colour."""

    q: str = ""
    stage: str = ""
    colour: str = ""
    owner: int | None = None  # drill-down from a dashboard row: one rep…
    team: int | None = None  # …or one team and everything below it


def _latest_action() -> QuerySet[ActionLog]:
    return ActionLog.objects.filter(customer=OuterRef("pk")).order_by("-occurred_at", "-id")


def customer_directory(
    *, user: User, filters: DirectoryFilters, bands: VitalityBands, now: datetime
) -> QuerySet[Customer]:
    """Customers in scope, filtered, most recently active first, with their latest action's key action.

    `active_at` is the last action's time, or the creation time for a customer never contacted.
    """
    qs = customer_list(user=user, filters=CustomerFilters(stage=filters.stage or None, owner_id=filters.owner))
    if filters.team is not None:
        qs = qs.filter(owner__team_id__in=team_subtree_ids(filters.team))
    qs = qs.annotate(
        active_at=active_at(),
        last_key_action=Subquery(_latest_action().values("key_action")[:1]),
    )
    text = filters.q.strip()
    if text:
        match = Q(name__icontains=text)
        if key := search_key(text):
            match |= Q(name_pinyin__contains=key) | Q(name_initials__contains=key)
        qs = qs.filter(match)
    if filters.colour in COLOURS:
        qs = qs.filter(vitality_q(filters.colour, bands, now))
    return qs.order_by(F("active_at").desc(), "-id")


# --- a draft rule's impact: what it would have refused (the rule builder's preview) ---------------

IMPACT_DAYS = 30
IMPACT_MOST = 200_000  # actions read at most (the latest); a company's 30 days is ~45,000


@dataclass(frozen=True)
class ImpactExample:
    action_id: int
    occurred_at: datetime
    rep: str
    customer: str
    stage: str  # code
    missing: tuple[str, ...]  # field names


@dataclass(frozen=True)
class RuleImpact:
    """How many of the last `days` days' entered actions a rule would have refused, and a few of them."""

    days: int
    checked: int
    refused: int
    examples: tuple[ImpactExample, ...]
    capped: bool  # more actions than IMPACT_MOST in the window: the latest were checked


def _impact_window(now: datetime, days: int) -> QuerySet[ActionLog]:
    """The actions a preview runs a draft rule over: entered through the form (imports were not), that
    happened in the last `days` days (by occurred_at, which is indexed: the window is read, not the log)."""
    return ActionLog.objects.filter(occurred_at__gte=now - timedelta(days=days), source=ActionLog.Source.ENTERED)


def condition_matches(*, condition: Condition, now: datetime, days: int = IMPACT_DAYS) -> tuple[int, int]:
    """(actions entered in the last `days` days, those the condition holds for): what a follow-up
    rule on it would have asked a follow-up for."""
    names = sorted(condition_fields(condition))
    window = _impact_window(now, days)
    rows = window.order_by("-occurred_at").values_list(*names)[:IMPACT_MOST] if names else []
    checked = matched = 0
    for values in rows:
        checked += 1
        matched += condition.holds(dict(zip(names, values, strict=True)))
    return checked, matched


def rule_impact(*, rule: RuleSpec, now: datetime, days: int = IMPACT_DAYS, examples: int = 5) -> RuleImpact:
    """Run one rule, through the same evaluator as a save, over every action entered in the form that
    happened in the last `days` days (imports were not entered through it), with the evidence
    attached to each. Reads only the fields the rule names."""
    names = sorted(rule_fields(rule))
    draft_fields = [n for n in names if n not in EVIDENCE_FIELDS]
    window = _impact_window(now, days)
    rows = list(window.order_by("-occurred_at").values_list("pk", *draft_fields)[: IMPACT_MOST + 1])
    capped = len(rows) > IMPACT_MOST
    rows = rows[:IMPACT_MOST]
    kinds: dict[int, list[str]] = {}
    if any(n in EVIDENCE_FIELDS for n in names) and rows:
        attached = Evidence.objects.filter(action__in=window, action_id__gte=min(r[0] for r in rows))
        for action_id, kind in attached.values_list("action_id", "kind"):
            kinds.setdefault(action_id, []).append(kind)
    refused: list[tuple[int, tuple[str, ...]]] = []
    for pk, *values in rows:
        found = evaluate(
            {**dict(zip(draft_fields, values, strict=True)), **evidence_values(kinds.get(pk, ()))}, (rule,)
        )
        if found:
            refused.append((pk, tuple(v.field for v in found)))
    shown = dict(refused[:examples])
    samples = (
        ActionLog.objects.filter(pk__in=shown)
        .select_related("rep", "customer")
        .only("occurred_at", "stage", "rep__username", "rep__display_name", "customer__name")
        .order_by("-occurred_at", "-pk")
    )
    return RuleImpact(
        days=days,
        checked=len(rows),
        refused=len(refused),
        examples=tuple(
            ImpactExample(a.pk, a.occurred_at, str(a.rep), a.customer.name, a.stage, shown[a.pk]) for a in samples
        ),
        capped=capped,
    )
