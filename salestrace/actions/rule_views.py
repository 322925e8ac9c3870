"""设置 · 规则: the visual rule builder, its impact preview and the list of rules.

It lives with the action log because its preview reads it (what the rule would have refused over
the last 30 days) and its words are the action form's; the rules themselves are catalog rows,
written only by catalog services and read by the same parser and evaluator as every save.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import override
from django.views.decorators.http import require_http_methods, require_POST

from salestrace.actions.selectors import RuleImpact, rule_impact
from salestrace.catalog import rule_builder as rb
from salestrace.catalog.models import Rule
from salestrace.catalog.packs import CHOICE_FIELDS
from salestrace.catalog.rules import ConditionError, RuleSpec, parse_condition, parse_requires
from salestrace.catalog.selectors import option_catalog
from salestrace.catalog.services import (
    RuleDraft,
    rule_create,
    rule_fingerprint,
    rule_problems,
    rule_set_active,
    rule_update,
)
from salestrace.catalog.views import settings_user
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.org.models import User

FIELD_ORDER = tuple(rb.FIELD_LABELS)


def _words() -> rb.Words:
    """Field and option labels and the sentence's pieces, in the active language."""
    return rb.words(option_catalog().labels, CHOICE_FIELDS)


def _words_in(language: str) -> rb.Words:
    with override(language):
        return _words()


@dataclass
class Builder:
    """The builder's state: what the form shows and what it makes."""

    join: str
    rows: list[rb.Row]
    required: list[str]
    either: list[str]
    message_zh: str
    message_en: str
    message_auto: bool  # the messages follow the rule until the manager writes their own


def _from_post(post: QueryDict) -> Builder:
    join, rows = rb.rows_from_form(post)
    return Builder(
        join=join,
        rows=rows,
        required=[f for f in post.getlist("required") if f in FIELD_ORDER],
        either=[f for f in post.getlist("either") if f in FIELD_ORDER],
        message_zh=post.get("message_zh", ""),
        message_en=post.get("message_en", ""),
        message_auto=post.get("message_auto", "1") == "1",
    )


def _from_rule(rule: Rule) -> Builder | None:
    shape, needs = rb.builder_rows(rule.condition), rb.split_requires(rule.requires)
    if shape is None or needs is None:
        return None
    return Builder(shape[0], shape[1], needs[0], needs[1], rule.message_zh, rule.message_en, message_auto=False)


def _make(builder: Builder) -> tuple[RuleDraft | None, dict[str, str]]:
    """The draft the builder makes, or the problems to show by the form's fields."""
    try:
        condition = rb.build_condition(builder.join, builder.rows)
    except rb.BuilderError as exc:
        message = _("Choose the option(s) to compare with.") if exc.code == "missing" else _("Choose one option.")
        return None, {exc.where: message}
    requires = rb.build_requires(builder.required, builder.either)
    if builder.message_auto:
        builder.message_zh = rb.propose_message(condition, requires, _words_in("zh-hans"), english=False)
        builder.message_en = rb.propose_message(condition, requires, _words_in("en"), english=True)
    draft = RuleDraft(condition, requires, builder.message_zh, builder.message_en)
    problems = {e.field or "": str(e.message) for e in rule_problems(draft)}
    return draft, problems


def _impact(draft: RuleDraft) -> RuleImpact | None:
    try:
        spec = RuleSpec(
            "draft",
            parse_condition(draft.condition),
            parse_requires(draft.requires),
            draft.message_zh,
            draft.message_en,
        )
    except ConditionError:
        return None
    return rule_impact(rule=spec, now=clock.now())


def _preview_values(builder: Builder) -> dict[str, str]:
    """Where the phone preview starts: the values that make the rule's conditions hold, where it can."""
    values: dict[str, str] = {}
    for row in builder.rows:
        if row.op in (rb.EQUALS, rb.IN) and row.values:
            values.setdefault(row.field, row.values[0])
    return values


