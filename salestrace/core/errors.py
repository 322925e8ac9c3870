"""Domain errors that the API and pages turn into clear, translated answers.

A service raises one of these with *every* problem it found; nothing is written when it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; `field` is None for the request as a whole."""

    field: str | None
    code: str
    message: str | Promise

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "code": self.code, "message": str(self.message)}


class DomainError(Exception):
    """Base of errors a user can fix; `status` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors = list(errors)


class InvalidInput(DomainError):
    """Malformed input: wrong types, missing fields, too long."""

    status = 400


class RuleViolation(DomainError):
    """Well-formed input that breaks a business rule (required fields, unknown codes, dates)."""

    status = 422


class NotFound(DomainError):
    """Absent, or out of the caller's data scope (both look the same from outside)."""

    status = 404


class PermissionDenied(DomainError):
    """Visible to the caller but not theirs to change."""

    status = 403


class Conflict(DomainError):
    """The request contradicts an earlier one (e.g. an idempotency key reused for other data)."""

    status = 409
