"""The template's thresholds as a manager edits them: each one's unit, its allowed range, and the
checks between them (green < yellow < orange days, a wake-up before the pool). Pure: no ORM.

A value is kept as the Decimal the Threshold row stores; a share (a health line) is 0–1 here and
shown as a percentage by the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DAYS, HOURS, SHARE, WEIGHT, COUNT, RATE, METERS = "days", "hours", "share", "weight", "count", "rate", "meters"


@dataclass(frozen=True)
class Unit:
    code: str
    label: Promise
    low: Decimal
    high: Decimal
    whole: bool  # whole numbers only


UNITS = {
    DAYS: Unit(DAYS, _("days"), Decimal(0), Decimal(3650), True),
    HOURS: Unit(HOURS, _("hours"), Decimal(0), Decimal(720), False),
    SHARE: Unit(SHARE, _("%"), Decimal(0), Decimal(1), False),
    WEIGHT: Unit(WEIGHT, _("weight (0–1)"), Decimal(0), Decimal(1), False),
    COUNT: Unit(COUNT, _("count"), Decimal(1), Decimal(100000), True),
    RATE: Unit(RATE, _("per week"), Decimal(0), Decimal(100), False),
    METERS: Unit(METERS, _("metres"), Decimal(10), Decimal(100000), True),
}

# Which part of the product a threshold belongs to, in the order the page shows them.
GROUPS: tuple[tuple[str, Promise], ...] = (
    ("vitality", _("Lead vitality")),
    ("pool", _("Dormant pool")),
    ("entry", _("Entry")),
    ("health", _("Action health")),
    ("analysis", _("Analysis")),
    ("field", _("Field visits")),
)


def plain(value: Decimal) -> str:
    """A value as a person writes it: 15, 0.5, 95 (not 15.00, 1E+2)."""
    text = format(value.normalize(), "f")
    return text


def unit_of(code: str) -> Unit:
    """The unit a threshold's code names (…_days, …_hours, …_line, health_weight_…, per week)."""
    if code.startswith("health_expected_actions_per_week"):
        return UNITS[RATE]
    if code.endswith("_days"):
        return UNITS[DAYS]
    if code.endswith("_hours"):
        return UNITS[HOURS]
    if code.endswith("_meters"):
        return UNITS[METERS]
    if code.endswith("_line"):
        return UNITS[SHARE]
    if code.startswith("health_weight_"):
        return UNITS[WEIGHT]
    return UNITS[COUNT]


def group_of(code: str) -> str:
    if code.startswith("vitality_"):
        return "vitality"
    if code.startswith("pool_"):
        return "pool"
    if code.startswith(("health_", "contact_quality", "late_entry")):
        return "health"
    if code.startswith("analysis_"):
        return "analysis"
    if code.startswith("field_"):
        return "field"
    return "entry"


# Thresholds that must be in this order (each strictly below the next), when all are set.
ASCENDING: tuple[tuple[str, ...], ...] = (
    ("vitality_green_days", "vitality_yellow_days", "vitality_orange_days"),
    ("vitality_wakeup_days", "vitality_dormant_days"),
)


def threshold_problems(values: Mapping[str, Decimal], labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(code, message) for every value out of its unit's range or out of order with another; empty
    when all are fine. Messages are in the active language; `labels` name the other threshold."""
    labels = labels or {}
    problems: list[tuple[str, str]] = []
    for code, value in values.items():
        unit = unit_of(code)
        if not value.is_finite():
            problems.append((code, str(_("Enter a number."))))
        elif value < unit.low or value > unit.high:
            shown = (lambda v: f"{plain(v * 100)}%") if unit.code == SHARE else plain
            message = _("Between %(low)s and %(high)s.") % {"low": shown(unit.low), "high": shown(unit.high)}
            problems.append((code, str(message)))
        elif unit.whole and value != value.to_integral_value():
            problems.append((code, str(_("A whole number."))))
    bad = {code for code, _message in problems}
    for chain in ASCENDING:
        present = [c for c in chain if c in values and c not in bad]
        for lower, upper in itertools.pairwise(present):
            if values[lower] >= values[upper]:
                message = _("Must be more than %(other)s (%(value)s).") % {
                    "other": labels.get(lower, lower),
                    "value": plain(values[lower]),
                }
                problems.append((upper, str(message)))
    weights = [v for c, v in values.items() if c.startswith("health_weight_") and c not in bad]
    if weights and sum(weights) <= 0:
        problems.append(("health_weight_completeness", str(_("The weights cannot all be 0."))))
    return problems


# Thresholds a template may set per customer stage or kind with a `__<code>` suffix
# (`vitality_dormant_days__contract_signing`), read by customers.compute and analytics.
OVERRIDABLE: tuple[str, ...] = (
    "vitality_green_days",
    "vitality_yellow_days",
    "vitality_orange_days",
    "vitality_wakeup_days",
    "vitality_dormant_days",
    "health_expected_actions_per_week",
)
# The customer kinds an override may name: customers.models.Customer.Kind's values (a test keeps
# the two in step; this module sits below customers).
CUSTOMER_KINDS: dict[str, tuple[str, str]] = {
    "lead": ("线索", "Lead"),
    "account": ("客户单位", "Account"),
    "store": ("门店", "Store"),
}


def override_code(base: str, key: str) -> str:
    return f"{base}__{key}"


def split_override(code: str) -> tuple[str, str] | None:
    """(base, stage or kind) of an override's code; None for a plain threshold."""
    base, sep, key = code.partition("__")
    return (base, key) if sep and base in OVERRIDABLE and key else None