def _editor(request: HttpRequest, builder: Builder, *, rule: Rule | None, status: int = 200,
            errors: dict[str, str] | None = None,
            made: tuple[RuleDraft | None, dict[str, str]] | None = None) -> HttpResponse:  # fmt: skip
    """The editor page (`made`: the builder's draft and problems, when the caller has them already).
    Problems are shown once saving was tried (status 422 or a refusal), not while choosing."""
    draft, problems = made or _make(builder)
    shown_errors = {**problems, **(errors or {})} if status != 200 else {}
    words = _words()
    catalog = option_catalog()
    choices = {field: catalog.choices.get(set_code, []) for field, set_code in CHOICE_FIELDS.items()}
    row_views = rb.row_views(builder.rows, words, choices, shown_errors)
    fields = [(name, words.fields.get(name, name)) for name in FIELD_ORDER]
    complete = draft is not None and not problems
    zh = request.LANGUAGE_CODE.startswith("zh")
    preview = {
        "rule": {"code": "draft", "condition": draft.condition, "requires": draft.requires} if draft else None,
        "message": (draft.message_zh if zh else draft.message_en or draft.message_zh) if draft else "",
        "values": _preview_values(builder),
    }
    # The preview phone shows the two fields every entry has, the ones the conditions test, and the required ones.
    tested = {"contact_method", "stage", *(r.field for r in builder.rows)}
    shown = (tested & set(CHOICE_FIELDS)) | {*builder.required, *builder.either}
    preview_fields = [
        {"name": name, "label": label, "choices": catalog.choices.get(CHOICE_FIELDS.get(name, ""), None)}
        for name, label in fields
        if name in shown
    ]
    context = {
        "rule": rule,
        "builder": builder,
        "rows": row_views,
        "fields": fields,
        "condition_fields": [(name, words.fields[name]) for name in rb.condition_fields()],
        "join": builder.join,
        "choice_fields": [(n, label) for n, label in fields if n in CHOICE_FIELDS],
        "errors": shown_errors,
        "sentence": rb.describe(draft.condition, draft.requires, words) if draft and draft.requires else "",
        "impact": _impact(draft) if complete and draft is not None else None,
        "stage_labels": catalog.labels.get("stage", {}),
        "field_labels": words.fields,
        "preview_json": json.dumps(preview, ensure_ascii=False),
        "preview_fields": preview_fields,
        "preview_values": preview["values"],
        # The fingerprint the editor was first shown with (kept across previews), so a concurrent edit is caught.
        "seen": request.POST.get("seen") or (rule_fingerprint(rule) if rule is not None else ""),
    }
    return render(request, "actions/settings_rule.html", context, status=status)


@login_required
def rules_page(request: HttpRequest) -> HttpResponse:
    """规则: every rule in words, in force or switched off; switch one, edit one, or build a new one."""
    user = settings_user(request)
    if request.method == "POST":
        what, code = request.POST.get("do", ""), request.POST.get("code", "")
        try:
            if rule_set_active(user=user, code=code, active=what == "restore", now=clock.now()):
                messages.success(request, _("Saved."))
        except DomainError as exc:
            messages.error(request, " ".join(str(e.message) for e in exc.errors))
        return redirect("actions:rules")
    words, zh = _words(), request.LANGUAGE_CODE.startswith("zh")
    rules = []
    for rule in Rule.objects.order_by("-is_active", "position", "code"):
        editable = _from_rule(rule) is not None
        rules.append(
            {
                "rule": rule,
                "sentence": rb.describe(rule.condition, rule.requires, words),
                "message": rule.message_zh if zh else rule.message_en or rule.message_zh,
                "editable": editable,
            }
        )
    return render(request, "actions/settings_rules.html", {"rules": rules})


def _save(request: HttpRequest, user: User, rule: Rule | None) -> HttpResponse:
    """A new rule, or `rule` changed (unless someone changed it since the page was shown); the editor
    again with every problem by its field when it cannot be saved."""
    builder = _from_post(request.POST)
    made = draft, problems = _make(builder)
    saving = request.POST.get("do") == "save"
    if not saving or draft is None or problems:
        return _editor(request, builder, rule=rule, status=422 if saving else 200, made=made)
    try:
        if rule is None:
            rule_create(user=user, draft=draft, now=clock.now())
            done = _("Saved: the rule applies from the next save, on the phone form and the server alike.")
        else:
            seen = request.POST.get("seen") or None
            changed = rule_update(user=user, code=rule.code, draft=draft, seen=seen, now=clock.now())
            done = _("Saved.") if changed else _("Nothing changed.")
    except DomainError as exc:
        errors = {e.field or "": str(e.message) for e in exc.errors}
        return _editor(request, builder, rule=rule, status=exc.status, errors=errors, made=made)
    messages.success(request, done)
    return redirect("actions:rules")


@login_required
@require_http_methods(["GET", "POST"])
def rule_new_page(request: HttpRequest) -> HttpResponse:
    """新建规则: dropdowns and tick boxes; the impact shown before saving."""
    user = settings_user(request)
    if request.method == "GET":
        return _editor(request, Builder("all", [], [], [], "", "", message_auto=True), rule=None)
    return _save(request, user, None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit_page(request: HttpRequest, code: str) -> HttpResponse:
    """One rule in the builder; saved only if nobody changed it since the page was shown."""
    user = settings_user(request)
    rule = Rule.objects.filter(code=code).first()
    if rule is None:
        raise Http404
    if request.method == "GET":
        builder = _from_rule(rule)
        if builder is None:
            messages.info(
                request, _("This rule is shaped in a way the builder cannot show; it can be switched on or off.")
            )
            return redirect("actions:rules")
        return _editor(request, builder, rule=rule)
    return _save(request, user, rule)


@login_required
@require_POST
def rule_preview(request: HttpRequest) -> HttpResponse:
    """The editor again for the builder's current choices (htmx, on every change): the value lists of
    the chosen fields, the sentence, the proposed messages, the impact and the phone preview."""
    settings_user(request)
    code = request.POST.get("code", "")
    rule = Rule.objects.filter(code=code).first() if code else None
    return _editor(request, _from_post(request.POST), rule=rule)
