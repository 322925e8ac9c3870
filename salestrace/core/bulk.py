"""Set-based writes for the nightly sweeps, where `bulk_create` costs more than the database does,
and turns for the other writers while a sweep runs on SQLite.

`bulk_create` prepares every value of every row through its field (about 0.1 ms a row): fine for
a thousand rows, most of the time of a sweep that writes half a million. Here the defaults are
prepared once, and the caller passes values already in the form the database stores.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import QuerySet

CHUNK = 500
PG_CHUNK = 5_000


def stored_datetime(value: datetime) -> Any:
    """An aware datetime as this database stores it (UTC text on SQLite, as is on PostgreSQL)."""
    return connection.ops.adapt_datetimefield_value(value)


def insert_ignoring_conflicts(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING of `rows` (by field attname; missing ones take the field's
    default). Datetimes must come through `stored_datetime`.

    On PostgreSQL one statement per chunk takes each column as one array (`unnest`), so the
    statement has as many parameters as the table has columns, whatever the rows: psycopg's
    client-side binding parses a statement's text for every execution, and a multi-row VALUES list
    of thousands of placeholders costs more to parse than the database takes to insert it. SQLite
    gets multi-row VALUES statements.
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set().union(*(row.keys() for row in rows)) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    names = [f.attname for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        _insert_unnest(table, columns, fields, names, defaults, rows)
        return
    with connection.cursor() as cursor:
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            params = [row[name] if name in row else defaults[name] for row in chunk for name in names]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))} ON CONFLICT DO NOTHING",  # noqa: S608
                params,
            )


def _insert_unnest(
    table: str,
    columns: str,
    fields: list[models.Field[Any, Any]],
    names: list[str],
    defaults: dict[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """PostgreSQL: each column sent as one binary array, bound by the server (`%b`), in the
    transaction Django has open on the same connection."""
    import psycopg

    connection.ensure_connection()
    arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
    statement = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"  # noqa: S608
    with psycopg.Cursor(connection.connection) as cursor:
        for start in range(0, len(rows), PG_CHUNK):
            chunk = rows[start : start + PG_CHUNK]
            cursor.execute(
                statement, [[row[name] if name in row else defaults[name] for row in chunk] for name in names]
            )


# SQLite's busy handler polls a waiting writer at most every 100 ms: a pause this long lets every
# waiting writer in (the phones' saves), where the few microseconds between two batches would not.
SQLITE_POLL_SECONDS = 0.1


class WriterTurns:
    """Between the batches of a long sweep on SQLite, a pause for the writers waiting on the lock
    after every `every` seconds of sweeping, so a phone's save waits about that long at most
    instead of the whole sweep. Nothing on PostgreSQL, whose row locks let other writers through."""

    def __init__(self, every: float | None = None) -> None:
        self.every = settings.SALESTRACE_SWEEP_LOCK_MS / 1000 if every is None else every
        self.since = time.monotonic()

    def after_batch(self) -> None:
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            return
        if time.monotonic() - self.since >= self.every:
            time.sleep(SQLITE_POLL_SECONDS * 1.2)
            self.since = time.monotonic()


def raw_rows(queryset: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a `values_list()` queryset as the database returns them, without Django's
    per-value converters (a few microseconds each, a quarter of a sweep's reading time): datetimes
    come as stored, to be read with `from_stored_datetime`."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def from_stored_datetime(value: datetime | str) -> datetime:
    """An aware datetime from what `raw_rows` returns (UTC text on SQLite, aware on PostgreSQL)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@contextmanager
def sweep_batch() -> Iterator[None]:
    """The transaction of one batch of a nightly sweep.

    On PostgreSQL its commit does not wait for the WAL to reach the disk (`synchronous_commit`
    off, for this transaction only): a sweep commits hundreds of batches a night, and waiting for
    each flush is much of its time. A crash may lose the last batches committed, never half of
    one, and the next run redoes them: a batch only writes what is derived from the rows it reads
    (no message leaves before its own, ordinary commit).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
