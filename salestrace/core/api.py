"""API plumbing shared by every router: authentication and the one error format.

Every error is `{"errors": [{"field": ..., "code": ..., "message": ...}]}` with messages in the
language of the request (Accept-Language; zh-hans by default). Bad input is never a 500.
"""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _
from ninja import Field, NinjaAPI, Path, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination
from ninja.parser import Parser
from pydantic import AfterValidator, BeforeValidator

from salestrace.core.errors import DomainError, FieldError, InvalidInput

_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*")


def _iso_only(value: Any) -> Any:
    """Refuse numbers where a date is expected: pydantic would read them as Unix timestamps."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected an ISO 8601 date or date-time")
    return value


def _no_bool(value: Any) -> Any:
    """Refuse true/false where a number is expected: pydantic would read them as 1 and 0."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


def _plausible_year(value: Any) -> Any:
    """Sales happen between 2000 and 2099; year 1 or 9999 would only overflow date arithmetic."""
    if not 2000 <= value.year <= 2099:
        raise ValueError("expected a year between 2000 and 2099")
    return value


def _shanghai_if_naive(value: datetime) -> datetime:
    """A time without an offset is Asia/Shanghai wall-clock time (phones send local time); kept in UTC."""
    return (timezone.make_aware(value) if timezone.is_naive(value) else value).astimezone(UTC)


# Every date-time an API client sends: ISO 8601 only, a plausible year, naive read as Shanghai, UTC inside.
IsoDateTime = Annotated[
    datetime, BeforeValidator(_iso_only), AfterValidator(_plausible_year), AfterValidator(_shanghai_if_naive)
]
# For numbers in JSON bodies (query strings arrive as text and are parsed as usual).
BodyInt = Annotated[int, BeforeValidator(_no_bool)]
IsoDate = Annotated[date, BeforeValidator(_iso_only), AfterValidator(_plausible_year)]

# Database ids fit in a signed 64-bit integer; larger numbers are bad input, not a crash.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(..., ge=1, le=MAX_ID)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class StrictParser(Parser):
    """Bodies, query strings and forms, minus NUL characters (PostgreSQL can neither store nor
    compare them) and minus a single-valued parameter sent twice (which of the two was meant?):
    bad input (400), not a server error or a silent pick."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if _has_nul(data):
            raise ValueError("text may not contain NUL characters")  # ninja answers 400
        return data

    def parse_querydict(self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest) -> Any:
        if repeated := [key for key, values in data.lists() if len(values) > 1 and key not in list_fields]:
            message = _("This parameter may be given only once.")
            raise InvalidInput([FieldError(key, "repeated", message) for key in repeated])
        result = super().parse_querydict(data, list_fields, request)
        if bad := [key for key, value in result.items() if _has_nul(key) or _has_nul(value)]:
            message = _("Text may not contain NUL characters.")
            raise InvalidInput([FieldError(key, "nul_character", message) for key in bad])
        return result


class ErrorOut(Schema):
    field: str | None
    code: str
    message: str


class ErrorsOut(Schema):
    """Every error answer: all problems at once, messages in the request's language."""

    errors: list[ErrorOut]


# Error answers documented on every operation (OpenAPI), so clients and fuzzers know them.
ERRORS: dict[int, type[Schema]] = {code: ErrorsOut for code in (400, 401, 403, 404, 409, 422, 429)}


class Pagination(LimitOffsetPagination):
    """limit/offset paging with a bounded offset: past ten million, filter instead of paging."""

    class Input(Schema):
        limit: int = Field(settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=10_000_000)


_LOCATION_PARTS = {"body", "query", "path", "header", "form", "cookie", "payload", "data", "filters"}

_PYDANTIC_MESSAGES: dict[str, Any] = {
    "missing": _("This field is required."),
    "extra_forbidden": _("Unknown field. The rep and the time of entry are set by the server."),
    "string_too_long": _("This text is too long."),
    "string_too_short": _("This field cannot be empty."),
    "string_type": _("Enter text."),
    "int_type": _("Enter a whole number."),
    "int_parsing": _("Enter a whole number."),
    "int_from_float": _("Enter a whole number."),
    "greater_than_equal": _("This number is too small."),
    "greater_than": _("This number is too small."),
    "less_than_equal": _("This number is too large."),
    "datetime_type": _("Enter a valid date and time, e.g. 2026-11-26T15:30:00+08:00."),
    "datetime_parsing": _("Enter a valid date and time, e.g. 2026-11-26T15:30:00+08:00."),
    "datetime_from_date_parsing": _("Enter a valid date and time, e.g. 2026-11-26T15:30:00+08:00."),
    "date_type": _("Enter a valid date, e.g. 2026-11-27."),
    "date_parsing": _("Enter a valid date, e.g. 2026-11-27."),
    "date_from_datetime_parsing": _("Enter a valid date, e.g. 2026-11-27."),
    "date_from_datetime_inexact": _("Enter a valid date, e.g. 2026-11-27."),
    "enum": _("Not one of the available options."),
    "literal_error": _("Not one of the available options."),
    "json_invalid": _("The request body is not valid JSON."),
    "model_attributes_type": _("The request body must be a JSON object."),
    "dict_type": _("The request body must be a JSON object."),
    "bool_type": _("Enter true or false."),
    "bool_parsing": _("Enter true or false."),
}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    if list(loc[:1]) == ["file"]:  # uploads: ("file", <parameter name>)
        loc = loc[1:]
    parts = [str(p) for p in loc if not isinstance(p, int) and str(p) not in _LOCATION_PARTS]
    return ".".join(parts) or None


def errors_response(api: NinjaAPI, request: HttpRequest, errors: list[FieldError], status: int) -> HttpResponse:
    return api.create_response(request, {"errors": [e.as_dict() for e in errors]}, status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return errors_response(api, request, exc.errors, exc.status)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = []
        for err in exc.errors:
            kind = str(err.get("type", ""))
            message = _PYDANTIC_MESSAGES.get(kind, _("This value is not valid."))
            errors.append(FieldError(_field_of(err.get("loc", ())), kind or "invalid", message))
        return errors_response(api, request, errors, 400)

    @api.exception_handler(AuthenticationError)
    def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = _("Sign in, or send a valid token as 'Authorization: Bearer <token>'.")
        return errors_response(api, request, [FieldError(None, "not_authenticated", message)], 401)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return errors_response(api, request, [FieldError(None, "not_found", _("Not found."))], 404)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return errors_response(api, request, [FieldError(None, "http_error", str(exc))], exc.status_code)
