"""Everything back out, in the import's own format (docs/import-format.md): one CSV per kind with
the fixed column names, so that an export imports again as it was (into this or another install).

Reads only. Ids: an object that came in through the SalesTrace format keeps the external id it came
with; anything else is named by its SalesTrace id. Times are local wall-clock (Asia/Shanghai) to the
second, options by code, money with two decimals, text made inert for spreadsheets.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from salestrace.actions.models import ActionLog
from salestrace.catalog.models import Product
from salestrace.customers.models import Customer, Deal
from salestrace.imports.models import ExternalRef, Kind
from salestrace.imports.rules import FORMAT
from salestrace.imports.selectors import inert
from salestrace.org.models import User

SOURCE = "salestrace"
ORDER = (Kind.TEAMS, Kind.PRODUCTS, Kind.CUSTOMERS, Kind.DEALS, Kind.ACTIONS)
CHUNK = 2000


def columns(kind: str) -> list[str]:
    return [c.name for c in FORMAT[kind]]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return inert(str(value))


def _ids(kind: str) -> dict[int, str]:
    """{object id: the external id it was imported with} for objects that came in in our format."""
    refs = ExternalRef.objects.filter(kind=kind, source=SOURCE).values_list("object_id", "external_id")
    return dict(refs.iterator(chunk_size=CHUNK))


def _named(ids: dict[int, str], pk: int | None) -> str:
    return "" if pk is None else ids.get(pk, str(pk))


def export_rows(kind: str) -> Iterator[list[str]]:
    """The header, then every row of `kind` (in id order), as text cells."""
    yield columns(kind)
    for row in _rows(kind):
        yield [_cell(v) for v in row]


def _rows(kind: str) -> Iterable[tuple[Any, ...]]:
    if kind == Kind.TEAMS:
        users = User.objects.filter(is_active=True).order_by("pk")
        fields = ("username", "display_name", "role", "team__name", "team__parent__name", "email")
        return users.values_list(*fields).iterator(chunk_size=CHUNK)
    if kind == Kind.PRODUCTS:
        return Product.objects.order_by("pk").values_list("name", "series", "list_price", "currency").iterator()
    if kind == Kind.CUSTOMERS:
        return _customers()
    if kind == Kind.DEALS:
        return _deals()
    return _actions()


def _customers() -> Iterator[tuple[Any, ...]]:
    ids = _ids(Kind.CUSTOMERS)
    fields = (
        "pk",
        "name",
        "kind",
        "owner__username",
        "owner__team__name",
        "region",
        "city",
        "industry",
        "phones",
        "address",
        "credit_code",
        "contacts",
    )
    for pk, *rest in Customer.objects.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK):
        yield (_named(ids, pk), *rest)


def _deals() -> Iterator[tuple[Any, ...]]:
    ids, customers = _ids(Kind.DEALS), _ids(Kind.CUSTOMERS)
    fields = (
        "pk",
        "customer_id",
        "owner__username",
        "title",
        "product",
        "amount",
        "currency",
        "engaged_on",
        "expected_close",
        "stage",
        "outcome",
        "closed_on",
        "lost_reason",
    )
    for pk, customer_id, *rest in Deal.objects.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK):
        yield (_named(ids, pk), _named(customers, customer_id), *rest)


# The actions file's columns that are not the action's own fields, and where each comes from.
_ACTION_SOURCES = {
    "external_id": "pk",
    "customer_external_id": "customer_id",
    "deal_external_id": "deal_id",
    "rep": "rep__username",
}


def _actions() -> Iterator[tuple[Any, ...]]:
    ids, customers, deals = _ids(Kind.ACTIONS), _ids(Kind.CUSTOMERS), _ids(Kind.DEALS)
    fields = [_ACTION_SOURCES.get(column, column) for column in columns(Kind.ACTIONS)]
    rows = ActionLog.objects.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK)
    for pk, customer_id, deal_id, *rest in rows:
        yield (_named(ids, pk), _named(customers, customer_id), _named(deals, deal_id), *rest)


def csv_lines(kind: str, *, bom: bool = True) -> Iterator[str]:
    """The CSV text of `kind` line by line (UTF-8 with a BOM, so that Excel reads the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        yield "\ufeff"
    for row in export_rows(kind):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
