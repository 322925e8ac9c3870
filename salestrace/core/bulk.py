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
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import QuerySet

PG_CHUNK = 5_000


@cache
def _on_sqlite() -> bool:
    # `connection` is a proxy looked up per thread: asked once, not for each of a million values.
    return connection.vendor == "sqlite"


def stored_datetime(value: datetime) -> Any:
    """An aware datetime as this database stores it (UTC text on SQLite, as is on PostgreSQL)."""
    if value.tzinfo is not None and _on_sqlite():
        # What adapt_datetimefield_value writes (str of the naive UTC time), without its checks:
        # an import writes a few of these per row, a million rows at a time.
        return str(value.astimezone(UTC).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value(value)


def insert_ignoring_conflicts(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING of `rows` (by field attname; missing ones take the field's
    default). Datetimes must come through `stored_datetime`, dates through `stored_date`.

    On PostgreSQL one statement per chunk takes each column as one array (`unnest`), so the
    statement has as many parameters as the table has columns, whatever the rows: psycopg's
    client-side binding parses a statement's text for every execution, and a multi-row VALUES list
    of thousands of placeholders costs more to parse than the database takes to insert it. SQLite
    steps one prepared single-row statement through every row (executemany).
    """
    _insert(model, rows, ids=None, conflicts="ON CONFLICT DO NOTHING")


def insert_with_ids(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """INSERT `rows` as `insert_ignoring_conflicts` does (a conflict is an error here), with ids
    reserved first and returned in the rows' order — what `bulk_create` returns, without preparing
    every value through its field. Inside a transaction: on SQLite the caller's transaction holds
    the one write lock (IMMEDIATE), so the next ids are ours; PostgreSQL hands them out from the
    table's sequence."""
    if not rows:
        return []
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk.column, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
        else:
            if not connection.in_atomic_block:
                raise RuntimeError("insert_with_ids needs the caller's transaction (the write lock) on SQLite")
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            seq = cursor.fetchone()
            column, quoted = connection.ops.quote_name(str(pk.column)), connection.ops.quote_name(table)
            cursor.execute(f"SELECT MAX({column}) FROM {quoted}")  # noqa: S608 - our table and column names
            top = max((seq[0] if seq else 0) or 0, cursor.fetchone()[0] or 0)
            ids = list(range(top + 1, top + 1 + len(rows)))
    _insert(model, rows, ids=ids, conflicts="")
    return ids


def _insert(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, ids: list[int] | None, conflicts: str
) -> None:
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set().union(*(row.keys() for row in rows)) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    names = [f.attname for f in fields]
    if ids is not None:
        pk = model._meta.pk
        assert pk is not None
        fields = [pk, *fields]
        names = [pk.attname, *names]
        defaults[pk.attname] = None
        rows = [{pk.attname: pk_value, **row} for pk_value, row in zip(ids, rows, strict=True)]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        _insert_unnest(table, columns, fields, names, defaults, rows, conflicts)
        return
    # SQLite: one prepared statement stepped through every row (executemany, in C): a statement of
    # thousands of VALUES tuples costs Django's placeholder rewriting more than SQLite takes to insert.
    values = [[row[name] if name in row else defaults[name] for name in names] for row in rows]
    with connection.cursor() as cursor:
        one = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({one}) {conflicts}", values)  # noqa: S608


def stored_date(value: date | None) -> Any:
    """A date as this database stores it (ISO text on SQLite, as is on PostgreSQL)."""
    if _on_sqlite():
        return None if value is None else value.isoformat()
    return connection.ops.adapt_datefield_value(value)


def _insert_unnest(
    table: str,
    columns: str,
    fields: list[models.Field[Any, Any]],
    names: list[str],
    defaults: dict[str, Any],
    rows: Sequence[Mapping[str, Any]],
    conflicts: str,
) -> None:
    """PostgreSQL: each column sent as one binary array, bound by the server (`%b`), in the
    transaction Django has open on the same connection."""
    import psycopg

    connection.ensure_connection()
    arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
    statement = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) {conflicts}"  # noqa: S608
    with psycopg.Cursor(connection.connection) as cursor:
        for start in range(0, len(rows), PG_CHUNK):
            chunk = rows[start : start + PG_CHUNK]
            cursor.execute(
                statement, [[row[name] if name in row else defaults[name] for row in chunk] for name in names]
            )


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE each row by id: `rows` are (value of each of `fields` as the database stores it…, id).
    One prepared statement run for every row (executemany), where `bulk_update` builds a CASE per
    field over the whole batch."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [model._meta.get_field(name) for name in fields]
    if connection.vendor == "postgresql":
        _update_unnest(table, columns, rows)  # type: ignore[arg-type]
        return
    assignments = ", ".join(f"{connection.ops.quote_name(str(c.column))} = %s" for c in columns)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", [list(r) for r in rows])  # noqa: S608


def _update_unnest(table: str, columns: list[models.Field[Any, Any]], rows: Sequence[Sequence[Any]]) -> None:
    """PostgreSQL: one UPDATE … FROM unnest(…) per chunk, each column one binary array (a round trip
    per row costs more than the update itself)."""
    import psycopg

    connection.ensure_connection()
    names = [f"c{i}" for i in range(len(columns))]
    arrays = ", ".join([*(f"%b::{c.db_type(connection)}[]" for c in columns), "%b::bigint[]"])
    assignments = ", ".join(
        f"{connection.ops.quote_name(str(c.column))} = v.{name}" for c, name in zip(columns, names, strict=True)
    )
    statement = (
        f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({', '.join([*names, 'id'])}) "  # noqa: S608
        "WHERE t.id = v.id"
    )
    with psycopg.Cursor(connection.connection) as cursor:
        for start in range(0, len(rows), PG_CHUNK):
            chunk = rows[start : start + PG_CHUNK]
            cursor.execute(statement, [[row[i] for row in chunk] for i in range(len(columns) + 1)])


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
