"""设置 · 跟进规则: "在 [关键动作 = 发送报价单] 之后第 [3] 个工作日提醒：[标题]", built from the same
condition rows as the rule builder, with how many recent actions it would have followed up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.http import require_http_methods, require_POST

from salestrace.actions.selectors import IMPACT_DAYS, condition_matches
from salestrace.catalog import rule_builder as rb
from salestrace.catalog.packs import CHOICE_FIELDS, MAX_FOLLOW_UP_DAYS
from salestrace.catalog.rules import ConditionError, parse_condition
from salestrace.catalog.selectors import option_catalog
from salestrace.catalog.views import settings_user
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.org.models import User
from salestrace.todos.models import FollowUpRule
from salestrace.todos.services import (
    FollowUpDraft,
    follow_up_create,
    follow_up_fingerprint,
    follow_up_problems,
    follow_up_rules_sync,
    follow_up_set_active,
    follow_up_update,
)


def _words() -> rb.Words:
    return rb.words(option_catalog().labels, CHOICE_FIELDS)


def _proposed_title(condition: dict[str, Any], days: int | None, language: str) -> str:
    with override(language):
        words = _words()
        shape = rb.builder_rows(condition) if condition else None
        if shape and len(shape[1]) == 1 and shape[1][0].op == rb.EQUALS:
            row = shape[1][0]
            about = words.options.get(row.field, {}).get(row.values[0], row.values[0])
        else:
            about = rb.condition_text(condition, words)
        return _("%(about)s %(days)s working days ago: follow up") % {"about": about, "days": days or "N"}


@dataclass
class Editor:
    join: str
    rows: list[rb.Row]
    days: str
    title_zh: str
    title_en: str
    title_auto: bool


def _from_post(post: QueryDict) -> Editor:
    join, rows = rb.rows_from_form(post)
    return Editor(join, rows, post.get("due_working_days", "").strip(), post.get("title_zh", ""),
                  post.get("title_en", ""), post.get("title_auto", "1") == "1")  # fmt: skip


def _make(editor: Editor) -> tuple[FollowUpDraft | None, dict[str, str]]:
    try:
        condition = rb.build_condition(editor.join, editor.rows)
    except rb.BuilderError as exc:
        message = _("Choose the option(s) to compare with.") if exc.code == "missing" else _("Choose one option.")
        return None, {exc.where: message}
    days = int(editor.days) if editor.days.isascii() and editor.days.isdecimal() and len(editor.days) <= 4 else None
    if editor.title_auto:
        editor.title_zh = _proposed_title(condition, days, "zh-hans")
        editor.title_en = _proposed_title(condition, days, "en")
    draft = FollowUpDraft(condition, days, editor.title_zh, editor.title_en)
    return draft, {e.field or "": str(e.message) for e in follow_up_problems(draft)}


def _editor(request: HttpRequest, editor: Editor, *, rule: FollowUpRule | None, status: int = 200,
            errors: dict[str, str] | None = None,
            made: tuple[FollowUpDraft | None, dict[str, str]] | None = None) -> HttpResponse:  # fmt: skip
    draft, problems = made or _make(editor)
    shown = {**problems, **(errors or {})} if status != 200 else {}
    words, catalog = _words(), option_catalog()
    choices = {field: catalog.choices.get(set_code, []) for field, set_code in CHOICE_FIELDS.items()}
    reach = None
    if draft is not None and draft.condition and "condition" not in problems:
        try:
            reach = condition_matches(condition=parse_condition(draft.condition), now=clock.now())
        except ConditionError:
            reach = None
    zh = request.LANGUAGE_CODE.startswith("zh")
    context = {
        "rule": rule,
        "editor": editor,
        "rows": rb.row_views(editor.rows, words, choices, shown),
        "condition_fields": [(name, words.fields[name]) for name in rb.condition_fields()],
        "join": editor.join,
        "errors": shown,
        "most_days": MAX_FOLLOW_UP_DAYS,
        "sentence": rb.follow_up_sentence(draft.condition, draft.due_working_days, draft.title_zh if zh else draft.title_en or draft.title_zh, words)
        if draft and draft.condition and draft.due_working_days
        else "",
        "reach": reach,
        "impact_days": IMPACT_DAYS,
        "seen": request.POST.get("seen") or (follow_up_fingerprint(rule) if rule is not None else ""),
    }  # fmt: skip
    return render(request, "todos/settings_follow_up.html", context, status=status)


@login_required
def follow_ups_page(request: HttpRequest) -> HttpResponse:
    """跟进规则: each in words; switch one off or on, edit one, or make a new one."""
    user = settings_user(request)
    if request.method == "POST":
        try:
            active = request.POST.get("do") == "restore"
            if follow_up_set_active(user=user, code=request.POST.get("code", ""), active=active, now=clock.now()):
                messages.success(request, _("Saved."))
        except DomainError as exc:
            messages.error(request, " ".join(str(e.message) for e in exc.errors))
        return redirect("todos:follow_ups")
    # The loaded template's follow-ups are copied by the worker every two minutes; a manager who opens
    # this page right after loading one sees them already (one query when nothing is new).
    follow_up_rules_sync()
    words, zh = _words(), request.LANGUAGE_CODE.startswith("zh")
    rules = [
        {
            "rule": r,
            "sentence": rb.follow_up_sentence(
                r.condition, r.due_working_days, r.title_zh if zh else r.title_en or r.title_zh, words
            ),
            "editable": rb.builder_rows(r.condition) is not None,
        }
        for r in FollowUpRule.objects.order_by("-is_active", "code")
    ]
    return render(request, "todos/settings_follow_ups.html", {"rules": rules})


def _save(request: HttpRequest, user: User, rule: FollowUpRule | None) -> HttpResponse:
    editor = _from_post(request.POST)
    made = draft, problems = _make(editor)
    saving = request.POST.get("do") == "save"
    if not saving or draft is None or problems:
        return _editor(request, editor, rule=rule, status=422 if saving else 200, made=made)
    try:
        if rule is None:
            follow_up_create(user=user, draft=draft, now=clock.now())
        else:
            seen = request.POST.get("seen") or None
            follow_up_update(user=user, code=rule.code, draft=draft, seen=seen, now=clock.now())
    except DomainError as exc:
        errors = {e.field or "": str(e.message) for e in exc.errors}
        return _editor(request, editor, rule=rule, status=exc.status, errors=errors, made=made)
    messages.success(request, _("Saved: actions logged from now on get this follow-up."))
    return redirect("todos:follow_ups")


@login_required
@require_http_methods(["GET", "POST"])
def follow_up_new_page(request: HttpRequest) -> HttpResponse:
    user = settings_user(request)
    if request.method == "GET":
        return _editor(request, Editor("all", [], "3", "", "", title_auto=True), rule=None)
    return _save(request, user, None)


@login_required
@require_http_methods(["GET", "POST"])
def follow_up_edit_page(request: HttpRequest, code: str) -> HttpResponse:
    user = settings_user(request)
    rule = FollowUpRule.objects.filter(code=code).first()
    if rule is None:
        raise Http404
    if request.method == "POST":
        return _save(request, user, rule)
    shape = rb.builder_rows(rule.condition)
    if shape is None:
        messages.info(request, _("This rule is shaped in a way the builder cannot show; it can be switched on or off."))
        return redirect("todos:follow_ups")
    editor = Editor(shape[0], shape[1], str(rule.due_working_days), rule.title_zh, rule.title_en, title_auto=False)
    return _editor(request, editor, rule=rule)


@login_required
@require_POST
def follow_up_preview(request: HttpRequest) -> HttpResponse:
    """The editor again for the current choices (htmx, on every change)."""
    settings_user(request)
    code = request.POST.get("code", "")
    rule = FollowUpRule.objects.filter(code=code).first() if code else None
    return _editor(request, _from_post(request.POST), rule=rule)
