"""Everything back out, in the import's own format (docs/import-format.md): one CSV per kind with
the fixed column names, so that an export imports again as it was (into this or another install).

Reads only. Ids: an object that came in through the SalesTrace format keeps the external id it came
with; anything else is named by its SalesTrace id. Times are local wall-clock (Asia/Shanghai) to the
second, options by code, money with two decimals, text made inert for spreadsheets.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from salestrace.actions.models import ActionLog
from salestrace.catalog.models import Product
from salestrace.catalog.pack_io import current_pack, pack_yaml
from salestrace.customers.models import Customer, Deal
from salestrace.imports.models import ExternalRef, Kind
from salestrace.imports.rules import FORMAT
from salestrace.imports.selectors import inert
from salestrace.org.models import User
from salestrace.todos.models import CompanyDayOff, OfficialDay
from salestrace.todos.services import follow_up_entries

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


# --- the full export: everything in one zip --------------------------------------------------------

FULL_FORMAT = "salestrace-full-export"
FULL_VERSION = 1
TEMPLATE_MEMBER = "settings/template.yaml"
CALENDAR_MEMBER = "settings/calendar.csv"
DAYS_OFF_MEMBER = "settings/company_days_off.csv"
# What a full export leaves out, and why (the manifest says so to whoever reads it back).
NOT_INCLUDED = {
    "channel_secrets": "webhook URLs and secrets of WeCom, DingTalk and Feishu are never written out: enter them again",
    "webhook_endpoints": "their URLs and signing secrets are secrets: add them again under Settings > Webhooks",
    "evidence_files": "photos, screenshots and recordings stay in the file storage (copy MEDIA_ROOT or the bucket)",
    "passwords_and_tokens": "people sign in again: set passwords (Settings > People) and issue new API tokens",
}


def _calendar_csv() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["date", "kind", "name"])
    days = OfficialDay.objects.filter(schedule__confirmed=True).order_by("date")
    for day, kind, name in days.values_list("date", "kind", "name"):
        writer.writerow([day.isoformat(), kind, inert(name)])
    return buffer.getvalue()


def _days_off_csv() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["date", "name"])
    for day, name in CompanyDayOff.objects.order_by("date").values_list("date", "name"):
        writer.writerow([day.isoformat(), inert(name)])
    return buffer.getvalue()


def full_export(out: Any, *, now: datetime) -> dict[str, int]:
    """Everything an empty install needs to become this one, as a zip written to `out`: the settings
    in force as a template (YAML), the confirmed official calendar and the company's days off, and
    one CSV per kind in the import format; `manifest.json` says what is in it and what is not.
    `import_data full` reads it back. Returns the rows per kind."""
    counts: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(TEMPLATE_MEMBER, pack_yaml(current_pack(follow_ups=follow_up_entries())))
        archive.writestr(CALENDAR_MEMBER, _calendar_csv())
        archive.writestr(DAYS_OFF_MEMBER, _days_off_csv())
        for kind in ORDER:
            rows = -1  # the header
            with archive.open(f"{kind}.csv", "w", force_zip64=True) as member:
                for line in csv_lines(kind):
                    member.write(line.encode("utf-8"))
                    rows += line != "\ufeff"
            counts[str(kind)] = rows
        manifest = {
            "format": FULL_FORMAT,
            "version": FULL_VERSION,
            "exported_at": timezone.localtime(now).isoformat(),
            "rows": counts,
            "order": [str(k) for k in ORDER],
            "not_included": NOT_INCLUDED,
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return counts
