"""How far a running import has got, where the import page can read it.

While a large file is checked beside its writing (imports.checker), the worker is inside the import's
one write transaction: a progress saved on the job row would show only at its commit, and on SQLite
no other connection may write until then. So the count lives in the queue's key-value store (huey's
SQLite file, or Redis) until the job ends; `job_progress` reads it beside the row's own.
"""

from __future__ import annotations

import logging
import time

from django.db import connection
from huey.contrib.djhuey import HUEY

from salestrace.imports.models import ImportJob

logger = logging.getLogger(__name__)

PUT_EVERY_S = 1.0


def _key(job: ImportJob) -> str:
    # The database's name and the job's creation time beside its id: one queue may serve two
    # databases (tests run side by side), and a test database hands the same ids out again.
    database = connection.settings_dict["NAME"]
    return f"salestrace:import-progress:{database}:{job.pk}:{job.created_at.timestamp():.6f}"


class LiveProgress:
    """Puts the rows read so far at most once a second; `clear` when the job ends."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.last = 0.0

    def put(self, read: int) -> None:
        if time.monotonic() - self.last < PUT_EVERY_S:
            return
        self.last = time.monotonic()
        try:
            HUEY.put(_key(self.job), read)
        except Exception:
            logger.warning("import %s: progress not stored", self.job.pk, exc_info=True)

    def clear(self) -> None:
        try:
            HUEY.delete(_key(self.job))
        except Exception:
            logger.warning("import %s: progress not cleared", self.job.pk, exc_info=True)


def job_progress(job: ImportJob) -> int:
    """Rows of a job's file checked so far: the live count while it runs, else the row's own."""
    if job.status != ImportJob.Status.CHECKING:
        return job.checked_rows
    try:
        live = HUEY.get(_key(job), peek=True)
    except Exception:
        logger.warning("import %s: progress not read", job.pk, exc_info=True)
        live = None
    return max(job.checked_rows, live or 0)
