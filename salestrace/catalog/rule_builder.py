"""The rule builder's form, in and out of the rule language. Pure: no ORM, no clock.

A manager builds a rule from dropdowns, never JSON: "当 [字段] [等于/不等于/属于/为空/已填写] [选项]
（且/或 …）时，必须填写 [字段 …]（或 [字段 …] 其一）". This module turns those choices into the
stored JSON (`build_condition`, `build_requires`), which `catalog.rules.parse_condition` and
`parse_requires` then check as they check a pack's: one parser, one evaluator. It also turns a
stored rule back into the builder's rows (`builder_rows`), says a rule in words (`describe`) and
proposes its message in both languages (`propose_message`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The builder's operators; `not_equals` is stored as {"not": {"field", "equals"}}, the two
# emptiness tests as {"field", "is_empty": true/false}.
EQUALS, NOT_EQUALS, IN, EMPTY, FILLED = "equals", "not_equals", "in", "empty", "filled"
OPERATORS = (EQUALS, NOT_EQUALS, IN, EMPTY, FILLED)
VALUELESS = frozenset({EMPTY, FILLED})
JOINS = ("all", "any")
MAX_ROWS = 4  # conditions a rule built here joins; a pack may nest deeper (shown, kept as it is)

# Every field a rule may test or require, in the order of the phone form, with the label the form
# shows it by (the action form takes its labels from here, so a rule and the form say the same).
FIELD_LABELS: dict[str, StrOrPromise] = {
    "contact_method": _("Contact method"),
    "stage": _("Customer stage"),
    "key_action": _("Key action"),
    "obstacle": _("Obstacle"),
    "emotion": _("Customer emotion"),
    "channel": _("Channel"),
    "content_type": _("Content type"),
    "response_strength": _("Response strength"),
    "next_step_plan": _("Next step"),
    "next_step_date": _("Next step date"),
    "next_step_deliverable": _("Deliverable"),
    "summary": _("Summary"),
    "evidence_photo": _("visit photo"),
    "evidence_screenshot": _("WeChat screenshot"),
    "evidence_audio": _("call recording"),
}


@dataclass(frozen=True)
class Row:
    """One condition of the builder: a field, an operator and the option codes it compares with."""

    field: str
    op: str
    values: tuple[str, ...] = ()


class BuilderError(ValueError):
    """A builder choice that makes no condition; `where` names the form field, the message says why."""

    def __init__(self, where: str, code: str) -> None:
        super().__init__(f"{where}: {code}")
        self.where = where
        self.code = code


def build_condition(join: str, rows: Sequence[Row]) -> dict[str, Any]:
    """The JSON condition of the builder's rows (an empty list: always holds). Each row must be whole:
    a field, a known operator, and one value (two or more for "属于") unless it tests emptiness."""
    if join not in JOINS:
        raise BuilderError("join", "invalid")
    parts: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if row.op not in OPERATORS:
            raise BuilderError(f"cond-{i}-op", "invalid")
        if row.op in VALUELESS:
            parts.append({"field": row.field, "is_empty": row.op == EMPTY})
            continue
        values = list(dict.fromkeys(v for v in row.values if v))
        if not values:
            raise BuilderError(f"cond-{i}-value", "missing")
        if row.op == IN:
            parts.append(
                {"field": row.field, "in": values} if len(values) > 1 else {"field": row.field, "equals": values[0]}
            )
        elif len(values) != 1:
            raise BuilderError(f"cond-{i}-value", "one")
        elif row.op == EQUALS:
            parts.append({"field": row.field, "equals": values[0]})
        else:
            parts.append({"not": {"field": row.field, "equals": values[0]}})
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {join: parts}


def _row(part: Any) -> Row | None:
    if not isinstance(part, Mapping):
        return None
    if set(part) == {"not"}:
        inner = part["not"]
        if isinstance(inner, Mapping) and set(inner) == {"field", "equals"}:
            return Row(str(inner["field"]), NOT_EQUALS, (str(inner["equals"]),))
        return None
    if set(part) == {"field", "equals"}:
        return Row(str(part["field"]), EQUALS, (str(part["equals"]),))
    if set(part) == {"field", "in"} and isinstance(part["in"], list):
        return Row(str(part["field"]), IN, tuple(str(v) for v in part["in"]))
    if set(part) == {"field", "is_empty"}:
        return Row(str(part["field"]), EMPTY if part["is_empty"] else FILLED)
    return None


def builder_rows(condition: Any) -> tuple[str, list[Row]] | None:
    """The builder's join and rows for a stored condition; None when the condition is shaped in a way
    the builder cannot show (nested 且 inside 或, more than MAX_ROWS parts): such a rule is kept as
    it is, and can be switched on or off but not edited here."""
    if not isinstance(condition, Mapping):
        return None
    if not condition:
        return "all", []
    for join in JOINS:
        if set(condition) == {join} and isinstance(condition[join], list):
            rows = [_row(p) for p in condition[join]]
            if not rows or len(rows) > MAX_ROWS or any(r is None for r in rows):
                return None
            return join, [r for r in rows if r is not None]
    row = _row(condition)
    return ("all", [row]) if row is not None else None


def build_requires(required: Sequence[str], either: Sequence[str]) -> list[Any]:
    """The JSON requirements: each of `required` on its own, then `either` as one choice (any one of
    them will do). A choice of one field is an ordinary requirement."""
    out: list[Any] = list(dict.fromkeys(f for f in required if f))
    alternatives = [f for f in dict.fromkeys(either) if f and f not in out]
    if len(alternatives) == 1:
        out.append(alternatives[0])
    elif alternatives:
        out.append(alternatives)
    return out


def split_requires(requires: Any) -> tuple[list[str], list[str]] | None:
    """The builder's two lists for stored requirements; None for a shape it cannot show (two choices)."""
    if not isinstance(requires, list):
        return None
    required = [r for r in requires if isinstance(r, str)]
    choices = [r for r in requires if isinstance(r, list)]
    if len(choices) > 1 or len(required) + len(choices) != len(requires):
        return None
    return required, [str(f) for f in choices[0]] if choices else []


