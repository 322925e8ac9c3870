"""设置 (Settings): what a sales manager changes alone, in the product's own look; no JSON anywhere.

Thin views over catalog services and selectors: the thresholds as a labelled form (units, the
template's defaults, checks between them) and the history of every change, each undoable.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from salestrace.catalog import rule_builder as rb
from salestrace.catalog.models import OptionSet, SettingChange, pick_language
from salestrace.catalog.packs import CHOICE_FIELDS
from salestrace.catalog.selectors import (
    may_configure,
    option_catalog,
    option_sets_with_options,
    setting_history,
    threshold_labels,
    threshold_rows,
)
from salestrace.catalog.services import (
    option_add,
    option_move,
    option_order,
    option_rename,
    option_set_active,
    setting_rollback,
    threshold_override_set,
    thresholds_update,
)
from salestrace.catalog.thresholds import CUSTOMER_KINDS, GROUPS, OVERRIDABLE, SHARE, plain, split_override, unit_of
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.org.models import Role, Team, User


def settings_user(request: HttpRequest) -> User:
    """The signed-in user of a Settings page, who may configure (403 otherwise); every Settings view
    of every app starts here."""
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
    user = settings_user(request)
    rows = threshold_rows()
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    what = request.POST.get("do", "")
    if request.method == "POST" and what in {"override", "override_remove"}:
        # one threshold for a stage or customer kind, added from the picker (or removed)
        base, key = request.POST.get("base", ""), request.POST.get("key", "")
        if what == "override_remove":
            base, _sep, key = request.POST.get("code", "").partition("__")
        try:
            value = None if what == "override_remove" else _stored(request.POST.get("value", ""), unit_of(base).code)
            threshold_override_set(user=user, base=base, key=key, value=value, now=clock.now())
        except InvalidOperation:
            errors = {"override": _("Enter a number.")}
        except DomainError as exc:
            errors = {"override": " ".join(str(e.message) for e in exc.errors)}
        else:
            messages.success(request, _("Saved."))
            return redirect("catalog:thresholds")
    elif request.method == "POST":
        values: dict[str, Decimal] = {}
        seen: dict[str, Decimal] = {}
        for row in rows:
            text = request.POST.get(row.code, "")
            typed[row.code] = text
            try:
                values[row.code] = _stored(text, row.unit.code)
            except InvalidOperation:
                errors[row.code] = _("Enter a number.")
            with contextlib.suppress(InvalidOperation):  # a form without it: nothing to compare with
                seen[row.code] = Decimal(request.POST.get(f"seen-{row.code}", ""))
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
    labels = threshold_labels()
    stages = option_catalog().choices.get("stage", [])
    context = {
        "groups": groups,
        "errors": errors,
        "overridable": [(code, labels.get(code, code)) for code in OVERRIDABLE if code in labels],
        "stages": stages,
        "kinds": [(code, pick_language(zh, en)) for code, (zh, en) in CUSTOMER_KINDS.items()],
        "overrides": {row.code for row in rows if split_override(row.code)},
    }
    return render(request, "catalog/settings_thresholds.html", context, status=422 if errors else 200)


def _option_side(state: dict[str, Any] | None, other: dict[str, Any] | None) -> str:
    """One side of an option's change in words: only what differs from the other side."""
    if state is None:
        return _("(not there)")
    parts = []
    if other is None or (state["label_zh"], state["label_en"]) != (other["label_zh"], other["label_en"]):
        parts.append(" / ".join(t for t in (state["label_zh"], state["label_en"]) if t))
    if other is None or state["position"] != other["position"]:
        parts.append(_("place %(n)s") % {"n": state["position"] + 1})
    if other is None or state["is_active"] != other["is_active"]:
        parts.append(_("in use") if state["is_active"] else _("retired"))
    return "; ".join(parts)


def _rule_side(state: dict[str, Any] | None, other: dict[str, Any] | None, words: rb.Words) -> str:
    """One side of a rule's change in words: only what differs from the other side."""
    if state is None:
        return _("(not there)")
    parts = []
    if other is None or (state["condition"], state["requires"]) != (other["condition"], other["requires"]):
        parts.append(rb.describe(state["condition"], state["requires"], words))
    if other is None or (state["message_zh"], state["message_en"]) != (other["message_zh"], other["message_en"]):
        parts.append(" / ".join(t for t in (state["message_zh"], state["message_en"]) if t))
    if other is None or state["is_active"] != other["is_active"]:
        parts.append(_("in force") if state["is_active"] else _("switched off"))
    return "; ".join(parts)


def _follow_up_side(state: dict[str, Any] | None, other: dict[str, Any] | None, words: rb.Words) -> str:
    """One side of a follow-up rule's change in words: the rule, and whether it was in force."""
    if state is None:
        return _("(not there)")
    parts = []
    if other is None or {k: v for k, v in state.items() if k != "is_active"} != {
        k: v for k, v in other.items() if k != "is_active"
    }:
        parts.append(rb.follow_up_sentence(state["condition"], state["due_working_days"], state["title_zh"], words))
    if other is None or state["is_active"] != other["is_active"]:
        parts.append(_("in force") if state["is_active"] else _("switched off"))
    return "; ".join(parts)


