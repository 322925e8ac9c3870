"""A large CSV import checked in a process of its own while the worker writes what it has checked.

An import reads every row, checks it (`rules.check_row`, pure Python), then writes the rows that
passed in one transaction. On one CPU the two take turns; a file of a million rows spends about a
third of its time checking. Checked in a child process (spawned: a fresh interpreter, never a fork
of the threaded worker), the rows reach the writer a part at a time through a pipe while the next
part is checked, so the import takes about as long as its writing alone (bench/import.py).

The child reads the file from disk itself and touches no database: it is given the file's path, its
encoding, CSV dialect and headers, the column mapping and the option lookups. Its parts are those
`rules.checked_parts` yields in the worker for a small file, so both ways import alike.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from salestrace.imports.compute import CsvStream, UnreadableFile
from salestrace.imports.rules import CheckedPart, checked_parts

_DIALECT_FIELDS = (
    "delimiter", "doublequote", "escapechar", "lineterminator", "quotechar", "quoting", "skipinitialspace", "strict",
)  # fmt: skip


class CheckerFailed(Exception):
    """The checking process stopped on an unexpected error (its traceback is the message), or ended
    without saying it was done."""


@dataclass(frozen=True)
class CheckSpec:
    """What the child needs to check a file: all of it plain data (it is pickled to the child)."""

    path: str
    encoding: str
    dialect: dict[str, Any]
    headers: tuple[str, ...]
    kind: str
    mapping: dict[str, str]
    options: dict[str, dict[str, str]]
    size: int
    language: str

    @classmethod
    def of(cls, table: CsvStream, path: str, **fields: Any) -> CheckSpec:
        dialect = {name: getattr(table.dialect, name) for name in _DIALECT_FIELDS if hasattr(table.dialect, name)}
        return cls(path=path, encoding=table.encoding, dialect=dialect, headers=table.headers, **fields)


def can_check_aside() -> bool:
    """A second CPU to check on, a process allowed children (a daemonic one is not), and settings a
    fresh interpreter finds by itself (DJANGO_SETTINGS_MODULE, not settings.configure())."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    spawnable = bool(os.environ.get("DJANGO_SETTINGS_MODULE")) and not multiprocessing.current_process().daemon
    return cpus > 1 and spawnable


def _send(send: Connection, message: tuple[str, Any]) -> bool:
    try:
        send.send(message)
    except (BrokenPipeError, OSError):
        return False  # the worker stopped listening (it failed, or was stopped): nothing to tell
    return True


def _check_file(send: Connection, spec: CheckSpec) -> None:
    """The child's work: every part of the file checked and sent, then ("done", None)."""
    # Ctrl-C on the worker, or a service manager's SIGINT to its whole group, is for the worker to
    # handle (huey finishes the running task): the child ends when the worker closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from django.apps import apps
        from django.utils import translation

        # A check needs the settings and the translations (problems are worded in the importer's
        # language, from LOCALE_PATHS), not the models: an empty app registry starts the child in
        # 0.1 s, where django.setup() importing every app took 1.4 s.
        if not apps.ready:
            apps.populate([])

        dialect = type("Sniffed", (csv.Dialect,), spec.dialect)
        table = CsvStream(lambda: open(spec.path, "rb"), spec.encoding, dialect, spec.headers)  # noqa: SIM115
        with translation.override(spec.language):
            parts = checked_parts(
                table.records(), kind=spec.kind, mapping=spec.mapping, options=spec.options, size=spec.size
            )
            for part in parts:
                if not _send(send, ("part", part)):
                    return
        _send(send, ("done", None))
    except UnreadableFile as exc:
        _send(send, ("unreadable", (exc.code, exc.detail)))
    except BaseException:
        _send(send, ("crashed", traceback.format_exc()))
    finally:
        send.close()


@contextmanager
def parts_checked_aside(spec: CheckSpec) -> Iterator[Iterator[CheckedPart]]:
    """The file's checked parts as the child sends them. Leaving the block (done, failed or stopped
    half way) closes the pipe and ends the child."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_check_file, args=(send, spec), name="salestrace-import-check", daemon=True)
    try:
        process.start()
    except BaseException:
        receive.close()
        raise
    finally:
        send.close()  # the child holds the only writing end: its exit is our end of file

    def parts() -> Iterator[CheckedPart]:
        while True:
            try:
                what, payload = receive.recv()
            except EOFError:
                raise CheckerFailed(f"the checking process ended (exit code {process.exitcode})") from None
            if what == "part":
                yield payload
            elif what == "done":
                return
            elif what == "unreadable":
                raise UnreadableFile(*payload)
            else:
                raise CheckerFailed(payload)

    try:
        yield parts()
    finally:
        receive.close()
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()
