"""Writes to the catalog: loading template packs; products and their prices."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.codes import code_for, free_code, valid_code
from salestrace.catalog.models import (
    CatalogVersion,
    EffectiveAction,
    KeyFieldsChange,
    Option,
    OptionSet,
    PlanLintRule,
    Policy,
    Product,
    Rule,
    SettingChange,
    TemplatePack,
    Threshold,
)
from salestrace.catalog.packs import ACTION_FIELDS, CHOICE_FIELDS, REQUIRABLE_FIELDS, PackDef, read_pack
from salestrace.catalog.rules import ConditionError, condition_comparisons, parse_condition, parse_requires
from salestrace.catalog.selectors import may_configure, threshold_labels
from salestrace.catalog.thresholds import (
    CUSTOMER_KINDS,
    OVERRIDABLE,
    override_code,
    plain,
    split_override,
    threshold_problems,
)
from salestrace.core.errors import Conflict, FieldError, NotFound, PermissionDenied, RuleViolation
from salestrace.org.models import User


def catalog_changed() -> None:
    """Tell every process that options, rules or thresholds changed (their cached snapshots expire)."""
    if not CatalogVersion.objects.filter(pk=1).update(version=F("version") + 1):
        CatalogVersion.objects.create(pk=1, version=1)


@dataclass(frozen=True)
class LoadReport:
    """What a load changed, for the command's output."""

    pack: str
    options_created: int
    options_updated: int
    options_deactivated: int
    rules_created: int
    rules_updated: int
    rules_deactivated: int


@transaction.atomic
def template_load(*, code: str, now: datetime, pack: PackDef | None = None) -> LoadReport:
    """Load packs/<code>.yaml (or `pack`, one uploaded in Settings) idempotently.

    Labels, rules and thresholds are updated in place; options and rules that the pack no longer
    lists are deactivated, never deleted, so that logged actions keep their meaning.
    """
    pack = pack or read_pack(code)
    created = updated = deactivated = 0
    for set_def in pack.option_sets:
        option_set, _ = OptionSet.objects.update_or_create(
            code=set_def.code, defaults={"name_zh": set_def.name_zh, "name_en": set_def.name_en}
        )
        existing = {o.code: o for o in option_set.options.all()}
        for position, opt in enumerate(set_def.options):
            values = {
                "label_zh": opt.label_zh,
                "label_en": opt.label_en,
                "position": position,
                "is_active": True,
                "is_terminal": opt.terminal,
            }
            current = existing.pop(opt.code, None)
            if current is None:
                Option.objects.create(option_set=option_set, code=opt.code, **values)
                created += 1
            elif any(getattr(current, k) != v for k, v in values.items()):
                Option.objects.filter(pk=current.pk).update(**values)
                updated += 1
        stale = [o.pk for o in existing.values() if o.is_active]
        deactivated += Option.objects.filter(pk__in=stale).update(is_active=False)

    rule_codes = set()
    rules_created = rules_updated = 0
    for position, rule_def in enumerate(pack.rules):
        rule_codes.add(rule_def.code)
        _, was_created = Rule.objects.update_or_create(
            code=rule_def.code,
            defaults={
                "condition": rule_def.condition,
                "requires": [list(r) if isinstance(r, tuple) else r for r in rule_def.requires],
                "message_zh": rule_def.message_zh,
                "message_en": rule_def.message_en,
                "position": position,
                "is_active": True,
                "pack": pack.code,
            },
        )
        rules_created += was_created
        rules_updated += not was_created
    # Rules a manager made in Settings (no pack) are theirs: a template reload leaves them in force.
    stale_rules = Rule.objects.exclude(code__in=rule_codes).exclude(pack="").filter(is_active=True)
    rules_deactivated = stale_rules.update(is_active=False)

    for t in pack.thresholds:
        Threshold.objects.update_or_create(
            code=t.code,
            defaults={"value": t.value, "description_zh": t.description_zh, "description_en": t.description_en},
        )
    for p_code, value in pack.policies:
        Policy.objects.update_or_create(code=p_code, defaults={"value": value})
    _record_key_fields(now)
    _load_health(pack)
    catalog_changed()
    TemplatePack.objects.update_or_create(
        code=pack.code,
        defaults={"name_zh": pack.name_zh, "name_en": pack.name_en, "version": pack.version, "loaded_at": now},
    )
    return LoadReport(pack.code, created, updated, deactivated, rules_created, rules_updated, rules_deactivated)


