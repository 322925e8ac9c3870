"""Template packs in and out of the database: which packs there are (shipped in packs/, or uploaded
in Settings and kept in ImportedPack), the current settings written as a pack (YAML), an uploaded
pack checked whole and kept.

Follow-up rules belong to todos, above this app: callers that export or compare them pass them in
as plain pack entries (`follow_ups`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import yaml
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.models import (
    EffectiveAction,
    ImportedPack,
    Option,
    OptionSet,
    PlanLintRule,
    Policy,
    Rule,
    TemplatePack,
    Threshold,
)
from salestrace.catalog.packs import POLICY_CHECKS, PackDef, PackError, available_packs, parse_pack, read_pack
from salestrace.catalog.selectors import may_configure
from salestrace.core.errors import FieldError, PermissionDenied, RuleViolation
from salestrace.org.models import User

MAX_PACK_BYTES = 512 * 1024


MAX_YAML_DEPTH = 20


def checked_yaml(source: str) -> Any:
    """Load an uploaded YAML text safely: no anchors or aliases (a small file cannot expand into a huge
    one), nesting at most MAX_YAML_DEPTH deep; yaml.YAMLError or PackError otherwise."""
    depth = 0
    for event in yaml.parse(source, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise PackError("anchors and aliases (& and *) are not allowed")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise PackError(f"nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.safe_load(source)


def pack_definition(code: str) -> PackDef:
    """The pack of that code: uploaded in Settings, else shipped in packs/ (PackError when neither)."""
    imported = ImportedPack.objects.filter(code=code).values_list("source", flat=True).first()
    if imported is not None:
        return parse_pack(checked_yaml(imported), where=code)
    return read_pack(code)


def pack_codes() -> list[str]:
    """Every pack that can be applied: shipped and uploaded."""
    return sorted(set(available_packs()) | set(ImportedPack.objects.values_list("code", flat=True)))


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def current_pack(*, follow_ups: list[dict[str, Any]]) -> dict[str, Any]:
    """The settings in force, in the pack format (every option in use, every rule and follow-up in
    force, the thresholds, the policies, effective actions and plan checks): what an export writes
    and a preview compares with. Its code and version are the last loaded pack's."""
    loaded = TemplatePack.objects.order_by("-loaded_at", "-pk").first()
    sets: dict[str, Any] = {}
    for option_set in OptionSet.objects.order_by("code"):
        options = Option.objects.filter(option_set=option_set, is_active=True).order_by("position", "code")
        sets[option_set.code] = {
            "name": {"zh": option_set.name_zh, "en": option_set.name_en},
            "options": [
                {"code": o.code, "zh": o.label_zh, "en": o.label_en, **({"terminal": True} if o.is_terminal else {})}
                for o in options
            ],
        }
    rules = [
        {
            "code": r.code,
            "when": r.condition,
            "require": r.requires,
            "message": {"zh": r.message_zh, "en": r.message_en},
        }
        for r in Rule.objects.filter(is_active=True).order_by("position", "code")
    ]
    thresholds = {
        t.code: {"value": _number(t.value), "zh": t.description_zh, "en": t.description_en}
        for t in Threshold.objects.order_by("code")
    }
    effective: dict[str, list[str]] = {}
    for stage, key_action in EffectiveAction.objects.order_by("stage", "key_action").values_list("stage", "key_action"):
        effective.setdefault(stage, []).append(key_action)
    lint = [
        {
            "code": p.code,
            "obstacle": p.obstacle,
            ("plan_mentions" if p.kind == PlanLintRule.Kind.MENTIONS else "plan_lacks"): p.phrases.splitlines(),
            "message": {"zh": p.message_zh, "en": p.message_en},
        }
        for p in PlanLintRule.objects.filter(is_active=True).order_by("position", "code")
    ]
    return {
        "code": loaded.code if loaded else "custom",
        "version": loaded.version if loaded else 1,
        "name": {
            "zh": loaded.name_zh if loaded else "自定义模板",
            "en": loaded.name_en if loaded else "Custom template",
        },
        "option_sets": sets,
        "rules": rules,
        "thresholds": thresholds,
        "policies": {
            code: value
            for code, value in Policy.objects.order_by("code").values_list("code", "value")
            if code in POLICY_CHECKS
        },
        "effective_actions": effective,
        "plan_lint": lint,
        "follow_ups": follow_ups,
    }


def pack_yaml(data: dict[str, Any]) -> str:
    """A pack as YAML a person can read and edit (Chinese as it is, keys in the pack's order)."""
    header = "# SalesTrace template pack, exported from Settings. Codes are stable; labels may change.\n"
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


@transaction.atomic
def _pack_data(text: bytes) -> tuple[Any, str]:
    """A pack file's YAML, checked (size, encoding, no anchors or aliases, depth), and its text."""
    if len(text) > MAX_PACK_BYTES:
        raise RuleViolation([FieldError("file", "too_large", _("A template pack is at most 512 KB."))])
    try:
        source = text.decode("utf-8-sig")
        return checked_yaml(source), source
    except PackError as exc:
        raise RuleViolation(
            [FieldError("file", "pack", _("The pack cannot be used: %(problem)s") % {"problem": exc})]
        ) from None
    except UnicodeDecodeError:
        raise RuleViolation([FieldError("file", "encoding", _("Save the file as UTF-8."))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _(" (line %(line)d)") % {"line": mark.line + 1} if mark is not None else ""
        raise RuleViolation(
            [FieldError("file", "yaml", _("This is not a YAML file%(where)s.") % {"where": where})]
        ) from None


def _pack_from(data: Any) -> PackDef:
    try:
        return parse_pack(data, where="file")
    except PackError as exc:
        raise RuleViolation(
            [FieldError("file", "pack", _("The pack cannot be used: %(problem)s") % {"problem": exc})]
        ) from None


def pack_parsed(text: bytes) -> tuple[PackDef, str]:
    """A pack file checked whole by the one pack parser, and its text; refused with the problem in
    words (size, encoding, YAML, the pack's own checks)."""
    data, source = _pack_data(text)
    return _pack_from(data), source


def pack_upload(*, user: User, text: bytes, now: datetime) -> PackDef:
    """Keep an uploaded pack (checked whole by the one pack parser) under its code, to preview and
    apply. A shipped pack's code is refused: change the file's `code` first."""
    if not may_configure(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins may change the settings."))])
    data, source = _pack_data(text)
    code = data.get("code") if isinstance(data, dict) else None
    if isinstance(code, str) and code in available_packs():
        message = _("A shipped template is called %(code)s: give the file another code.") % {"code": code}
        raise RuleViolation([FieldError("file", "shipped", message)])
    pack = _pack_from(data)
    ImportedPack.objects.update_or_create(
        code=pack.code, defaults={"source": source, "uploaded_by": user, "uploaded_at": now}
    )
    return pack
