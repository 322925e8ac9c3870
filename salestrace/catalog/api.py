from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from salestrace.catalog.models import pick_language
from salestrace.catalog.selectors import active_rules, option_sets_with_options
from salestrace.core.api import ERRORS

router = Router(tags=["catalog"])


class OptionOut(Schema):
    code: str
    label: str
    label_zh: str
    label_en: str
    position: int
    is_terminal: bool


class OptionSetOut(Schema):
    code: str
    name: str
    options: list[OptionOut]


class RuleOut(Schema):
    code: str
    condition: dict[str, Any]
    requires: list[str | list[str]] = Field(
        ..., description="Field names; a list inside is a choice: any one of its fields will do."
    )
    message: str
    message_zh: str
    message_en: str


@router.get("/options", response={200: list[OptionSetOut], **ERRORS})
def list_options(request: HttpRequest) -> list[OptionSetOut]:
    """Every dropdown with its active options; labels in the request's language."""
    return [
        OptionSetOut(
            code=s.code,
            name=pick_language(s.name_zh, s.name_en),
            options=[
                OptionOut(
                    code=o.code,
                    label=o.label,
                    label_zh=o.label_zh,
                    label_en=o.label_en,
                    position=o.position,
                    is_terminal=o.is_terminal,
                )
                for o in s.options.all()
            ],
        )
        for s in option_sets_with_options()
    ]


@router.get("/rules", response={200: list[RuleOut], **ERRORS})
def list_rules(request: HttpRequest) -> list[RuleOut]:
    """The active entry rules, so a form can apply them live; the server enforces the same ones."""
    return [
        RuleOut(
            code=r.code,
            condition=r.condition,
            requires=list(r.requires),
            message=r.message,
            message_zh=r.message_zh,
            message_en=r.message_en,
        )
        for r in active_rules()
    ]
