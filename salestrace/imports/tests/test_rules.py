from __future__ import annotations

from datetime import date
from decimal import Decimal

from salestrace.imports.compute import option_lookup
from salestrace.imports.rules import check_row, header_mapping, missing_columns

STAGES = {"stage": option_lookup([("lead", "线索", "Lead"), ("won", "成交", "Won"), ("lost", "输单", "Lost")])}
DEAL_HEADERS = ("external_id", "customer_external_id", "owner", "amount", "engaged_on", "stage", "closed_on")


def deal(**values: str) -> dict[str, str]:
    base = {"external_id": "D1", "customer_external_id": "C1", "owner": "alice", "engaged_on": "2026-01-05"}
    return {**base, **values}


def check(record: dict[str, str]) -> tuple[object, list[dict[str, object]]]:
    mapping = {h: h for h in DEAL_HEADERS}
    row, errors = check_row(7, record, kind="deals", mapping=mapping, options=STAGES)
    return row, [e.as_dict() for e in errors]


def test_a_good_deal_row_is_typed() -> None:
    row, errors = check(deal(amount="￥1,200", stage="成交", closed_on="2026/2/1"))
    assert errors == []
    assert row is not None
    values = row.values  # type: ignore[attr-defined]
    assert values["amount"] == Decimal("1200.00")
    assert values["stage"] == "won"
    assert values["outcome"] == "won"
    assert values["closed_on"] == date(2026, 2, 1)


def test_every_problem_of_a_row_names_its_row_column_and_value() -> None:
    # when a row has a bad amount, an unknown stage and a date nobody can read
    row, errors = check(deal(amount="12.345", stage="谈判中", engaged_on="05/01/2026"))
    # then all three are reported, each with its row, column and value
    assert row is None
    assert [(e["row"], e["column"], e["value"], e["code"]) for e in errors] == [
        (7, "amount", "12.345", "invalid_amount"),
        (7, "engaged_on", "05/01/2026", "invalid_date"),
        (7, "stage", "谈判中", "invalid_choice"),
    ]
    # and the unknown stage's message says what would be accepted
    assert "lead" in str(errors[2]["message"])
    assert "won" in str(errors[2]["message"])


def test_a_won_deal_needs_its_closing_date_and_an_open_one_has_none() -> None:
    _row, errors = check(deal(stage="won"))
    assert [(e["column"], e["code"]) for e in errors] == [("closed_on", "required")]
    _row, errors = check(deal(stage="lead", closed_on="2026-02-01"))
    assert [(e["column"], e["code"]) for e in errors] == [("closed_on", "open_closed")]
    _row, errors = check(deal(stage="won", closed_on="2025-12-01", engaged_on="2026-01-05"))
    assert [(e["column"], e["code"]) for e in errors] == [("closed_on", "before_engaged")]


def test_headers_map_by_name_or_alias_and_missing_required_columns_are_named() -> None:
    mapping = header_mapping(("客户编号", "Name", "unknown"), "customers", {"客户编号": "external_id"})
    assert mapping == {"客户编号": "external_id", "Name": "name"}
    assert missing_columns("deals", {"external_id": "external_id"}) == ["customer_external_id", "owner", "engaged_on"]