@transaction.atomic
def product_save(*, name: str, series: str, list_price: Decimal, currency: str, now: datetime) -> tuple[Product, str]:
    """Create or update a product by name: (product, "created" | "updated" | "unchanged")."""
    name = name.strip()
    if not name:
        raise RuleViolation([FieldError("name", "required", _("The product needs a name."))])
    if not list_price.is_finite() or list_price < 0 or list_price != list_price.quantize(Decimal("0.01")):
        raise RuleViolation([FieldError("list_price", "invalid", _("The price must be a number from 0 up."))])
    values = {"series": series.strip(), "list_price": list_price, "currency": (currency or "CNY").upper()[:3]}
    product = Product.objects.select_for_update().filter(name=name).first()
    if product is None:
        return Product.objects.create(name=name, updated_at=now, **values), "created"
    if all(getattr(product, k) == v for k, v in values.items()):
        return product, "unchanged"
    for key, value in values.items():
        setattr(product, key, value)
    product.updated_at = now
    product.save()
    return product, "updated"


def _record_key_fields(now: datetime) -> None:
    """A change of the health key fields starts a new period of their history (`KeyFieldsChange`):
    actions logged before it keep being judged by the fields in force then."""
    fields = Policy.objects.filter(code="health_key_fields").values_list("value", flat=True).first()
    if not fields:
        return
    latest = KeyFieldsChange.objects.order_by("-valid_from").values_list("fields", flat=True).first()
    if latest != list(fields):
        KeyFieldsChange.objects.create(valid_from=now, fields=list(fields))


def _load_health(pack: PackDef) -> None:
    """The pack's effective key actions per stage (those of other packs go: they name their options)
    and its plan-lint rules (others' deactivated, like entry rules)."""
    wanted = {(e.stage, k) for e in pack.effective_actions for k in e.key_actions}
    existing = set(EffectiveAction.objects.values_list("stage", "key_action"))
    stale = existing - wanted
    for stage, key_action in stale:
        EffectiveAction.objects.filter(stage=stage, key_action=key_action).delete()
    EffectiveAction.objects.bulk_create(
        EffectiveAction(stage=stage, key_action=key_action, pack=pack.code) for stage, key_action in wanted - existing
    )
    EffectiveAction.objects.exclude(pack=pack.code).update(pack=pack.code)
    codes = set()
    for position, lint in enumerate(pack.plan_lint):
        codes.add(lint.code)
        PlanLintRule.objects.update_or_create(
            code=lint.code,
            defaults={
                "obstacle": lint.obstacle,
                "kind": lint.kind,
                "phrases": "\n".join(lint.phrases),
                "message_zh": lint.message_zh,
                "message_en": lint.message_en,
                "position": position,
                "is_active": True,
                "pack": pack.code,
            },
        )
    PlanLintRule.objects.exclude(code__in=codes).filter(is_active=True).update(is_active=False)


# --- the Settings pages: every change checked, versioned, and undoable -----------------------------


