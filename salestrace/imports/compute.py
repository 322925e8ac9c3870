"""Reading import files and their values: pure (bytes and strings in, values or problems out).

No ORM, no clock. Every cell is read as text (an xlsx number or date is turned into the text a
person would type), so one set of parsers judges CSV and xlsx alike; money is never a float.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, Protocol

# Chinese Excel saves "CSV" as GB18030 (GBK); tools of the rest of the world as UTF-8, often with a BOM.
BOM = b"\xef\xbb\xbf"
MAX_COLUMNS = 200


class UnreadableFile(Exception):
    """The file as a whole cannot be read (encoding, format); `code` names why."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Table:
    """A sheet as text: its header row and data rows (row numbers as a spreadsheet shows them:
    the header is row 1)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    encoding: str

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number, {header: cell}) for each data row; short rows are padded with empty cells."""
        for index, row in enumerate(self.rows, start=2):
            yield index, {h: (row[i] if i < len(row) else "") for i, h in enumerate(self.headers)}

    def count(self) -> int:
        return len(self.rows)


def detect_encoding(data: bytes) -> str:
    """utf-8-sig (a BOM), utf-8 (decodes strictly) or gb18030 (what Chinese Excel writes)."""
    if data.startswith(BOM):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnreadableFile("encoding") from None
    return "gb18030"


def read_csv(data: bytes) -> Table:
    """A CSV file's table, its encoding detected; the delimiter is a comma, a semicolon or a tab."""
    encoding = detect_encoding(data)
    text = data.decode(encoding)
    if "\x00" in text:
        raise UnreadableFile("binary")
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [tuple(cell.strip() for cell in row) for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise UnreadableFile("malformed", str(exc)) from None
    return _table(rows, encoding)


STREAM_CHUNK = 1 << 20


class Sheet(Protocol):
    """What an import reads of a file: the header row and the data rows, numbered as a spreadsheet
    numbers them (a Table in memory, or a CsvStream read from disk)."""

    @property
    def headers(self) -> tuple[str, ...]: ...
    @property
    def encoding(self) -> str: ...
    def records(self) -> Iterator[tuple[int, dict[str, str]]]: ...
    def count(self) -> int: ...


def _stream_encoding(open_binary: Callable[[], BinaryIO]) -> str:
    """`detect_encoding` over a file read a megabyte at a time (memory flat, however large)."""
    with open_binary() as handle:
        if handle.read(len(BOM)) == BOM:
            return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open_binary() as handle:
                while chunk := handle.read(STREAM_CHUNK):
                    if "\x00" in decoder.decode(chunk):
                        raise UnreadableFile("binary")
                if "\x00" in decoder.decode(b"", final=True):
                    raise UnreadableFile("binary")
        except UnicodeDecodeError:
            continue
        return encoding
    raise UnreadableFile("encoding")


@dataclass(frozen=True)
class CsvStream:
    """A CSV file read row by row from disk each time its records are asked for: an import of a
    million rows holds one row at a time, not the file. Rows and numbers as `read_csv` gives them."""

    open_binary: Callable[[], BinaryIO]
    encoding: str
    dialect: Any
    headers: tuple[str, ...]

    @classmethod
    def open(cls, open_binary: Callable[[], BinaryIO]) -> CsvStream:
        encoding = _stream_encoding(open_binary)
        with open_binary() as handle:
            sample = io.TextIOWrapper(handle, encoding=encoding, newline="").read(4096)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        stream = cls(open_binary, encoding, dialect, ())
        for headers in stream._rows():
            while headers and not headers[-1]:
                headers = headers[:-1]
            if len(headers) > MAX_COLUMNS:
                raise UnreadableFile("too_many_columns")
            return cls(open_binary, encoding, dialect, headers)
        raise UnreadableFile("empty")

    def _rows(self) -> Iterator[tuple[str, ...]]:
        with self.open_binary() as handle:
            text = io.TextIOWrapper(handle, encoding=self.encoding, newline="")
            try:
                for row in csv.reader(text, self.dialect):
                    cells = tuple(cell.strip() for cell in row)
                    if any(cells):
                        yield cells
            except csv.Error as exc:
                raise UnreadableFile("malformed", str(exc)) from None
            except UnicodeDecodeError:
                raise UnreadableFile("encoding") from None

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        rows = self._rows()
        next(rows, None)  # the header row
        headers = self.headers
        for index, row in enumerate(rows, start=2):
            yield index, {h: (row[i] if i < len(row) else "") for i, h in enumerate(headers)}

    def count(self) -> int:
        return sum(1 for _row in self._rows()) - 1


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # The shortest text that reads back as the same number: 1234.5, not 1234.49999…
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value).strip()


def read_xlsx(data: bytes) -> Table:
    """The first sheet of an xlsx workbook (read-only, values not formulas)."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile("malformed", str(exc)) from None
    try:
        sheet = book.worksheets[0]
        rows = [tuple(_cell_text(v) for v in row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _table(rows, "xlsx")


def read_table(data: bytes, filename: str) -> Table:
    """CSV or xlsx by the file's content (an xlsx is a zip: it starts with PK)."""
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        return read_xlsx(data)
    return read_csv(data)


