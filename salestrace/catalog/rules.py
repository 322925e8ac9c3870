"""The rule language: conditions over field values, and the evaluator. Pure: no ORM, no clock.

A condition is JSON (stored on `Rule.condition`, written in YAML in the packs):

    {"field": "stage", "equals": "price_negotiation"}
    {"field": "contact_method", "in": ["wechat", "phone"]}
    {"field": "obstacle", "is_empty": true}          # or false: "is filled"
    {"all": [cond, ...]}   {"any": [cond, ...]}   {"not": cond}
    {}                                                # always holds

A rule says: when its condition holds, every requirement in `requires` must be met. A
requirement is a field name ("obstacle": it must be filled) or a list of names, any one of which
will do (["summary", "evidence_screenshot"]: a summary, or a screenshot to read it from).
Evidence counts as fields too: `evidence_photo`, `evidence_screenshot`, `evidence_audio` are
filled when a file of that kind is attached to the action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Condition(Protocol):
    def holds(self, values: Mapping[str, object]) -> bool: ...


def is_blank(value: object) -> bool:
    """None, an empty or whitespace-only string, or an empty collection."""
    if value is None:
        return True
    if isinstance(value, str):
        # Whitespace by Python's and JavaScript's definitions alike (rules.js agrees): a byte-order
        # mark or a separator control is as blank as a space, on the phone and on the server.
        return all(c.isspace() or c == "\ufeff" for c in value)
    if isinstance(value, list | tuple | set | frozenset | dict):
        return len(value) == 0
    return False


@dataclass(frozen=True)
class Always:
    def holds(self, values: Mapping[str, object]) -> bool:
        return True


@dataclass(frozen=True)
class Equals:
    field: str
    value: object

    def holds(self, values: Mapping[str, object]) -> bool:
        return values.get(self.field) == self.value


@dataclass(frozen=True)
class In:
    field: str
    options: frozenset[object]

    def holds(self, values: Mapping[str, object]) -> bool:
        return values.get(self.field) in self.options


@dataclass(frozen=True)
class IsEmpty:
    field: str
    empty: bool = True

    def holds(self, values: Mapping[str, object]) -> bool:
        return is_blank(values.get(self.field)) == self.empty


@dataclass(frozen=True)
class All:
    parts: tuple[Condition, ...]

    def holds(self, values: Mapping[str, object]) -> bool:
        return all(part.holds(values) for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def holds(self, values: Mapping[str, object]) -> bool:
        return any(part.holds(values) for part in self.parts)


@dataclass(frozen=True)
class Not:
    part: Condition

    def holds(self, values: Mapping[str, object]) -> bool:
        return not self.part.holds(values)


class ConditionError(ValueError):
    """A condition that cannot be understood; the message says where."""


def parse_condition(data: Any, *, fields: frozenset[str] | None = None, where: str = "condition") -> Condition:
    """Turn the JSON form into a Condition; `fields` (if given) are the only field names allowed."""
    if not isinstance(data, Mapping):
        raise ConditionError(f"{where}: must be a mapping, got {type(data).__name__}")
    if not data:
        return Always()
    if "all" in data or "any" in data:
        key = "all" if "all" in data else "any"
        parts = data[key]
        if len(data) != 1 or not isinstance(parts, list):
            raise ConditionError(f"{where}: '{key}' must be the only key and hold a list")
        parsed = tuple(parse_condition(p, fields=fields, where=f"{where}.{key}[{i}]") for i, p in enumerate(parts))
        return All(parsed) if key == "all" else AnyOf(parsed)
    if "not" in data:
        if len(data) != 1:
            raise ConditionError(f"{where}: 'not' must be the only key")
        return Not(parse_condition(data["not"], fields=fields, where=f"{where}.not"))
    field = data.get("field")
    if not isinstance(field, str) or not field:
        raise ConditionError(f"{where}: needs a 'field' (or all/any/not)")
    if fields is not None and field not in fields:
        raise ConditionError(f"{where}: unknown field {field!r}")
    tests = [k for k in ("equals", "in", "is_empty") if k in data]
    if len(tests) != 1 or len(data) != 2:
        raise ConditionError(f"{where}: needs exactly one of equals / in / is_empty beside 'field'")
    if "equals" in data:
        return Equals(field, data["equals"])
    if "in" in data:
        options = data["in"]
        if not isinstance(options, list):
            raise ConditionError(f"{where}: 'in' must hold a list")
        return In(field, frozenset(options))
    if not isinstance(data["is_empty"], bool):
        raise ConditionError(f"{where}: 'is_empty' must be true or false")
    return IsEmpty(field, data["is_empty"])


# One requirement: the fields any one of which meets it (one field for a plain requirement).
Requirement = tuple[str, ...]


def parse_requires(
    data: Any, *, fields: frozenset[str] | None = None, where: str = "requires"
) -> tuple[Requirement, ...]:
    """Turn the JSON form (["obstacle", ["summary", "evidence_screenshot"]]) into requirements;
    `fields` (if given) are the only names allowed."""
    if not isinstance(data, list) or not data:
        raise ConditionError(f"{where}: needs a list of field names (or lists of alternatives)")
    requirements: list[Requirement] = []
    for i, item in enumerate(data):
        names = item if isinstance(item, list) else [item]
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ConditionError(f"{where}[{i}]: a field name, or a non-empty list of field names")
        if fields is not None and (unknown := sorted(set(names) - fields)):
            raise ConditionError(f"{where}[{i}]: unknown fields {', '.join(unknown)}")
        requirements.append(tuple(names))
    return tuple(requirements)


@dataclass(frozen=True)
class RuleSpec:
    """A rule ready to evaluate: parsed condition, requirements, messages in both languages."""

    code: str
    condition: Condition
    requires: tuple[Requirement, ...]
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Violation:
    """A requirement not met, reported on its first field, and the rule that required it."""

    field: str
    rule: str
    message_zh: str
    message_en: str


def evaluate(values: Mapping[str, object], rules: Sequence[RuleSpec]) -> list[Violation]:
    """Every requirement of a holding rule that is not met; one entry per field.

    A requirement of several fields is met when any one is filled and is reported on its first.
    A field reported by several rules is reported once, with the first rule's message.
    """
    seen: set[str] = set()
    violations: list[Violation] = []
    for rule in rules:
        if not rule.condition.holds(values):
            continue
        for requirement in rule.requires:
            field = requirement[0]
            if field not in seen and all(is_blank(values.get(name)) for name in requirement):
                seen.add(field)
                violations.append(Violation(field, rule.code, rule.message_zh, rule.message_en))
    return violations


def condition_fields(condition: Condition) -> frozenset[str]:
    """Every field a condition reads."""
    if isinstance(condition, Equals | In | IsEmpty):
        return frozenset({condition.field})
    if isinstance(condition, All | AnyOf):
        return frozenset().union(*(condition_fields(p) for p in condition.parts))
    if isinstance(condition, Not):
        return condition_fields(condition.part)
    return frozenset()


def condition_comparisons(condition: Condition) -> list[tuple[str, object]]:
    """(field, value) of every comparison a condition makes (equals, and each value of in)."""
    if isinstance(condition, Equals):
        return [(condition.field, condition.value)]
    if isinstance(condition, In):
        return [(condition.field, v) for v in sorted(condition.options, key=str)]
    if isinstance(condition, All | AnyOf):
        return [pair for part in condition.parts for pair in condition_comparisons(part)]
    if isinstance(condition, Not):
        return condition_comparisons(condition.part)
    return []


def rule_fields(rule: RuleSpec) -> frozenset[str]:
    """Every field a rule reads: its condition's and its requirements'."""
    return condition_fields(rule.condition) | {name for requirement in rule.requires for name in requirement}