def _plain_side(state: Any, other: Any, teams: dict[int, str]) -> str:
    """One side of a person's or team's change: the values that differ, teams by name."""
    if not isinstance(state, dict):
        return str(_("(not there)")) if state is None else str(state)
    other = other if isinstance(other, dict) else {}
    roles = dict(Role.choices)
    shown = []
    for key, value in state.items():
        if key in other and other[key] == value:
            continue
        if key in ("team_id", "parent_id"):
            value = teams.get(value, "—") if value else "—"
        elif key == "role":
            value = roles.get(value, value)
        elif key == "is_active":
            value = _("active") if value else _("left")
        shown.append(f"{key}: {value}")
    return "; ".join(shown)


@login_required
def history_page(request: HttpRequest) -> HttpResponse:
    """变更记录: every settings change, who and when, before and after; each can be rolled back."""
    settings_user(request)
    labels = threshold_labels()
    sets = {s.code: str(s) for s in OptionSet.objects.all()}
    words = rb.words(option_catalog().labels, CHOICE_FIELDS)
    teams = dict(Team.objects.values_list("pk", "name"))
    history = setting_history()
    person_ids = [int(c.key) for c in history if c.area == SettingChange.Area.PERSON and c.key.isdigit()]
    people = {u.pk: str(u) for u in User.objects.filter(pk__in=person_ids)}
    changes = []
    for c in history:
        if c.area == SettingChange.Area.RULE:
            label = _("Rule %(code)s") % {"code": c.key}
            before, after = _rule_side(c.before, c.after, words), _rule_side(c.after, c.before, words)
        elif c.area == SettingChange.Area.CHANNEL:
            team_id, field = c.key.split(".", 1)
            label = _("Channels of %(team)s · %(field)s") % {"team": teams.get(int(team_id), team_id), "field": field}
            before, after = c.before or _("(not set)"), c.after or _("(not set)")
        elif c.area == SettingChange.Area.PACK:
            label = f"{c.get_area_display()} {c.key}"
            before, after = _plain_side(c.before, c.after, teams), _plain_side(c.after, c.before, teams)
        elif c.area in (SettingChange.Area.PERSON, SettingChange.Area.TEAM):
            names = people if c.area == SettingChange.Area.PERSON else teams
            label = f"{c.get_area_display()} {names.get(int(c.key), c.key)}"
            before, after = _plain_side(c.before, c.after, teams), _plain_side(c.after, c.before, teams)
        elif c.area == SettingChange.Area.FOLLOW_UP:
            label = _("Follow-up rule %(code)s") % {"code": c.key}
            before, after = _follow_up_side(c.before, c.after, words), _follow_up_side(c.after, c.before, words)
        elif c.area == SettingChange.Area.OPTION:
            set_code, code = c.key.split(".", 1)
            label = f"{sets.get(set_code, set_code)} · {code}"
            before, after = _option_side(c.before, c.after), _option_side(c.after, c.before)
        else:
            label, before, after = labels.get(c.key, c.key), str(c.before), str(c.after)
        changes.append({"change": c, "label": label, "before": before, "after": after})
    return render(request, "catalog/settings_history.html", {"changes": changes})


@login_required
def option_sets_page(request: HttpRequest) -> HttpResponse:
    """选项: the option sets of the action form, each with its options in use and retired."""
    settings_user(request)
    sets = list(option_sets_with_options(include_inactive=True))
    return render(request, "catalog/settings_option_sets.html", {"sets": sets})


@login_required
@require_http_methods(["GET", "POST"])
def option_set_page(request: HttpRequest, set_code: str) -> HttpResponse:
    """One option set: rename, reorder, retire or bring back each option; add one at the end."""
    user = settings_user(request)
    option_set = option_sets_with_options(include_inactive=True).filter(code=set_code).first()
    if option_set is None:
        raise Http404
    errors: dict[str, str] = {}
    if request.method == "POST":
        post, now, what = request.POST, clock.now(), request.POST.get("do", "")
        code = post.get("code", "")
        try:
            if what == "add":
                option_add(
                    user=user,
                    set_code=set_code,
                    label_zh=post.get("label_zh", ""),
                    label_en=post.get("label_en", ""),
                    code=post.get("new_code", ""),
                    now=now,
                )
            elif what == "rename":
                seen = (post.get("seen_zh", ""), post.get("seen_en", ""))
                option_rename(
                    user=user,
                    set_code=set_code,
                    code=code,
                    label_zh=post.get("label_zh", ""),
                    label_en=post.get("label_en", ""),
                    seen=seen,
                    now=now,
                )
            elif what == "order":
                option_order(user=user, set_code=set_code, codes=post.getlist("order"), now=now)
            elif what in {"up", "down"}:
                option_move(user=user, set_code=set_code, code=code, step=-1 if what == "up" else 1, now=now)
            elif what in {"retire", "restore"}:
                option_set_active(user=user, set_code=set_code, code=code, active=what == "restore", now=now)
        except DomainError as exc:
            errors = {f"{what}:{code}:{e.field or ''}": str(e.message) for e in exc.errors}
        else:
            messages.success(request, _("Saved."))
            return redirect("catalog:option_set", set_code=set_code)
        option_set = option_sets_with_options(include_inactive=True).get(code=set_code)  # as written meanwhile
    context = {"set": option_set, "errors": errors, "error_text": " ".join(errors.values()), "posted": request.POST}
    return render(request, "catalog/settings_option_set.html", context, status=422 if errors else 200)


@login_required
@require_POST
def rollback(request: HttpRequest, change_id: int) -> HttpResponse:
    user = settings_user(request)
    try:
        setting_rollback(user=user, change_id=change_id, now=clock.now())
    except DomainError as exc:
        messages.error(request, " ".join(str(e.message) for e in exc.errors))
    else:
        messages.success(request, _("Rolled back."))
    return redirect("catalog:history")