def _table(rows: list[tuple[str, ...]], encoding: str) -> Table:
    rows = [r for r in rows if any(cell for cell in r)]
    if not rows:
        raise UnreadableFile("empty")
    headers = rows[0]
    while headers and not headers[-1]:
        headers = headers[:-1]
    if len(headers) > MAX_COLUMNS:
        raise UnreadableFile("too_many_columns")
    return Table(headers=tuple(headers), rows=tuple(rows[1:]), encoding=encoding)


# --- values -------------------------------------------------------------------------------------


_HEADER_GAPS = re.compile(r"[\s\-]+")
_KEY_GAPS = re.compile(r"[\s_\-]+")


def normalize_text(value: str) -> str:
    """Full-width letters and digits made half-width (ＡＢＣ１２３ -> ABC123), spaces trimmed and collapsed."""
    if not value:
        return ""
    # NFKC leaves ASCII as it is; split() collapses and trims every kind of white space (a million
    # rows of a dozen cells each make this the importer's hottest line).
    return " ".join((value if value.isascii() else unicodedata.normalize("NFKC", value)).split())


def normalize_header(value: str) -> str:
    """A header as a mapping key: half-width, lower case, spaces and dashes as underscores."""
    return _HEADER_GAPS.sub("_", normalize_text(value).lower())


def normalize_key(value: str) -> str:
    """A value compared loosely (option labels, product and people names): no case, no spaces."""
    return _KEY_GAPS.sub("", normalize_text(value).lower())


_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
YEARS = range(2000, 2100)  # what a file's date may be: a typo like 0226 or 2206 is refused


def parse_date(value: str) -> date | None:
    """2026-03-01, 2026/3/1, 2026.3.1 or 2026年3月1日 (a year 2000–2099); None when it is none of these.

    Day-first and month-first forms (01/03/2026) are refused: which one was meant cannot be known."""
    return _parse_date(normalize_text(value))


def _parse_date(text: str) -> date | None:
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit():
        # The common case (our own export, ISO dates) without the patterns.
        try:
            iso = date(int(text[:4]), int(text[5:7]), int(text[8:]))
        except ValueError:
            return None
        return iso if iso.year in YEARS else None
    for pattern in _DATE_PATTERNS:
        if match := pattern.fullmatch(text):
            year, month, day = (int(g) for g in match.groups())
            if year not in YEARS:
                return None
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def parse_datetime(value: str) -> datetime | None:
    """A date as `parse_date` reads it, then a space or T and HH:MM[:SS]; naive (the caller's zone).

    A date alone is that day at 00:00."""
    if len(value) == 19 and value[4] == "-" and value[7] == "-" and value[10] in " T" and value[13] == ":" == value[16]:
        # The common case (our own export, ISO date times) without the patterns.
        digits = value[:4] + value[5:7] + value[8:10] + value[11:13] + value[14:16] + value[17:]
        if digits.isdigit() and digits.isascii():
            try:
                # naive on purpose: the caller decides the zone, as for every other form
                moment = datetime(  # noqa: DTZ001
                    int(value[:4]),
                    int(value[5:7]),
                    int(value[8:10]),
                    int(value[11:13]),
                    int(value[14:16]),
                    int(value[17:]),
                )
            except ValueError:
                return None
            return moment if moment.year in YEARS else None
    text = normalize_text(value)
    head, _sep, tail = text.replace("T", " ").partition(" ")
    day = _parse_date(head)
    if day is None:
        return None
    if not tail:
        return datetime.combine(day, time(0))
    match = _TIME.fullmatch(tail.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return datetime.combine(day, time(hour, minute, second))


_MONEY = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?")
MAX_MONEY = Decimal("99999999999999.99")


def parse_money(value: str) -> Decimal | None:
    """An amount from 0 up with at most two decimals: 1234.50, 1,234.50, ￥1,234.5, ¥ 80 or 80元;
    None when it is anything else (negative, three decimals, 1.2e3, text)."""
    text = normalize_text(value).replace(" ", "")
    for sign in ("¥", "￥", "RMB", "CNY"):
        text = text.removeprefix(sign)
    text = text.removesuffix("元")
    if not _MONEY.fullmatch(text):
        return None
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if amount > MAX_MONEY or amount != amount.quantize(Decimal("0.01")):
        return None
    return amount.quantize(Decimal("0.01"))


def option_lookup(options: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """{loose key: code} of an option set's (code, zh label, en label): a value is accepted by any of the three."""
    found: dict[str, str] = {}
    for code, zh, en in options:
        for text in (code, zh, en):
            if text:
                found.setdefault(normalize_key(text), code)
    for code, _zh, _en in options:
        found.setdefault(code, code)  # the code as written: a lookup without normalizing (see resolve_option)
    return found


def resolve_option(value: str, lookup: Mapping[str, str]) -> str | None:
    """The code a value names (by code, Chinese or English label), or None."""
    # A code as written (our export, most files) is its own key: no normalizing needed.
    return lookup.get(value) or lookup.get(normalize_key(value))
