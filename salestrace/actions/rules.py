"""Checks of an action entry before it is saved. Pure: values in, every problem out.

Three kinds of problem, all reported together:
- a dropdown value that is not an active option code (`invalid_choice`);
- `occurred_at` in the future or older than the back-date window (`in_future`, `too_old`),
  a next-step date before the action (`before_occurred`);
- a field or a piece of evidence that a catalog rule requires (`required`, with the rule's own
  message). Evidence is passed as the kinds of the files attached (`evidence_<kind>` to the rules).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, tzinfo

from salestrace.catalog.packs import CHOICE_FIELDS, EVIDENCE_FIELDS
from salestrace.catalog.rules import RuleSpec, evaluate


@dataclass(frozen=True)
class ActionDraft:
    """The fields a person fills in; rep and logged_at are never part of it."""

    occurred_at: datetime
    contact_method: str
    stage: str
    key_action: str = ""
    obstacle: str = ""
    next_step_plan: str = ""
    next_step_date: date | None = None
    next_step_deliverable: str = ""
    emotion: str = ""
    summary: str = ""
    channel: str = ""
    content_type: str = ""
    response_strength: str = ""

    def as_values(self) -> dict[str, object]:
        # Shallow: every value is immutable (dataclasses.asdict deep-copies, on the hottest path).
        return {name: getattr(self, name) for name in DRAFT_FIELDS}


# The draft's field names, in order, looked up once (an import checks a million drafts).
DRAFT_FIELDS = tuple(f.name for f in fields(ActionDraft))


def evidence_values(kinds: Collection[str]) -> dict[str, list[str]]:
    """What the rules see of attached files: each of EVIDENCE_FIELDS (`evidence_<kind>`) lists one
    entry per file of that kind."""
    kinds = list(kinds)
    return {name: [k for k in kinds if f"evidence_{k}" == name] for name in EVIDENCE_FIELDS}


@dataclass(frozen=True)
class Problem:
    """One reason the draft cannot be saved. For `required`, the rule's messages come along."""

    field: str
    code: str
    rule: str = ""
    message_zh: str = ""
    message_en: str = ""


def check_draft(
    draft: ActionDraft,
    *,
    active_codes: Mapping[str, frozenset[str]],
    rules: tuple[RuleSpec, ...],
    now: datetime,
    backdate: timedelta,
    clock_skew: timedelta,
    local_tz: tzinfo,
    check_time_window: bool = True,
    evidence_kinds: Collection[str] = (),
) -> list[Problem]:
    """Every problem with the draft, in field order; empty when it may be saved."""
    values = {**draft.as_values(), **evidence_values(evidence_kinds)}
    problems: list[Problem] = []
    for field, set_code in CHOICE_FIELDS.items():
        value = values.get(field)
        if isinstance(value, str) and value and value not in active_codes.get(set_code, frozenset()):
            problems.append(Problem(field, "invalid_choice"))
    if check_time_window:
        if draft.occurred_at > now + clock_skew:
            problems.append(Problem("occurred_at", "in_future"))
        elif draft.occurred_at < now - backdate:
            problems.append(Problem("occurred_at", "too_old"))
    if draft.next_step_date is not None and draft.next_step_date < draft.occurred_at.astimezone(local_tz).date():
        problems.append(Problem("next_step_date", "before_occurred"))
    # A field with an unknown code is already reported; do not also call it missing.
    invalid = {p.field for p in problems if p.code == "invalid_choice"}
    for v in evaluate(values, rules):
        if v.field not in invalid:
            problems.append(Problem(v.field, "required", v.rule, v.message_zh, v.message_en))
    return problems
