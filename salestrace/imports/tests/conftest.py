"""Imports tests: the B2B template (deals), and files written on the fly."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

MAVEN = Path(__file__).parent / "data" / "maven-crm"


def shared_maven() -> Path | None:
    """The whole maven-crm dataset in a `shared/datasets` folder beside the checkout (or above it), if any."""
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "datasets" / "maven-crm"
        if (candidate / "sales_pipeline.csv").is_file():
            return candidate
    return None


@pytest.fixture
def b2b(personas: Any, now: datetime) -> None:
    from salestrace.catalog.services import template_load

    template_load(code="b2b_industrial", now=now)


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """A CSV file as Excel would write it in that encoding."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)
