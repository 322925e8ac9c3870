"""Small template helpers of the web pages: option labels and vitality colour names."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

COLOUR_NAMES = {
    "green": _("Green"),
    "yellow": _("Yellow"),
    "orange": _("Orange"),
    "red": _("Red"),
}


@register.filter
def option_label(code: str, labels: dict[str, str] | None) -> str:
    """The label of an option code in a {code: label} table; the code itself when unknown."""
    if not code:
        return ""
    return (labels or {}).get(code, code)


@register.filter
def colour_name(colour: str) -> str:
    """The translated name of a vitality colour code."""
    return str(COLOUR_NAMES.get(colour, colour))


@register.filter
def get_item(mapping: dict[str, object] | None, key: str) -> object:
    """mapping[key] in a template (0 when missing): counts per colour and the like."""
    return (mapping or {}).get(key, 0)


@register.filter
def percent(value: float | None) -> str:
    """A share as a whole percentage ("–" when there is nothing to judge)."""
    return "–" if value is None else f"{round(100 * value)}%"


@register.filter
def percent_tenths(value: float | None) -> str:
    """A share as a percentage to one decimal (63.5%), where a tenth matters ("–" when there is nothing to judge)."""
    return "–" if value is None else f"{100 * value:.1f}%"


@register.filter
def sees_dashboards(user: object) -> bool:
    """Whether the navigation offers the team dashboards (the views check again)."""
    from salestrace.org.selectors import can_see_dashboards

    return bool(getattr(user, "is_authenticated", False)) and can_see_dashboards(user)  # type: ignore[arg-type]


@register.filter
def configures(user: object) -> bool:
    """Whether the navigation offers the Settings pages (the views check again)."""
    from salestrace.catalog.selectors import may_configure

    return bool(getattr(user, "is_authenticated", False)) and may_configure(user)  # type: ignore[arg-type]


@register.filter
def imports_data(user: object) -> bool:
    """Whether the navigation offers the import wizard (admins and assistants; the views check again)."""
    from salestrace.org.selectors import can_import

    return bool(getattr(user, "is_authenticated", False)) and can_import(user)  # type: ignore[arg-type]


@register.filter
def get_reason(reasons: dict[str, str] | None, code: str) -> str:
    """Why two customers may be the same, in words."""
    return (reasons or {}).get(code, code)


@register.filter
def manages(user: object) -> bool:
    """Supervisors and above (merging duplicates, assigning); the views check again."""
    from salestrace.org.selectors import is_manager

    return bool(getattr(user, "is_authenticated", False)) and is_manager(user)  # type: ignore[arg-type]
