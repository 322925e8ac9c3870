"""The SalesTrace import format and its row checks: pure (text rows in, typed rows or problems out).

One file per kind with fixed column names (docs/import-format.md). A row check returns every
problem of the row (which row, which column, the value, what would be accepted), never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salestrace.imports.compute import (
    normalize_header,
    normalize_key,
    normalize_text,
    parse_date,
    parse_datetime,
    parse_money,
    resolve_option,
)

TEXT, DATE, DATETIME, MONEY, OPTION, CHOICE, COUNT = "text", "date", "datetime", "money", "option", "choice", "count"
MAX_COUNT = 10**9


@dataclass(frozen=True)
class Column:
    """One column of the format: its type, whether it must be filled, its longest text; for an
    OPTION the option set it names a code of; for a CHOICE the fixed codes (value -> code)."""

    name: str
    type: str = TEXT
    required: bool = False
    max_length: int = 200
    option_set: str = ""
    free: bool = False  # free text (a plan, a summary): kept as written, only trimmed


def uninert(text: str) -> str:
    """A text our export made inert for spreadsheets ("'=…", see imports.selectors.inert) without
    its apostrophe again, so that an export imports back as it was."""
    if text.startswith("'") and text[1:2] in {"=", "+", "-", "@"}:
        return text[1:]
    return text


@dataclass(frozen=True)
class RowError:
    """One problem of one row: row 1 is the header, as a spreadsheet numbers it; column "" is the row as a whole."""

    row: int
    column: str
    value: str
    code: str
    message: str | Promise

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "code": self.code,
            "message": str(self.message),
        }


@dataclass(frozen=True)
class Row:
    """A row that passed its checks: typed values by column name."""

    number: int
    values: dict[str, Any]
    raw: dict[str, str] = field(default_factory=dict)


OUTCOMES = ("open", "won", "lost")
ROLES = ("rep", "supervisor", "director", "assistant", "admin", "store_staff")
CUSTOMER_KINDS = ("lead", "account", "store")

FORMAT: dict[str, tuple[Column, ...]] = {
    "teams": (
        Column("username", required=True, max_length=150),
        Column("display_name", max_length=100),
        Column("role", CHOICE, required=True, option_set="role"),
        Column("team", max_length=100),
        Column("parent_team", max_length=100),
        Column("email", max_length=254),
    ),
    "products": (
        Column("name", required=True, max_length=200),
        Column("series", max_length=100),
        Column("list_price", MONEY, required=True),
        Column("currency", max_length=3),
    ),
    "customers": (
        Column("external_id", required=True),
        Column("name", required=True),
        Column("kind", CHOICE, option_set="customer_kind"),
        Column("owner", max_length=150),
        Column("team", max_length=100),
        Column("region", max_length=100),
        Column("city", max_length=100),
        Column("industry", max_length=100),
        Column("phones", max_length=200),
        Column("address", max_length=300),
        Column("credit_code", max_length=30),
        Column("contacts", max_length=200),
    ),
    "deals": (
        Column("external_id", required=True),
        Column("customer_external_id", required=True),
        Column("owner", required=True, max_length=150),
        Column("title", max_length=200, free=True),
        Column("product", max_length=300),
        Column("amount", MONEY),
        Column("currency", max_length=3),
        Column("engaged_on", DATE, required=True),
        Column("expected_close", DATE),
        Column("stage", OPTION, option_set="stage"),
        Column("outcome", CHOICE, option_set="outcome"),
        Column("closed_on", DATE),
        Column("lost_reason", max_length=300, free=True),
    ),
    "actions": (
        Column("external_id", required=True),
        Column("customer_external_id", required=True),
        Column("deal_external_id"),
        Column("rep", required=True, max_length=150),
        Column("occurred_at", DATETIME, required=True),
        Column("logged_at", DATETIME),
        Column("contact_method", OPTION, required=True, option_set="contact_method"),
        # Empty: the stage its deal (or, without one, its customer) is at when it is imported.
        Column("stage", OPTION, option_set="stage"),
        Column("key_action", OPTION, option_set="key_action"),
        Column("obstacle", OPTION, option_set="obstacle"),
        Column("next_step_plan", max_length=500, free=True),
        Column("next_step_date", DATE),
        Column("next_step_deliverable", max_length=200, free=True),
        Column("emotion", OPTION, option_set="emotion"),
        Column("summary", max_length=5000, free=True),
        Column("channel", OPTION, option_set="channel"),
        Column("content_type", OPTION, option_set="content_type"),
        Column("response_strength", OPTION, option_set="response_strength"),
    ),
    # Field execution (issue 14): route plans, the POS's redemptions, the CRM's members, the ERP's stock.
    "routes": (
        Column("rep", required=True, max_length=150),
        Column("day", DATE, required=True),
        Column("customer_external_id", required=True),
        # Empty: the order of the rows in the file.
        Column("position", COUNT),
    ),
    "redemptions": (
        Column("external_id", required=True),
        Column("promotion", required=True, max_length=100),
        Column("store_external_id", required=True),
        Column("day", DATE, required=True),
        Column("receipts", COUNT, required=True),
        Column("discount", MONEY, required=True),
    ),
    "members": (
        Column("phone", required=True, max_length=30),
        Column("level", required=True, max_length=50),
        Column("name", max_length=100),
    ),
    "stock": (
        Column("store_external_id", required=True),
        Column("product", required=True, max_length=100),
        Column("quantity", COUNT, required=True),
        Column("as_of", DATETIME),
    ),
}

# The import's own fixed choices, accepted by code or by their Chinese or English word.
CHOICES: dict[str, Mapping[str, str]] = {
    "outcome": {"open": "open", "进行中": "open", "won": "won", "赢单": "won", "成交": "won", "lost": "lost", "输单": "lost"},
    "role": {
        "rep": "rep", "salesrep": "rep", "销售": "rep", "业务员": "rep",
        "supervisor": "supervisor", "manager": "supervisor", "主管": "supervisor",
        "director": "director", "salesdirector": "director", "销售总监": "director",
        "assistant": "assistant", "销售助理": "assistant", "财务": "assistant",
        "admin": "admin", "administrator": "admin", "管理员": "admin",
        "store_staff": "store_staff", "storestaff": "store_staff", "店员": "store_staff",
    },
    "customer_kind": {
        "lead": "lead", "线索": "lead", "account": "account", "客户": "account", "store": "store", "门店": "store",
    },
}  # fmt: skip


def header_mapping(headers: tuple[str, ...], kind: str, aliases: Mapping[str, str]) -> dict[str, str]:
    """{file header: format column} for the headers that name a column of `kind`: by the column's
    own name or an alias of the preset (both compared as normalized headers); others are ignored."""
    columns = {c.name for c in FORMAT[kind]}
    loose_aliases = {normalize_header(k): v for k, v in aliases.items()}
    found: dict[str, str] = {}
    for header in headers:
        key = normalize_header(header)
        target = key if key in columns else loose_aliases.get(key)
        if target in columns and target not in found.values():
            found[header] = target
    return found


def missing_columns(kind: str, mapping: Mapping[str, str]) -> list[str]:
    """The required columns of `kind` that no header maps to."""
    mapped = set(mapping.values())
    return [c.name for c in FORMAT[kind] if c.required and c.name not in mapped]


def _choices_text(choices: Mapping[str, str]) -> str:
    return ", ".join(sorted(set(choices.values())))


def check_row(
    number: int,
    record: Mapping[str, str],
    *,
    kind: str,
    mapping: Mapping[str, str],
    options: Mapping[str, Mapping[str, str]],
) -> tuple[Row | None, list[RowError]]:
    """The typed row, or every problem of it. `mapping`: file header -> column; `options`: option
    set code -> {loose key: code} (compute.option_lookup of the loaded template)."""
    by_column = {column: record.get(header, "") for header, column in mapping.items()}
    values: dict[str, Any] = {}
    errors: list[RowError] = []

    def refuse(column: str, value: str, code: str, message: str | Promise) -> None:
        errors.append(RowError(number, column, value, code, message))

    for column in FORMAT[kind]:
        cell = by_column.get(column.name, "")
        # free text (full-width punctuation, line breaks) as written; names and codes normalized
        raw = "" if not cell else cell.strip() if column.free else normalize_text(cell)
        if raw and column.type == TEXT:
            raw = uninert(raw)
        if not raw:
            if column.required:
                refuse(column.name, raw, "required", _("This column must be filled."))
            values[column.name] = None if column.type in {DATE, DATETIME, MONEY, COUNT} else ""
            continue
        value: Any = raw
        if column.type == TEXT and len(raw) > column.max_length:
            refuse(column.name, raw, "too_long", _("At most %(n)d characters.") % {"n": column.max_length})
        elif column.type == DATE and (value := parse_date(raw)) is None:
            refuse(column.name, raw, "invalid_date", _("Not a date: write it as 2026-03-01, 2026/3/1 or 2026年3月1日."))
        elif column.type == DATETIME and (value := parse_datetime(raw)) is None:
            refuse(column.name, raw, "invalid_datetime", _("Not a date and time: write it as 2026-03-01 14:30."))
        elif column.type == MONEY and (value := parse_money(raw)) is None:
            message = _("Not an amount: a number from 0 up with at most two decimals, e.g. 1234.50 or ¥1,234.50.")
            refuse(column.name, raw, "invalid_amount", message)
        elif column.type == COUNT and (value := parse_count(raw)) is None:
            refuse(column.name, raw, "invalid_count", _("Not a whole number from 0 up, e.g. 12 or 1,200."))
        elif column.type == OPTION:
            lookup = options.get(column.option_set, {})
            if (value := resolve_option(raw, lookup)) is None:
                accepted = ", ".join(sorted(set(lookup.values())))
                message = _("Not one of the options; accepted (by code, Chinese or English label): %(accepted)s.")
                refuse(column.name, raw, "invalid_choice", message % {"accepted": accepted})
        elif column.type == CHOICE:
            choices = CHOICES[column.option_set]
            if (value := choices.get(normalize_key(raw))) is None:
                message = _("Not one of the accepted values: %(accepted)s.")
                refuse(column.name, raw, "invalid_choice", message % {"accepted": _choices_text(choices)})
        values[column.name] = value
    if kind == "deals" and not errors:
        errors += _deal_problems(number, values)
    if kind == "actions" and not errors:
        errors += _action_problems(number, values)
    if errors:
        return None, errors
    return Row(number, values), []


@dataclass(frozen=True)
class CheckedPart:
    """Rows of a file checked in order: those that passed, the problems of those that did not, and
    how many rows of the file have been read so far (the last part's `read` is the file's count)."""

    rows: list[Row]
    errors: list[RowError]
    read: int


def checked_parts(
    records: Iterable[tuple[int, Mapping[str, str]]],
    *,
    kind: str,
    mapping: Mapping[str, str],
    options: Mapping[str, Mapping[str, str]],
    size: int,
) -> Iterator[CheckedPart]:
    """Every row checked (`check_row`), and an id met again further down the file refused, `size`
    rows of the file at a time; the last part may be empty."""
    seen: dict[str, int] = {}
    rows: list[Row] = []
    errors: list[RowError] = []
    read = 0
    for number, record in records:
        read += 1
        row, problems = check_row(number, record, kind=kind, mapping=mapping, options=options)
        if row is not None and (ext := row.values.get("external_id") or row.values.get("username")):
            if ext in seen:
                message = _("This id is already on row %(row)d of the file.") % {"row": seen[ext]}
                problems, row = [RowError(number, "external_id", ext, "duplicate", message)], None
            else:
                seen[ext] = number
        if row is not None:
            rows.append(row)
        errors += problems
        if read % size == 0:
            yield CheckedPart(rows, errors, read)
            rows, errors = [], []
    yield CheckedPart(rows, errors, read)


def parse_count(text: str) -> int | None:
    """A whole number from 0 up as a spreadsheet writes it (1,200; 12.0); None otherwise."""
    cleaned = text.replace(",", "").replace("，", "").strip()
    if cleaned.endswith(".0"):
        cleaned = cleaned[:-2]
    if not cleaned.isdigit() or len(cleaned) > 10:
        return None
    value = int(cleaned)
    return value if value <= MAX_COUNT else None


def _deal_problems(number: int, values: dict[str, Any]) -> list[RowError]:
    """Outcome, stage and dates that agree: a closed deal has its closing date, an open one none."""
    outcome = values["outcome"] or {"won": "won", "lost": "lost"}.get(values["stage"], "open")
    values["outcome"] = outcome
    stage = values["stage"]
    problems: list[RowError] = []
    if outcome in {"won", "lost"}:
        if stage and stage != outcome:
            message = _("A %(outcome)s deal has the stage %(outcome)s (or leave the stage empty).")
            problems.append(RowError(number, "stage", stage, "stage_outcome", message % {"outcome": outcome}))
        values["stage"] = outcome
        if values["closed_on"] is None:
            problems.append(
                RowError(number, "closed_on", "", "required", _("A won or lost deal needs its closing date."))
            )
    elif values["closed_on"] is not None:
        message = _("An open deal has no closing date: give its outcome, or leave the date empty.")
        problems.append(RowError(number, "closed_on", str(values["closed_on"]), "open_closed", message))
    elif stage in {"won", "lost"}:
        closed_message = _("A deal at stage %(stage)s is not open.") % {"stage": stage}
        problems.append(RowError(number, "outcome", "open", "stage_outcome", closed_message))
    closed: date | None = values["closed_on"]
    if closed is not None and closed < values["engaged_on"]:
        message = _("The deal cannot close before it was engaged.")
        problems.append(RowError(number, "closed_on", closed.isoformat(), "before_engaged", message))
    return problems


def _action_problems(number: int, values: dict[str, Any]) -> list[RowError]:
    occurred: datetime = values["occurred_at"]
    logged: datetime | None = values["logged_at"]
    problems: list[RowError] = []
    if logged is not None and logged < occurred:
        message = _("An action cannot be logged before it happened.")
        problems.append(RowError(number, "logged_at", logged.isoformat(sep=" "), "before_occurred", message))
    step: date | None = values["next_step_date"]
    if step is not None and step < occurred.date():
        message = _("The next step cannot be dated before the action.")
        problems.append(RowError(number, "next_step_date", step.isoformat(), "before_occurred", message))
    return problems


def money_or_zero(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal("0.00")
