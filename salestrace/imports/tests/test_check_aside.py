"""A large CSV checked in a child process while the worker writes (imports.checker): it imports exactly
as a file checked in the worker does — the same rows written, the same problems in the same words,
nothing kept when a row is refused — and a child that fails fails the job, never hangs it."""

from __future__ import annotations

import dataclasses
import multiprocessing
from datetime import datetime
from typing import Any

import pytest
from huey.contrib.djhuey import HUEY

from salestrace.actions.models import ActionLog
from salestrace.imports import checker, progress, services
from salestrace.imports.models import ImportJob
from salestrace.imports.progress import LiveProgress, job_progress
from salestrace.imports.selectors import import_job_get
from salestrace.imports.services import import_job_create, import_run
from salestrace.imports.tests.conftest import csv_bytes
from salestrace.imports.tests.test_services import ACTION_HEADER, customers_file, run


@pytest.fixture
def aside_spy(monkeypatch: pytest.MonkeyPatch) -> list[checker.CheckSpec]:
    """The specs each actions import checked aside (the real child still runs)."""
    specs: list[checker.CheckSpec] = []
    real = services.parts_checked_aside

    def spy(spec: checker.CheckSpec) -> Any:
        if spec.kind == "actions":
            specs.append(spec)
        return real(spec)

    monkeypatch.setattr(services, "parts_checked_aside", spy)
    return specs


@pytest.fixture(autouse=True)
def second_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The aside path wherever a test's threshold asks for it, on a runner of one CPU too."""
    monkeypatch.setattr(services, "can_check_aside", lambda: True)


@pytest.fixture
def acme_aside(personas: Any, now: datetime, settings: Any) -> None:
    """Customer C1 imported, and every CSV from here on checked aside."""
    run(personas.admin, "customers", customers_file(["C1", "Acme", "account", "alice"]), now)
    settings.SALESTRACE_IMPORT_CHECK_ASIDE_MIN_BYTES = 1


def history(*rows: list[str]) -> bytes:
    return csv_bytes([ACTION_HEADER, *rows])


GOOD = ["A1", "C1", "", "alice", "2025-05-01 10:00", "", "visit", "lead", "", "店长在"]
BAD_DATE = ["A2", "C1", "", "alice", "2025-13-01 10:00", "", "visit", "lead", "", ""]
TWICE = ["A1", "C1", "", "alice", "2025-05-02 10:00", "", "phone", "lead", "", ""]
UNKNOWN_CUSTOMER = ["A3", "C9", "", "alice", "2025-05-03 10:00", "", "phone", "lead", "", ""]
GOOD_TOO = ["A4", "C1", "", "alice", "2025-05-04 10:00", "", "phone", "lead", "", ""]


@pytest.mark.parametrize("aside", [False, True], ids=["checked-in-worker", "checked-aside"])
def test_a_file_checked_aside_imports_as_one_checked_in_the_worker(
    personas: Any, now: datetime, settings: Any, monkeypatch: pytest.MonkeyPatch, aside_spy: list[Any], aside: bool
) -> None:
    # given an importer who reads English (the default is Chinese), a customer, and a history with a
    # bad date, an id used twice and an unknown customer, checked two rows at a time
    personas.admin.language = "en"
    personas.admin.save(update_fields=["language"])
    run(personas.admin, "customers", customers_file(["C1", "Acme", "account", "alice"]), now)
    settings.SALESTRACE_IMPORT_CHECK_ASIDE_MIN_BYTES = 1 if aside else 10**12
    monkeypatch.setattr(services, "WRITE_CHUNK", 2)
    content = history(GOOD, BAD_DATE, TWICE, UNKNOWN_CUSTOMER, GOOD_TOO)
    # when it is imported skipping bad rows
    job = run(personas.admin, "actions", content, now, skip_bad_rows=True)
    # then the way it was checked is the one asked for, and the outcome is the same either way
    assert len(aside_spy) == (1 if aside else 0)
    assert (job.status, job.created_count, job.failed_count) == ("done", 2, 3), job.errors
    assert (job.total_rows, job.checked_rows) == (5, 5)
    problems = [(e["row"], e["column"], e["code"]) for e in job.errors]
    assert problems == [
        (3, "occurred_at", "invalid_datetime"),
        (4, "external_id", "duplicate"),
        (5, "customer_external_id", "unknown_id"),
    ]
    # in the importer's language, the row of the first use named
    assert job.errors[0]["message"] == "Not a date and time: write it as 2026-03-01 14:30."
    assert job.errors[1]["message"] == "This id is already on row 2 of the file."
    assert sorted(ActionLog.objects.values_list("contact_method", flat=True)) == ["phone", "visit"]


def test_a_refused_row_checked_aside_keeps_nothing_written_before_it(
    acme_aside: None, personas: Any, now: datetime, monkeypatch: pytest.MonkeyPatch, aside_spy: list[Any]
) -> None:
    # given a file whose last part holds the only bad row, the first parts already written when it is checked
    monkeypatch.setattr(services, "WRITE_CHUNK", 1)
    job = run(personas.admin, "actions", history(GOOD, GOOD_TOO, UNKNOWN_CUSTOMER), now)
    # then the whole file is refused and nothing of it stays
    assert len(aside_spy) == 1
    assert (job.status, job.created_count, job.failed_count) == ("failed", 0, 1)
    assert ActionLog.objects.count() == 0


