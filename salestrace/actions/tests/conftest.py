"""Fixtures of the actions app's tests."""

from __future__ import annotations

import pytest


def _refuse_inserts(table: str, message: str) -> None:
    """A real database refusal of every new row of `table`: a trigger, on SQLite and PostgreSQL alike."""
    from django.db import connection

    name = f"refuse_{table}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation'; END $$"
            )
            cursor.execute(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        else:
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


@pytest.fixture
def evidence_insert_fails(db: None) -> None:
    """Every new evidence row is refused by the database."""
    _refuse_inserts("actions_evidence", "evidence refused")


@pytest.fixture
def action_insert_fails(db: None) -> None:
    """Every new action row is refused by the database."""
    _refuse_inserts("actions_actionlog", "action refused")
