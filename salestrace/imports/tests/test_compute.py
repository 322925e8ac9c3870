from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook

from salestrace.imports.compute import (
    UnreadableFile,
    detect_encoding,
    normalize_header,
    option_lookup,
    parse_date,
    parse_datetime,
    parse_money,
    read_table,
    resolve_option,
)

ROWS = "客户编号,客户名称\nC1,联华超市(江宁店)\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ROWS.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + ROWS.encode("utf-8"), "utf-8-sig"),
        (ROWS.encode("gb18030"), "gb18030"),
    ],
)
def test_chinese_csv_is_read_in_utf8_with_or_without_bom_and_in_gb18030(data: bytes, encoding: str) -> None:
    # when the file is read
    table = read_table(data, "customers.csv")
    # then its encoding is detected and its Chinese text is intact
    assert table.encoding == encoding
    assert table.headers == ("客户编号", "客户名称")
    assert table.rows == (("C1", "联华超市(江宁店)"),)


def test_bytes_that_are_no_text_are_refused_by_name() -> None:
    with pytest.raises(UnreadableFile) as caught:
        detect_encoding(b"\xff\xfe\x00\x81\xff")
    assert caught.value.code == "encoding"


def test_xlsx_cells_are_read_as_the_text_a_person_typed() -> None:
    # given a sheet with a date, an integer and a decimal amount
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "engaged_on", "amount", "count"])
    sheet.append(["Acme", datetime(2026, 3, 1), 1234.5, 12])
    buffer = io.BytesIO()
    book.save(buffer)
    # when it is read
    table = read_table(buffer.getvalue(), "deals.xlsx")
    # then
    assert table.encoding == "xlsx"
    assert table.rows == (("Acme", "2026-03-01", "1234.5", "12"),)


def test_ragged_rows_are_padded_and_blank_rows_dropped() -> None:
    table = read_table(b"a,b,c\n1\n\n2,3,4,5\n", "x.csv")
    assert [dict(r) for _n, r in table.records()] == [{"a": "1", "b": "", "c": ""}, {"a": "2", "b": "3", "c": "4"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        ("２０２６－０３－０１", date(2026, 3, 1)),  # full-width digits and dash are made half-width
        ("01/03/2026", None),
        ("2026-02-30", None),
        ("1999-01-01", None),
        ("tomorrow", None),
    ],
)
def test_dates_are_read_strictly(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_date_times_take_a_time_or_midnight() -> None:
    assert parse_datetime("2026/3/1 14:30") == datetime(2026, 3, 1, 14, 30)
    assert parse_datetime("2026-03-01T09:05:07") == datetime(2026, 3, 1, 9, 5, 7)
    assert parse_datetime("2026-03-01") == datetime(2026, 3, 1)
    assert parse_datetime("2026-03-01 25:00") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01 23:59:59", datetime(2026, 3, 1, 23, 59, 59)),
        ("2026-03-01T00:00:00", datetime(2026, 3, 1)),
        ("2026-02-29 10:00:00", None),  # no such day
        ("2026-03-01 24:00:00", None),
        ("1999-12-31 10:00:00", None),  # outside 2000–2099, as for dates
        ("2026-03-01 1a:00:00", None),
        ("２０２６-03-01 10:00:00", datetime(2026, 3, 1, 10)),  # full width: the general path
    ],
)
def test_iso_date_times_read_on_the_short_path_as_on_the_general_one(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("￥1,234.5", Decimal("1234.50")),
        ("¥ 80", Decimal("80.00")),
        ("80元", Decimal("80.00")),
        ("１２３", Decimal("123.00")),
        ("-5", None),
        ("1.005", None),
        ("1e3", None),
        ("12,34", None),
        ("abc", None),
    ],
)
def test_money_is_decimal_from_zero_with_two_decimals_at_most(text: str, expected: Decimal | None) -> None:
    assert parse_money(text) == expected


def test_an_option_is_accepted_by_code_or_chinese_or_english_label() -> None:
    lookup = option_lookup([("price_negotiation", "价格谈判", "Price negotiation"), ("lead", "线索", "Lead")])
    assert resolve_option("price_negotiation", lookup) == "price_negotiation"
    assert resolve_option("价格谈判", lookup) == "price_negotiation"
    assert resolve_option(" price NEGOTIATION ", lookup) == "price_negotiation"
    assert resolve_option("谈判", lookup) is None


def test_headers_are_normalized_for_mapping() -> None:
    assert normalize_header(" Customer-External ID ") == "customer_external_id"
    assert normalize_header("客户名称") == "客户名称"
