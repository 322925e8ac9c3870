"""设置 (Settings): what a sales manager changes alone, in the product's own look; no JSON anywhere.

Thin views over catalog services and selectors: the thresholds as a labelled form (units, the
template's defaults, checks between them) and the history of every change, each undoable.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from salestrace.catalog.selectors import may_configure, setting_history, threshold_rows
from salestrace.catalog.services import setting_rollback, thresholds_update
from salestrace.catalog.thresholds import GROUPS, SHARE, plain
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.org.models import User


def _configurer(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not may_configure(user):
        raise DjangoPermissionDenied
    return user


def _shown(value: Decimal, unit_code: str) -> str:
    """A stored value as the form shows it (a share as a percentage)."""
    return plain(value * 100) if unit_code == SHARE else plain(value)


def _stored(text: str, unit_code: str) -> Decimal:
    value = Decimal(text.strip().replace(",", "").removesuffix("%"))
    return value / 100 if unit_code == SHARE else value


@login_required
@require_http_methods(["GET", "POST"])
def thresholds_page(request: HttpRequest) -> HttpResponse:
    """阈值: every threshold in its group, with its unit and the template's value beside it."""
    user = _configurer(request)
    rows = threshold_rows()
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    if request.method == "POST":
        values: dict[str, Decimal] = {}
        seen: dict[str, Decimal] = {}
        for row in rows:
            text = request.POST.get(row.code, "")
            typed[row.code] = text
            try:
                values[row.code] = _stored(text, row.unit.code)
                seen[row.code] = Decimal(request.POST.get(f"seen-{row.code}", ""))
            except InvalidOperation:
                errors[row.code] = _("Enter a number.")
        if not errors:
            try:
                changed = thresholds_update(user=user, values=values, seen=seen, now=clock.now())
            except DomainError as exc:
                errors = {e.field or "": str(e.message) for e in exc.errors}
            else:
                if changed:
                    messages.success(request, _("Saved: %(n)d threshold(s) changed.") % {"n": len(changed)})
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("catalog:thresholds")
    groups: list[dict[str, Any]] = []
    for code, label in GROUPS:
        fields = [
            {
                "row": row,
                "shown": typed.get(row.code, _shown(row.value, row.unit.code)),
                "default": _shown(row.default, row.unit.code) if row.default is not None else "",
                "seen": str(row.value),
                "error": errors.get(row.code, ""),
            }
            for row in rows
            if row.group == code
        ]
        if fields:
            groups.append({"code": code, "label": label, "fields": fields})
    status = 422 if errors else 200
    return render(request, "catalog/settings_thresholds.html", {"groups": groups, "errors": errors}, status=status)


@login_required
def history_page(request: HttpRequest) -> HttpResponse:
    """变更记录: every settings change, who and when, before and after; each can be rolled back."""
    _configurer(request)
    labels = {row.code: row.label for row in threshold_rows()}
    changes = [{"change": c, "label": labels.get(c.key, c.key)} for c in setting_history()]
    return render(request, "catalog/settings_history.html", {"changes": changes})


@login_required
@require_POST
def rollback(request: HttpRequest, change_id: int) -> HttpResponse:
    user = _configurer(request)
    try:
        setting_rollback(user=user, change_id=change_id, now=clock.now())
    except DomainError as exc:
        messages.error(request, " ".join(str(e.message) for e in exc.errors))
    else:
        messages.success(request, _("Rolled back."))
    return redirect("catalog:history")