def test_a_file_unreadable_half_way_fails_the_job_with_the_reason(
    acme_aside: None, personas: Any, now: datetime, monkeypatch: pytest.MonkeyPatch, aside_spy: list[Any]
) -> None:
    # given a file that, once uploaded, was replaced on disk by one with a cell longer than any CSV
    # reader takes, after a good row (the upload's own read would have refused it)
    monkeypatch.setattr(services, "WRITE_CHUNK", 1)  # the good row is written before the bad one is met
    job = import_job_create(
        user=personas.admin, kind="actions", filename="a.csv", content=history(GOOD), now=now, run_in_background=False
    )
    huge = ["A9", "C1", "", "alice", "2025-05-01 10:00", "", "visit", "lead", "", "长" * 200_000]
    with open(job.file.path, "wb") as handle:
        handle.write(history(GOOD, huge))
    # when the job runs
    job = import_run(job_id=job.pk, now=now)
    # then the child's reason reaches the job, and nothing was written
    assert len(aside_spy) == 1
    assert job.status == "failed"
    assert job.message == str(services.UNREADABLE["malformed"])
    assert ActionLog.objects.count() == 0


def test_a_checker_that_crashes_fails_the_job_and_writes_nothing(
    acme_aside: None, personas: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a child told to read a file that is not there
    real = services._spec_to_check_aside

    def elsewhere(*args: Any) -> checker.CheckSpec | None:
        spec = real(*args)
        assert spec is not None
        return dataclasses.replace(spec, path="/nonexistent/actions.csv")

    monkeypatch.setattr(services, "_spec_to_check_aside", elsewhere)
    job = import_job_create(
        user=personas.admin, kind="actions", filename="a.csv", content=history(GOOD), now=now, run_in_background=False
    )
    # when the job runs, the child's error reaches the worker
    with pytest.raises(checker.CheckerFailed, match="FileNotFoundError"):
        import_run(job_id=job.pk, now=now)
    # then the job is failed with a message, not left running, and nothing was written
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.message
    assert ActionLog.objects.count() == 0


def test_progress_checked_aside_is_shown_while_the_job_runs_and_cleared_after(
    personas: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a job being checked aside: the worker is inside its write transaction
    job = import_job_create(
        user=personas.admin, kind="actions", filename="a.csv", content=history(GOOD), now=now, run_in_background=False
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CHECKING)
    live = LiveProgress(job)
    # when it has read 1,200 rows
    live.put(1200)
    # then the page's reading of the job shows them, though the row itself still says 0
    assert import_job_get(user=personas.admin, job_id=job.pk).checked_rows == 1200
    assert ImportJob.objects.get(pk=job.pk).checked_rows == 0
    # and once cleared (the job ended), the row's own count is what shows
    live.clear()
    assert import_job_get(user=personas.admin, job_id=job.pk).checked_rows == 0
    # and a job not running never shows a live count
    monkeypatch.setattr(progress, "PUT_EVERY_S", 0.0)
    live.put(5)
    assert HUEY.get(progress._key(job), peek=True) == 5
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, checked_rows=1)
    assert job_progress(ImportJob.objects.get(pk=job.pk)) == 1
    live.clear()


def test_an_import_checked_aside_reports_its_progress_as_it_goes(
    acme_aside: None, personas: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given puts recorded (every part, not once a second)
    monkeypatch.setattr(services, "WRITE_CHUNK", 1)
    monkeypatch.setattr(progress, "PUT_EVERY_S", 0.0)
    seen: list[int] = []
    real_put = LiveProgress.put

    def put(self: LiveProgress, read: int) -> None:
        seen.append(read)
        real_put(self, read)

    monkeypatch.setattr(LiveProgress, "put", put)
    job = run(personas.admin, "actions", history(GOOD, GOOD_TOO), now)
    # then each part was counted, and the live count is gone once the job is done
    assert job.status == "done"
    assert seen[:2] == [1, 2]
    assert job_progress(job) == job.checked_rows == 2
    assert HUEY.get(progress._key(job), peek=True) is None


def test_a_dry_run_checked_aside_counts_and_writes_nothing(
    acme_aside: None, personas: Any, now: datetime, aside_spy: list[Any]
) -> None:
    job = run(personas.admin, "actions", history(GOOD, GOOD_TOO), now, dry_run=True)
    assert len(aside_spy) == 1
    assert (job.status, job.created_count, job.total_rows) == ("done", 2, 2)
    assert ActionLog.objects.count() == 0


def test_a_writer_failing_while_the_child_still_sends_ends_it_and_fails_the_job(
    acme_aside: None, personas: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a file of many parts (more than the pipe holds), and a writer that breaks on its second
    monkeypatch.setattr(services, "WRITE_CHUNK", 1)
    rows = [
        [f"A{n}", "C1", "", "alice", "2025-05-01 10:00", "", "visit", "lead", "", "店长在" * 20] for n in range(600)
    ]
    real = services.ActionsWriter.write_many
    calls = {"n": 0}

    def write_many(self: Any, batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(self, batch)

    monkeypatch.setattr(services.ActionsWriter, "write_many", write_many)
    # when the job runs, the writer's error reaches the caller
    with pytest.raises(RuntimeError, match="disk full"):
        run(personas.admin, "actions", history(*rows), now)
    # then the child blocked on the pipe was ended, not left behind, and nothing was kept
    assert multiprocessing.active_children() == []
    assert ImportJob.objects.get(kind="actions").status == "failed"
    assert ActionLog.objects.count() == 0
