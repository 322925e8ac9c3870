"""The rule language: conditions over field values, and the evaluator. Pure: no ORM, no clock.

A condition is JSON (stored on `Rule.condition`, written in YAML in the packs):

    {"field": "stage", "equals": "price_negotiation"}
    {"field": "contact_method", "in": ["wechat", "phone"]}
    {"field": "obstacle", "is_empty": true}          # or false: "is filled"
    {"all": [cond, ...]}   {"any": [cond, ...]}   {"not": cond}
    {}                                                # always holds

A rule says: when its condition holds, every field in `requires` must be filled.
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
        return value.strip() == ""
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


@dataclass(frozen=True)
class RuleSpec:
    """A rule ready to evaluate: parsed condition, required fields, messages in both languages."""

    code: str
    condition: Condition
    requires: tuple[str, ...]
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Violation:
    """A required field left empty, and the rule that required it."""

    field: str
    rule: str
    message_zh: str
    message_en: str


def evaluate(values: Mapping[str, object], rules: Sequence[RuleSpec]) -> list[Violation]:
    """Every rule whose condition holds and whose required fields are empty; one entry per field.

    A field required by several rules is reported once, with the first rule's message.
    """
    seen: set[str] = set()
    violations: list[Violation] = []
    for rule in rules:
        if not rule.condition.holds(values):
            continue
        for field in rule.requires:
            if field not in seen and is_blank(values.get(field)):
                seen.add(field)
                violations.append(Violation(field, rule.code, rule.message_zh, rule.message_en))
    return violations