def _refuse_unless_configurer(user: User) -> None:
    if not may_configure(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins may change the settings."))])


@transaction.atomic
def thresholds_update(
    *,
    user: User,
    values: Mapping[str, Decimal],
    seen: Mapping[str, Decimal],
    now: datetime,
    rolled_back: SettingChange | None = None,
) -> list[str]:
    """Set thresholds (code -> value) as one change; the codes changed, in order.

    `seen` holds the values the editor's form showed: a threshold someone else changed meanwhile is
    refused (Conflict), never overwritten. The whole set after the change must pass
    `thresholds.threshold_problems` (ranges, green < yellow < orange …), or nothing is written.
    Each changed value is recorded as a SettingChange (who, when, before, after; `rolled_back`: the
    change it undoes)."""
    _refuse_unless_configurer(user)
    rows = {t.code: t for t in Threshold.objects.select_for_update().order_by("code")}
    unknown = [code for code in values if code not in rows]
    if unknown:
        raise RuleViolation([FieldError(code, "unknown", _("There is no such threshold.")) for code in unknown])
    changed = {code: value for code, value in values.items() if rows[code].value != value}
    moved = [code for code in changed if code in seen and rows[code].value != seen[code]]
    if moved:
        raise Conflict(
            [
                FieldError(
                    code,
                    "changed_meanwhile",
                    _("Someone else changed this meanwhile: it is now %(value)s. Reload to see it.")
                    % {"value": plain(rows[code].value)},
                )
                for code in moved
            ]
        )
    after = {code: row.value for code, row in rows.items()} | changed
    problems = threshold_problems(after, threshold_labels())
    if problems:
        raise RuleViolation([FieldError(code, "invalid", message) for code, message in problems])
    for code, value in changed.items():
        SettingChange.objects.create(
            area=SettingChange.Area.THRESHOLD,
            key=code,
            before=plain(rows[code].value),
            after=plain(value),
            changed_by=user,
            changed_at=now,
            rolled_back=rolled_back,
        )
        Threshold.objects.filter(pk=rows[code].pk).update(value=value)
    if changed:
        catalog_changed()
    return sorted(changed)


# Settings kept by apps above this one (follow-up rules in todos) register how a change of theirs
# is rolled back: area -> function(user, change, now), raising Conflict when it changed again since.
ROLLBACKS: dict[str, Callable[[User, SettingChange, datetime], None]] = {}


@transaction.atomic
def threshold_override_set(
    *, user: User, base: str, key: str, value: Decimal | None, now: datetime, rolled_back: SettingChange | None = None
) -> str:
    """Add, change or (value None) remove a threshold for one customer stage or kind, e.g. the dormant
    days at 合同签署; checked like every threshold, recorded in the history. Returns its code."""
    _refuse_unless_configurer(user)
    stages = set(Option.objects.filter(option_set__code="stage").values_list("code", flat=True))
    errors = []
    if base not in OVERRIDABLE:
        errors.append(FieldError("base", "invalid", _("This threshold cannot be set per stage or kind.")))
    if key not in stages and key not in CUSTOMER_KINDS:
        errors.append(FieldError("key", "invalid", _("Choose a stage or a customer kind.")))
    if errors:
        raise RuleViolation(errors)
    code = override_code(base, key)
    rows = {t.code: t for t in Threshold.objects.select_for_update().order_by("code")}
    current = rows.get(code)
    if value is None:
        if current is None:
            return code
        current.delete()
        after_value = None
    else:
        after = {c: t.value for c, t in rows.items()} | {code: value}
        if problems := [m for c, m in threshold_problems(after, threshold_labels()) if c == code]:
            raise RuleViolation([FieldError("value", "invalid", problems[0])])
        if current is not None and current.value == value:
            return code
        base_row = rows.get(base)
        stage = Option.objects.filter(option_set__code="stage", code=key).values_list("label_zh", "label_en").first()
        zh, en = stage or CUSTOMER_KINDS.get(key, (key, key))
        Threshold.objects.update_or_create(
            code=code,
            defaults={
                "value": value,
                "description_zh": f"{base_row.description_zh if base_row else base}（{zh}）",
                "description_en": f"{base_row.description_en if base_row else base} ({en})",
            },
        )
        after_value = plain(value)
    SettingChange.objects.create(
        area=SettingChange.Area.THRESHOLD,
        key=code,
        before=plain(current.value) if current is not None else None,
        after=after_value,
        changed_by=user,
        changed_at=now,
        rolled_back=rolled_back,
    )
    catalog_changed()
    return code


@transaction.atomic
def setting_rollback(*, user: User, change_id: int, now: datetime) -> list[str]:
    """Put a setting back to what it was before one change (itself recorded as a change). Refused
    when the setting has changed again since: roll back the later change first."""
    _refuse_unless_configurer(user)
    change = SettingChange.objects.select_for_update().filter(pk=change_id).first()
    if change is None:
        raise NotFound([FieldError(None, "not_found", _("No such change."))])
    since = _("This setting has changed again since: roll back the later change first.")
    if change.area in ROLLBACKS:
        ROLLBACKS[change.area](user, change, now)
        return [change.key]
    if change.area == SettingChange.Area.RULE:
        _rule_rollback(user, change, now)
        return [change.key]
    if change.area == SettingChange.Area.OPTION:
        set_code, code = change.key.split(".", 1)
        option = Option.objects.select_for_update().filter(option_set__code=set_code, code=code).first()
        if option is None or _option_state(option) != change.after:
            raise Conflict([FieldError(change.key, "changed_since", since)])
        before = change.before or {**_option_state(option), "is_active": False}  # an added option: retired
        if _option_write(user, option, now, rolled_back=change, **before):
            catalog_changed()
        return [change.key]
    if change.area != SettingChange.Area.THRESHOLD:
        message = _("This change cannot be rolled back here: make it again on its Settings page.")
        raise Conflict([FieldError(change.key, "not_rollbackable", message)])
    if (override := split_override(change.key)) is not None and None in (change.before, change.after):
        # an override added or removed: put it back as it was (the value it had, or none)
        now_value = Threshold.objects.filter(code=change.key).values_list("value", flat=True).first()
        if (plain(now_value) if now_value is not None else None) != change.after:
            raise Conflict([FieldError(change.key, "changed_since", since)])
        before = Decimal(str(change.before)) if change.before is not None else None
        threshold_override_set(user=user, base=override[0], key=override[1], value=before, now=now, rolled_back=change)
        return [change.key]
    values, seen = {change.key: Decimal(str(change.before))}, {change.key: Decimal(str(change.after))}
    try:
        return thresholds_update(user=user, values=values, seen=seen, now=now, rolled_back=change)
    except Conflict:
        raise Conflict([FieldError(change.key, "changed_since", since)]) from None


# --- option sets: add, rename, reorder, retire; a code is made once and never changes --------------


def _option_state(option: Option) -> dict[str, Any]:
    return {
        "label_zh": option.label_zh,
        "label_en": option.label_en,
        "position": option.position,
        "is_active": option.is_active,
    }


def _option_write(
    user: User, option: Option, now: datetime, *, rolled_back: SettingChange | None = None, **state: Any
) -> bool:
    """Give an option this state, recorded as a change of the setting "<set>.<code>"; whether it
    changed (the caller tells the processes once, `catalog_changed`)."""
    before = _option_state(option)
    after = {**before, **state}
    if after == before:
        return False
    for key, value in after.items():
        setattr(option, key, value)
    option.save(update_fields=list(after))
    SettingChange.objects.create(
        area=SettingChange.Area.OPTION,
        key=f"{option.option_set.code}.{option.code}",
        before=before,
        after=after,
        changed_by=user,
        changed_at=now,
        rolled_back=rolled_back,
    )
    return True


def _option(set_code: str, code: str) -> Option:
    option = (
        Option.objects.select_for_update()
        .select_related("option_set")
        .filter(option_set__code=set_code, code=code)
        .first()
    )
    if option is None:
        raise NotFound([FieldError(None, "not_found", _("No such option."))])
    return option


def _labels(label_zh: str, label_en: str) -> tuple[str, str]:
    zh, en = label_zh.strip(), label_en.strip()
    errors = []
    if not zh:
        errors.append(FieldError("label_zh", "required", _("Give the option its Chinese name.")))
    for field, text in (("label_zh", zh), ("label_en", en)):
        if len(text) > 100:
            errors.append(FieldError(field, "too_long", _("At most 100 characters.")))
    if errors:
        raise RuleViolation(errors)
    return zh, en


@transaction.atomic
def option_add(*, user: User, set_code: str, label_zh: str, label_en: str, code: str = "", now: datetime) -> Option:
    """A new option at the end of its set. Its code is the one typed (lower-case letters, digits, _)
    or made from the Chinese label's pinyin; either way it never changes afterwards."""
    _refuse_unless_configurer(user)
    option_set = OptionSet.objects.select_for_update().filter(code=set_code).first()
    if option_set is None:
        raise NotFound([FieldError(None, "not_found", _("No such option set."))])
    zh, en = _labels(label_zh, label_en)
    existing = list(option_set.options.values_list("code", "label_zh", "position"))
    if any(z == zh for _c, z, _p in existing):
        raise RuleViolation([FieldError("label_zh", "duplicate", _("This set already has an option of that name."))])
    taken = {c for c, _z, _p in existing}
    code = code.strip()
    if code and not valid_code(code):
        message = _("A code is lower-case letters, digits and _, starting with a letter.")
        raise RuleViolation([FieldError("code", "invalid", message)])
    if code in taken:
        raise RuleViolation([FieldError("code", "duplicate", _("This code is taken in this set."))])
    code = code or code_for(zh, en, taken)
    position = max((p for *_rest, p in existing), default=-1) + 1
    option = Option.objects.create(option_set=option_set, code=code, label_zh=zh, label_en=en, position=position)
    SettingChange.objects.create(
        area=SettingChange.Area.OPTION,
        key=f"{set_code}.{code}",
        before=None,
        after=_option_state(option),
        changed_by=user,
        changed_at=now,
    )
    catalog_changed()
    return option


@transaction.atomic
def option_rename(
    *, user: User, set_code: str, code: str, label_zh: str, label_en: str, seen: tuple[str, str], now: datetime
) -> None:
    """New labels (the code stays); refused when someone renamed it since the form was shown (`seen`)."""
    _refuse_unless_configurer(user)
    option = _option(set_code, code)
    if (option.label_zh, option.label_en) != seen:
        message = _("Someone else changed this meanwhile: it is now %(value)s. Reload to see it.")
        raise Conflict([FieldError("label_zh", "changed_meanwhile", message % {"value": option.label_zh})])
    zh, en = _labels(label_zh, label_en)
    if Option.objects.filter(option_set__code=set_code, label_zh=zh).exclude(pk=option.pk).exists():
        raise RuleViolation([FieldError("label_zh", "duplicate", _("This set already has an option of that name."))])
    if _option_write(user, option, now, label_zh=zh, label_en=en):
        catalog_changed()


@transaction.atomic
def option_move(*, user: User, set_code: str, code: str, step: int, now: datetime) -> None:
    """One place up (step -1) or down (+1) in its set's order (retired options keep their places)."""
    _refuse_unless_configurer(user)
    option = _option(set_code, code)
    order = list(
        Option.objects.select_for_update().filter(option_set_id=option.option_set_id).order_by("position", "code")
    )
    i = next(n for n, o in enumerate(order) if o.pk == option.pk)
    j = i + (1 if step > 0 else -1)
    if not 0 <= j < len(order):
        return
    order[i], order[j] = order[j], order[i]
    moved = False
    for position, item in enumerate(order):
        if item.position != position:
            item.option_set = option.option_set
            moved |= _option_write(user, item, now, position=position)
    if moved:
        catalog_changed()


@transaction.atomic
def option_order(*, user: User, set_code: str, codes: list[str], now: datetime) -> int:
    """Put a set's options in this order (dragged on the page); `codes` must be the set's codes, each
    once (retired ones too), else nothing moves. Returns how many options changed place."""
    _refuse_unless_configurer(user)
    order = list(Option.objects.select_for_update().filter(option_set__code=set_code).select_related("option_set"))
    if not order:
        raise NotFound([FieldError(None, "not_found", _("No such option set."))])
    by_code = {o.code: o for o in order}
    if sorted(codes) != sorted(by_code):
        message = _("The options changed meanwhile. Reload to see them.")
        raise Conflict([FieldError(None, "changed_meanwhile", message)])
    moved = sum(_option_write(user, by_code[code], now, position=i) for i, code in enumerate(codes))
    if moved:
        catalog_changed()
    return moved


@transaction.atomic
def option_set_active(*, user: User, set_code: str, code: str, active: bool, now: datetime) -> None:
    """Retire an option (it stays on every action that used it, and leaves the forms) or bring it back.
    The stages that end the process (won, lost) are never retired."""
    _refuse_unless_configurer(user)
    option = _option(set_code, code)
    if not active and option.is_terminal:
        message = _("Won and lost end the sales process: they cannot be retired.")
        raise RuleViolation([FieldError(None, "terminal", message)])
    if not active and option.is_active:
        others = Option.objects.filter(option_set_id=option.option_set_id, is_active=True).exclude(pk=option.pk)
        if not others.exists():
            raise RuleViolation([FieldError(None, "last", _("A set keeps at least one option in use."))])
    if _option_write(user, option, now, is_active=active):
        catalog_changed()


# --- rules: built from dropdowns in Settings, checked by the one parser, versioned like the rest ----------


@dataclass(frozen=True)
class RuleDraft:
    """A rule as the builder (or any caller) hands it in: the JSON the builder made, and its messages."""

    condition: dict[str, Any]
    requires: list[Any]
    message_zh: str
    message_en: str


def rule_state(rule: Rule) -> dict[str, Any]:
    """What a rule's history records and a concurrent edit is compared on."""
    return {
        "condition": rule.condition,
        "requires": rule.requires,
        "message_zh": rule.message_zh,
        "message_en": rule.message_en,
        "position": rule.position,
        "is_active": rule.is_active,
    }


def state_fingerprint(state: Mapping[str, Any]) -> str:
    """A short digest of a setting's state as an editor was shown it: a page keeps it, and a service
    refuses a save whose page showed another (a concurrent edit), for every kind of setting."""
    text = json.dumps(state, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# A setting kept as a model row with `is_active` (rules, follow-up rules): how it is switched and
# rolled back, once for every kind. `record(before, rolled_back)` writes its SettingChange.
Record = Callable[[dict[str, Any] | None, SettingChange | None], None]


def switch_setting(*, row: Any, active: bool, state: Callable[[Any], dict[str, Any]], record: Record) -> bool:
    """Switch a setting off (kept, with its history) or on again; whether anything changed."""
    if row.is_active == active:
        return False
    before = state(row)
    row.is_active = active
    row.save(update_fields=["is_active"])
    record(before, None)
    return True


def rollback_setting(
    *, change: SettingChange, row: Any, state: Callable[[Any], dict[str, Any]], record: Record
) -> None:
    """Put a setting back to its state before `change` (one made here is switched off); refused when
    it has changed again since."""
    if row is None or state(row) != change.after:
        message = _("This setting has changed again since: roll back the later change first.")
        raise Conflict([FieldError(change.key, "changed_since", message)])
    before = state(row)
    restored = change.before or {**before, "is_active": False}
    for key, value in restored.items():
        setattr(row, key, value)
    row.save(update_fields=list(restored))
    record(before, change)


def rule_fingerprint(rule: Rule) -> str:
    return state_fingerprint(rule_state(rule))


def rule_problems(draft: RuleDraft) -> list[FieldError]:
    """Everything wrong with a draft rule, each on the builder's field: the condition and the
    requirements through the one rule parser (catalog.rules), every compared value an option of
    its field's set, at least one field required, a message in Chinese."""
    errors = condition_problems(draft.condition)
    try:
        parse_requires(draft.requires, fields=REQUIRABLE_FIELDS)
    except ConditionError:
        errors.append(FieldError("requires", "required", _("Choose at least one field that must be filled.")))
    zh, en = draft.message_zh.strip(), draft.message_en.strip()
    if not zh:
        errors.append(FieldError("message_zh", "required", _("Write the message a rep sees (in Chinese).")))
    for field, text in (("message_zh", zh), ("message_en", en)):
        if len(text) > 300:
            errors.append(FieldError(field, "too_long", _("At most 300 characters.")))
    return errors


def refuse_unless_configurer(user: User) -> None:
    """For the settings kept by apps above this one: the same who-may-configure rule."""
    _refuse_unless_configurer(user)


def condition_problems(condition: Any) -> list[FieldError]:
    """A condition a manager built (a rule's or a follow-up's), checked by the one parser, every
    compared value an option of its field's set; each problem on the builder's "condition"."""
    try:
        parsed = parse_condition(condition, fields=ACTION_FIELDS)
    except ConditionError:
        return [FieldError("condition", "invalid", _("This condition cannot be understood."))]
    codes: dict[str, set[str]] = {}
    for in_set, code in Option.objects.values_list("option_set__code", "code"):
        codes.setdefault(in_set, set()).add(code)
    errors = []
    for field, value in condition_comparisons(parsed):
        set_code = CHOICE_FIELDS.get(field)
        if set_code is None:
            message = _("Only a dropdown field is compared with an option; a text field is tested as empty or filled.")
            errors.append(FieldError("condition", "not_a_choice", message))
        elif value not in codes.get(set_code, set()):
            errors.append(FieldError("condition", "unknown_option", _("No such option: %(value)s") % {"value": value}))
    return errors


def _rule_write(user: User, rule: Rule, now: datetime, *, before: dict[str, Any] | None,
                rolled_back: SettingChange | None = None) -> None:  # fmt: skip
    SettingChange.objects.create(
        area=SettingChange.Area.RULE,
        key=rule.code,
        before=before,
        after=rule_state(rule),
        changed_by=user,
        changed_at=now,
        rolled_back=rolled_back,
    )
    catalog_changed()


def _rule_code(draft: RuleDraft) -> str:
    """A code made once from what the rule is about ("stage_contract_signing_needs_next_step_deliverable")."""
    compared = condition_comparisons(parse_condition(draft.condition))[:2]
    about = [f"{field}_{value}" for field, value in compared] or ["always"]
    first = draft.requires[0] if draft.requires else "field"
    needs = first[0] if isinstance(first, list) else first
    base = f"{'_'.join(about)}_needs_{needs}"[:70].strip("_")
    return free_code(base, set(Rule.objects.filter(code__startswith=base).values_list("code", flat=True)), 80)


@transaction.atomic
def rule_create(*, user: User, draft: RuleDraft, now: datetime) -> Rule:
    """A new rule at the end of the evaluation order, in force for the next save (server and phone
    form alike: both read the active rules)."""
    _refuse_unless_configurer(user)
    errors = rule_problems(draft)
    if errors:
        raise RuleViolation(errors)
    last = Rule.objects.select_for_update().order_by("-position").values_list("position", flat=True).first()
    rule = Rule.objects.create(
        code=_rule_code(draft),
        condition=draft.condition,
        requires=draft.requires,
        message_zh=draft.message_zh.strip(),
        message_en=draft.message_en.strip(),
        position=(last or 0) + 1,
        pack="",  # made here: a template reload leaves it alone
    )
    _rule_write(user, rule, now, before=None)
    return rule


def _rule_for_change(code: str, seen: str | None) -> Rule:
    rule = Rule.objects.select_for_update().filter(code=code).first()
    if rule is None:
        raise NotFound([FieldError(None, "not_found", _("No such rule."))])
    if seen is not None and rule_fingerprint(rule) != seen:
        message = _("Someone else changed this rule meanwhile. Reload to see it.")
        raise Conflict([FieldError(None, "changed_meanwhile", message)])
    return rule


@transaction.atomic
def rule_update(*, user: User, code: str, draft: RuleDraft, seen: str | None, now: datetime) -> bool:
    """Change a rule (its code stays); refused when it changed since the editor was shown (`seen`:
    its fingerprint then). Whether anything changed."""
    _refuse_unless_configurer(user)
    rule = _rule_for_change(code, seen)
    errors = rule_problems(draft)
    if errors:
        raise RuleViolation(errors)
    before = rule_state(rule)
    rule.condition, rule.requires = draft.condition, draft.requires
    rule.message_zh, rule.message_en = draft.message_zh.strip(), draft.message_en.strip()
    if rule_state(rule) == before:
        return False
    rule.save(update_fields=["condition", "requires", "message_zh", "message_en"])
    _rule_write(user, rule, now, before=before)
    return True


@transaction.atomic
def rule_set_active(*, user: User, code: str, active: bool, now: datetime) -> bool:
    """Switch a rule off (kept, with its history) or on again; whether anything changed."""
    _refuse_unless_configurer(user)
    rule = _rule_for_change(code, None)
    return switch_setting(
        row=rule, active=active, state=rule_state, record=lambda b, rb: _rule_write(user, rule, now, before=b)
    )


def _rule_rollback(user: User, change: SettingChange, now: datetime) -> None:
    rule = Rule.objects.select_for_update().filter(code=change.key).first()
    rollback_setting(
        change=change,
        row=rule,
        state=rule_state,
        record=lambda b, rb: _rule_write(user, rule, now, before=b, rolled_back=rb),  # type: ignore[arg-type]
    )