@dataclass(frozen=True)
class Words:
    """What a rule is said with, in one language: field and option labels, and the sentence's pieces."""

    fields: Mapping[str, str]  # field name -> label
    options: Mapping[str, Mapping[str, str]]  # field name -> {code: label}
    operators: Mapping[str, str]  # operator -> words ("等于")
    joins: Mapping[str, str]  # all/any -> words ("且")
    always: str  # the sentence of a rule with no condition ("每条动作")
    when: str  # "当 %(condition)s 时"
    must: str  # "必须填写 %(fields)s"
    either: str  # "%(fields)s 其一"
    list_sep: str  # "、"
    or_sep: str  # " 或 "


def words(option_labels: Mapping[str, Mapping[str, str]], choice_fields: Mapping[str, str]) -> Words:
    """The builder's words in the active language; `option_labels` by option set, `choice_fields`
    maps a field to its option set."""
    return Words(
        fields={name: str(label) for name, label in FIELD_LABELS.items()},
        options={field: option_labels.get(set_code, {}) for field, set_code in choice_fields.items()},
        operators={
            EQUALS: str(_("equals")),
            NOT_EQUALS: str(_("is not")),
            IN: str(_("is one of")),
            EMPTY: str(_("is empty")),
            FILLED: str(_("is filled")),
        },
        joins={"all": str(_("and")), "any": str(_("or"))},
        always=str(_("Every action: ")),
        when=str(_("When %(condition)s, ")),
        must=str(_("fill in %(fields)s")),
        either=str(_("one of %(fields)s")),
        list_sep=str(_(", ")),
        or_sep=str(_(" or ")),
    )


def _option(words: Words, field: str, code: str) -> str:
    return words.options.get(field, {}).get(code, code)


