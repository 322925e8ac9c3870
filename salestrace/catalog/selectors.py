"""Reads of the catalog, shaped for the pure layers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from salestrace.catalog.models import (
    CatalogVersion,
    EffectiveAction,
    KeyFieldsChange,
    Option,
    OptionSet,
    PlanLintRule,
    Policy,
    Rule,
    SettingChange,
    TemplatePack,
    Threshold,
    pick_language,
)
from salestrace.catalog.packs import PackError
from salestrace.catalog.rules import ConditionError, RuleSpec, parse_condition, parse_requires
from salestrace.catalog.thresholds import GROUPS, Unit, group_of, unit_of
from salestrace.org.models import Role, User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogSnapshot:
    """Active option codes per set, stage order, parsed active rules and thresholds."""

    active_codes: dict[str, frozenset[str]]
    stage_order: tuple[str, ...]
    rules: tuple[RuleSpec, ...]
    thresholds: dict[str, Decimal] = field(default_factory=dict)
    # The template sells projects: actions work on deals (商机), and the customer shows its most advanced open one.
    uses_deals: bool = False
    # The action-health key fields from each moment on, oldest first (catalog.KeyFieldsChange).
    key_fields_history: tuple[tuple[datetime, tuple[str, ...]], ...] = ()

    def threshold(self, code: str, default: Decimal | int) -> Decimal:
        return self.thresholds.get(code, Decimal(default))


# The last snapshot this process built, with the catalog version it was built at.
_cached: tuple[int, CatalogSnapshot] | None = None


def catalog_version() -> int:
    """The catalog's change counter (0 before anything was loaded); one query."""
    return CatalogVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def forget_cached_catalog() -> None:
    """Drop this process's cached snapshot (tests, where rolled-back transactions reuse versions)."""
    global _cached
    _cached = None


def catalog_snapshot() -> CatalogSnapshot:
    """Everything the action validator needs: one query while the catalog is unchanged.

    Saving an action is the hottest path; re-reading and re-parsing options, rules and thresholds
    cost a quarter of it (bench/). Every writer of the catalog calls `catalog_changed()`.
    """
    global _cached
    version = catalog_version()
    if _cached is not None and _cached[0] == version:
        return _cached[1]
    snapshot = _build_snapshot()
    _cached = (version, snapshot)
    return snapshot


def _build_snapshot() -> CatalogSnapshot:
    """Options, rules, thresholds, the deals policy and the key fields' history, in five queries."""
    active: dict[str, set[str]] = {}
    stages: list[str] = []
    rows = (
        Option.objects.filter(is_active=True)
        .order_by("option_set__code", "position", "code")
        .values_list("option_set__code", "code")
    )
    for set_code, code in rows:
        active.setdefault(set_code, set()).add(code)
        if set_code == "stage":
            stages.append(code)
    rules = []
    for r in active_rules():
        try:
            rules.append(
                RuleSpec(r.code, parse_condition(r.condition), parse_requires(r.requires), r.message_zh, r.message_en)
            )
        except ConditionError:
            # Admin and pack loading refuse broken conditions and requirements; one written around them must not
            # stop every rep from saving, so it is skipped loudly.
            logger.exception("rule %s has a broken condition and is not applied", r.code)
    thresholds = threshold_values()
    uses_deals = policies().get("uses_deals") is True
    history = tuple((at, tuple(fields)) for at, fields in KeyFieldsChange.objects.values_list("valid_from", "fields"))
    return CatalogSnapshot(
        {k: frozenset(v) for k, v in active.items()}, tuple(stages), tuple(rules), thresholds, uses_deals, history
    )


def threshold_values() -> dict[str, Decimal]:
    """Every threshold of the loaded templates by code; one query."""
    return dict(Threshold.objects.values_list("code", "value"))


def policies() -> dict[str, Any]:
    """Every policy of the loaded template, by code."""
    return dict(Policy.objects.values_list("code", "value"))


