"""huey's embedded SQLite queue with the durability the main SQLite database has (WAL, synchronous=NORMAL).

huey's own SqliteHuey leaves SQLite's default in WAL, synchronous=FULL: an fsync on every enqueue,
which on a phone's photo upload cost more than the rest of the upload's database work. NORMAL
keeps the queue consistent on a crash; a power loss may drop the last few enqueues, which the
hourly evidence sweep requeues (and the reminder jobs, checked every minute, find again).
"""

from __future__ import annotations

import sqlite3

from huey import Huey
from huey.storage import SqliteStorage


class NormalSyncSqliteStorage(SqliteStorage):
    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class SqliteHuey(Huey):
    """huey.SqliteHuey on NormalSyncSqliteStorage."""

    storage_class = NormalSyncSqliteStorage