def condition_text(condition: Any, words: Words) -> str:
    shape = builder_rows(condition)
    if shape is None:
        return "…"
    join, rows = shape
    parts = []
    for row in rows:
        label = words.fields.get(row.field, row.field)
        if row.op in VALUELESS:
            parts.append(f"{label} {words.operators[row.op]}")
        else:
            shown = words.list_sep.join(_option(words, row.field, v) for v in row.values)
            parts.append(f"{label} {words.operators[row.op]} {shown}")
    return f" {words.joins[join]} ".join(parts)


def _requires_text(requires: Any, words: Words) -> str:
    shape = split_requires(requires)
    if shape is None:
        return "…"
    required, either = shape
    pieces = [words.fields.get(f, f) for f in required]
    if either:
        pieces.append(words.either % {"fields": words.or_sep.join(words.fields.get(f, f) for f in either)})
    return words.list_sep.join(pieces)


def describe(condition: Any, requires: Any, words: Words) -> str:
    """The rule in one sentence: "当 客户阶段 等于 合同签署 时，必须填写 下一步交付物"."""
    when = condition_text(condition, words) if condition else ""
    must = words.must % {"fields": _requires_text(requires, words)}
    return f"{words.when % {'condition': when}}{must}" if when else f"{words.always}{must}"


def propose_message(condition: Any, requires: Any, words: Words, *, english: bool) -> str:
    """The message a rep is shown, proposed from the rule: "合同签署阶段必须填写下一步交付物" for the
    common single "stage equals" rule, the rule's own sentence otherwise."""
    shape = builder_rows(condition) if condition else ("all", [])
    needs = _requires_text(requires, words)
    if shape is not None and len(shape[1]) == 1 and shape[1][0].op == EQUALS and shape[1][0].field == "stage":
        stage = _option(words, "stage", shape[1][0].values[0])
        if english:
            return f"At the {stage} stage, fill in: {needs}"
        return f"{stage}阶段必须填写{needs.replace(' ', '')}"
    return describe(condition, requires, words)


# --- the form: rows read from a POST, and what the condition rows' template shows ----------------


def rows_from_form(data: Any) -> tuple[str, list[Row]]:
    """The join and the filled rows of the condition rows' form fields (`cond-<i>-field/op/value`)
    in `data`, a QueryDict (get, getlist)."""
    rows = []
    for i in range(MAX_ROWS):
        field = data.get(f"cond-{i}-field", "") or ""
        if field in FIELD_LABELS and not field.startswith("evidence_"):
            op = data.get(f"cond-{i}-op", EQUALS) or EQUALS
            rows.append(Row(field, op, tuple(data.getlist(f"cond-{i}-value"))))
    return data.get("join", "all") or "all", rows


def row_views(
    rows: Sequence[Row],
    words: Words,
    choices: Mapping[str, Sequence[tuple[str, str]]],
    errors: Mapping[str, str],
) -> list[dict[str, Any]]:
    """What templates/catalog/_condition_rows.html shows: each row with the operators its field
    allows (a text field: empty or filled), the field's options, and an empty row to add one."""
    shown = [*rows, *([Row("", EQUALS)] if len(rows) < MAX_ROWS else [])]
    out = []
    for i, row in enumerate(shown):
        choice = row.field in choices
        ops = OPERATORS if choice or not row.field else (EMPTY, FILLED)
        op = row.op if row.op in ops else ops[0]
        out.append(
            {
                "i": i,
                "field": row.field,
                "op": op,
                "ops": [(o, words.operators[o]) for o in ops],
                "choices": choices.get(row.field, []),
                "values": set(row.values),
                "needs_value": choice and op not in VALUELESS,
                "error": errors.get(f"cond-{i}-value", "") or errors.get(f"cond-{i}-op", ""),
            }
        )
    return out


def condition_fields() -> list[str]:
    """The fields a condition may test (evidence is required, not tested)."""
    return [name for name in FIELD_LABELS if not name.startswith("evidence_")]


def follow_up_sentence(condition: Any, days: int, title: str, words: Words) -> str:
    """A follow-up rule in words: "在 关键动作 等于 发送报价单 之后第 3 个工作日提醒：…"."""
    return str(_("After %(condition)s, on working day %(days)s: %(title)s")) % {
        "condition": condition_text(condition, words),
        "days": days,
        "title": title,
    }