def option_sets_with_options(*, include_inactive: bool = False) -> QuerySet[OptionSet]:
    """Option sets with their options prefetched, for `GET /options` and forms."""
    options = Option.objects.order_by("position", "code")
    if not include_inactive:
        options = options.filter(is_active=True)

    return OptionSet.objects.order_by("code").prefetch_related(Prefetch("options", queryset=options))


def active_rules() -> QuerySet[Rule]:
    """Active rules in evaluation order."""
    return Rule.objects.filter(is_active=True).order_by("position", "code")


@dataclass(frozen=True)
class OptionCatalog:
    """Labels of every option (inactive too: old entries keep theirs) and the active choices per set."""

    labels: dict[str, dict[str, str]]
    choices: dict[str, list[tuple[str, str]]]


def option_catalog() -> OptionCatalog:
    """Every option set and option, labelled in the active language; one query."""
    labels: dict[str, dict[str, str]] = {}
    choices: dict[str, list[tuple[str, str]]] = {}
    rows = Option.objects.order_by("option_set__code", "position", "code").values_list(
        "option_set__code",
        "code",
        "label_zh",
        "label_en",
        "is_active",
    )
    for set_code, code, label_zh, label_en, is_active in rows:
        label = pick_language(label_zh, label_en)
        labels.setdefault(set_code, {})[code] = label
        if is_active:
            choices.setdefault(set_code, []).append((code, label))
    return OptionCatalog(labels, choices)


def effective_key_actions() -> dict[str, frozenset[str]]:
    """The key actions that count as effective, by stage; one query."""
    result: dict[str, set[str]] = {}
    for stage, key_action in EffectiveAction.objects.values_list("stage", "key_action"):
        result.setdefault(stage, set()).add(key_action)
    return {stage: frozenset(actions) for stage, actions in result.items()}


def active_plan_lint_rules() -> list[PlanLintRule]:
    """Active plan-lint rules in order; one query."""
    return list(PlanLintRule.objects.filter(is_active=True).order_by("position", "code"))


# --- the Settings pages -----------------------------------------------------------------------------


def may_configure(user: User) -> bool:
    """Admins change the settings; directors too where the template allows it (policy
    `directors_configure`)."""
    if not user.is_active:
        return False
    if user.is_superuser or user.role == Role.ADMIN:
        return True
    return user.role == Role.DIRECTOR and policies().get("directors_configure") is True


@dataclass(frozen=True)
class ThresholdRow:
    code: str
    label: str
    group: str
    unit: Unit
    value: Decimal
    default: Decimal | None  # the loaded template's value


def threshold_labels() -> dict[str, str]:
    """{code: label in the active language} of every threshold; one query, no template file read."""
    rows = Threshold.objects.values_list("code", "description_zh", "description_en")
    return {code: pick_language(zh, en) or code for code, zh, en in rows}


def threshold_rows() -> list[ThresholdRow]:
    """Every threshold with its label (in the active language), unit, group and the value the loaded
    template ships, in the page's order: by group, then as the template lists them."""
    pack = TemplatePack.objects.order_by("-loaded_at").values_list("code", flat=True).first()
    shipped: dict[str, Decimal] = {}
    order: dict[str, int] = {}
    if pack:
        try:
            from salestrace.catalog.pack_io import pack_definition  # it reads this module's may_configure

            for i, t in enumerate(pack_definition(pack).thresholds):
                shipped[t.code], order[t.code] = t.value, i
        except (OSError, PackError):
            logger.warning("the loaded template %s cannot be read for its defaults", pack)
    groups = {code: i for i, (code, _label) in enumerate(GROUPS)}
    rows = [
        ThresholdRow(t.code, pick_language(t.description_zh, t.description_en) or t.code, group_of(t.code),
                     unit_of(t.code), t.value, shipped.get(t.code))
        for t in Threshold.objects.all()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (groups[r.group], order.get(r.code, len(order)), r.code))


def setting_history(*, limit: int = 200) -> list[SettingChange]:
    """The latest settings changes, newest first, with who made them."""
    return list(SettingChange.objects.select_related("changed_by").order_by("-changed_at", "-pk")[:limit])
