"""Reads of the action log, always within the caller's data scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from salestrace.actions.models import ActionEdit, ActionLog
from salestrace.core.errors import FieldError, NotFound
from salestrace.org.models import User
from salestrace.org.selectors import action_scope


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


def action_edits(*, action: ActionLog) -> QuerySet[ActionEdit]:
    """The kept edits of an action, oldest first."""
    return action.edits.select_related("edited_by").order_by("edited_at", "id")
