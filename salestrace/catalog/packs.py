"""Template packs: parse and check a pack's YAML before anything is written. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from salestrace.catalog.rules import ConditionError, parse_condition, parse_requires

PACKS_DIR = Path(__file__).resolve().parents[2] / "packs"

# The fields of an action entry that are dropdowns, and the option set each one draws from.
CHOICE_FIELDS: dict[str, str] = {
    "contact_method": "contact_method",
    "stage": "stage",
    "key_action": "key_action",
    "obstacle": "obstacle",
    "emotion": "emotion",
    "channel": "channel",
    "content_type": "content_type",
    "response_strength": "response_strength",
}
TEXT_FIELDS = ("next_step_plan", "next_step_deliverable", "summary")
DATE_FIELDS = ("next_step_date",)
# Every field a rule may test or require.
ACTION_FIELDS: frozenset[str] = frozenset((*CHOICE_FIELDS, *TEXT_FIELDS, *DATE_FIELDS))
# The role codes of org.Role (kept here so this module stays free of the ORM).
ROLE_CODES = frozenset({"rep", "supervisor", "director", "assistant", "admin"})
# Policies a pack may set, each with the check its value must pass.
POLICY_CHECKS: dict[str, tuple[str, Any]] = {
    "pool_claim_roles": (
        "a list of roles (rep, supervisor, director, assistant, admin)",
        lambda v: isinstance(v, list) and bool(v) and set(v) <= ROLE_CODES,
    ),
    "pool_claim_scope": ("'any' or 'team'", lambda v: v in ("any", "team")),
    "pool_owner_revives_aged": ("true or false", lambda v: isinstance(v, bool)),
    # Sales directors may change the settings too (admins always may).
    "directors_configure": ("true or false", lambda v: isinstance(v, bool)),
    "uses_deals": ("true or false", lambda v: isinstance(v, bool)),
    # Action health (seed 五): the fields that make an action complete, and the customer responses
    # that count as a high-value contact; the codes are checked against the option sets below.
    "health_key_fields": (
        "a list of action fields (e.g. [stage, obstacle, next_step_plan])",
        lambda v: isinstance(v, list) and bool(v) and all(isinstance(f, str) and f in ACTION_FIELDS for f in v),
    ),
    "high_value_responses": (
        "a list of response_strength codes",
        lambda v: isinstance(v, list) and bool(v) and all(isinstance(c, str) for c in v),
    ),
}
# Evidence a rule may require: filled when a file of that kind is attached (evidence_<kind>).
EVIDENCE_FIELDS: frozenset[str] = frozenset({"evidence_photo", "evidence_screenshot", "evidence_audio"})
REQUIRABLE_FIELDS: frozenset[str] = ACTION_FIELDS | EVIDENCE_FIELDS


# Codes in a pack end up in URLs, file names and headers: letters, digits and _, as option codes are.
_SLUG = re.compile(r"[a-z][a-z0-9_]{0,79}")


class PackError(ValueError):
    """A pack file that cannot be loaded; the message names the place."""


@dataclass(frozen=True)
class OptionDef:
    code: str
    label_zh: str
    label_en: str
    terminal: bool


@dataclass(frozen=True)
class OptionSetDef:
    code: str
    name_zh: str
    name_en: str
    options: tuple[OptionDef, ...]


@dataclass(frozen=True)
class RuleDef:
    code: str
    condition: dict[str, Any]
    # As written: a field name, or a list of names any one of which will do.
    requires: tuple[str | tuple[str, ...], ...]
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class ThresholdDef:
    code: str
    value: Decimal
    description_zh: str
    description_en: str


@dataclass(frozen=True)
class FollowUpDef:
    """After an action matching `condition`, a follow-up is due `due_working_days` working days later."""

    code: str
    condition: dict[str, Any]
    due_working_days: int
    title_zh: str
    title_en: str


@dataclass(frozen=True)
class EffectiveActionsDef:
    """At `stage`, these key actions count as effective (they move the customer toward the next stage)."""

    stage: str
    key_actions: tuple[str, ...]


# How a plan-lint rule reads the next-step plan: it mentions one of the phrases, or mentions none of them.
LINT_MENTIONS = "mentions"
LINT_LACKS = "lacks"


@dataclass(frozen=True)
class PlanLintDef:
    """With this obstacle, a next-step plan that `kind` (mentions / lacks) the phrases does not fit it."""

    code: str
    obstacle: str
    kind: str
    phrases: tuple[str, ...]
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class PackDef:
    code: str
    version: int
    name_zh: str
    name_en: str
    option_sets: tuple[OptionSetDef, ...]
    rules: tuple[RuleDef, ...]
    thresholds: tuple[ThresholdDef, ...]
    follow_ups: tuple[FollowUpDef, ...] = ()
    policies: tuple[tuple[str, Any], ...] = ()
    effective_actions: tuple[EffectiveActionsDef, ...] = ()
    plan_lint: tuple[PlanLintDef, ...] = ()


_FOLLOW_UP_KEYS = {"code", "after", "due_working_days", "title"}
MAX_FOLLOW_UP_DAYS = 60


def _parse_follow_ups(raw_list: Any, where: str) -> tuple[FollowUpDef, ...]:
    if raw_list is None:
        return ()
    if not isinstance(raw_list, list):
        raise PackError(f"{where}: must be a list")
    follow_ups: list[FollowUpDef] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_list):
        item_where = f"{where}[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not _SLUG.fullmatch(raw["code"]):
            raise PackError(f"{item_where}: needs a code of lower-case letters, digits and _")
        unknown = set(raw) - _FOLLOW_UP_KEYS
        if unknown:
            raise PackError(f"{item_where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        if raw["code"] in seen:
            raise PackError(f"{item_where}: duplicate code {raw['code']!r}")
        seen.add(raw["code"])
        condition = raw.get("after")
        if not isinstance(condition, dict) or not condition:
            raise PackError(f"{item_where}.after: needs a condition, e.g. {{field: key_action, equals: send_quote}}")
        try:
            parse_condition(condition, fields=ACTION_FIELDS, where=f"{item_where}.after")
        except ConditionError as exc:
            raise PackError(str(exc)) from None
        days = raw.get("due_working_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_FOLLOW_UP_DAYS:
            raise PackError(f"{item_where}.due_working_days: must be a whole number from 1 to {MAX_FOLLOW_UP_DAYS}")
        zh, en = _text(raw.get("title"), f"{item_where}.title")
        follow_ups.append(FollowUpDef(raw["code"], dict(condition), days, zh, en))
    return tuple(follow_ups)


def _codes(sets: list[OptionSetDef], set_code: str) -> set[str]:
    return {o.code for s in sets if s.code == set_code for o in s.options}


def _parse_effective_actions(raw: Any, sets: list[OptionSetDef], where: str) -> tuple[EffectiveActionsDef, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise PackError(f"{where}: must be a mapping of stage to key actions")
    stages = {o.code for s in sets if s.code == "stage" for o in s.options if not o.terminal}
    key_actions = _codes(sets, "key_action")
    result = []
    for stage, actions in raw.items():
        item_where = f"{where}.{stage}"
        if stage not in stages:
            raise PackError(f"{item_where}: not a stage of this pack (won and lost have no effective actions)")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
            raise PackError(f"{item_where}: needs a list of key action codes")
        unknown = [a for a in actions if a not in key_actions]
        if unknown:
            raise PackError(f"{item_where}: unknown key actions {', '.join(unknown)}")
        result.append(EffectiveActionsDef(str(stage), tuple(dict.fromkeys(actions))))
    return tuple(result)


_LINT_KEYS = {"code", "obstacle", "plan_mentions", "plan_lacks", "message"}


def _parse_plan_lint(raw_list: Any, sets: list[OptionSetDef], where: str) -> tuple[PlanLintDef, ...]:
    if raw_list is None:
        return ()
    if not isinstance(raw_list, list):
        raise PackError(f"{where}: must be a list")
    obstacles = _codes(sets, "obstacle")
    result: list[PlanLintDef] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_list):
        item_where = f"{where}[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not _SLUG.fullmatch(raw["code"]):
            raise PackError(f"{item_where}: needs a code of lower-case letters, digits and _")
        unknown = set(raw) - _LINT_KEYS
        if unknown:
            raise PackError(f"{item_where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        if raw["code"] in seen:
            raise PackError(f"{item_where}: duplicate code {raw['code']!r}")
        seen.add(raw["code"])
        if raw.get("obstacle") not in obstacles:
            raise PackError(f"{item_where}.obstacle: not an obstacle of this pack: {raw.get('obstacle')!r}")
        kinds = [k for k in ("plan_mentions", "plan_lacks") if k in raw]
        if len(kinds) != 1:
            raise PackError(f"{item_where}: needs exactly one of plan_mentions, plan_lacks")
        phrases = raw[kinds[0]]
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise PackError(f"{item_where}.{kinds[0]}: needs a list of phrases")
        kind = LINT_MENTIONS if kinds[0] == "plan_mentions" else LINT_LACKS
        zh, en = _text(raw.get("message"), f"{item_where}.message")
        result.append(PlanLintDef(raw["code"], raw["obstacle"], kind, tuple(p.strip() for p in phrases), zh, en))
    return tuple(result)


def available_packs(directory: Path = PACKS_DIR) -> list[str]:
    """Codes of the packs shipped in `packs/`."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def read_pack(code: str, directory: Path = PACKS_DIR) -> PackDef:
    """Read packs/<code>.yaml and check it whole; `code` is a slug (never a path)."""
    if not _SLUG.fullmatch(code):
        raise PackError(f"no template pack {code!r}")
    path = directory / f"{code}.yaml"
    if not path.is_file():
        raise PackError(f"no template pack {code!r}; available: {', '.join(available_packs(directory)) or 'none'}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PackError(f"{path.name}: not valid YAML: {exc}") from None
    return parse_pack(data, where=path.name)


def _text(data: Any, where: str) -> tuple[str, str]:
    if not isinstance(data, dict) or not isinstance(data.get("zh"), str) or not isinstance(data.get("en"), str):
        raise PackError(f"{where}: needs zh and en texts")
    return data["zh"], data["en"]


def parse_pack(data: Any, *, where: str = "pack") -> PackDef:
    """Check a pack's structure: every option set of CHOICE_FIELDS, rules over known fields."""
    if not isinstance(data, dict):
        raise PackError(f"{where}: must be a mapping")
    code = data.get("code")
    if not isinstance(code, str) or not _SLUG.fullmatch(code):
        raise PackError(f"{where}: needs a code of lower-case letters, digits and _ (at most 50)")
    name_zh, name_en = _text(data.get("name"), f"{where}.name")
    sets: list[OptionSetDef] = []
    raw_sets = data.get("option_sets") or {}
    if not isinstance(raw_sets, dict):
        raise PackError(f"{where}.option_sets: must be a mapping")
    for set_code, raw in raw_sets.items():
        set_where = f"{where}.option_sets.{set_code}"
        if not isinstance(raw, dict):
            raise PackError(f"{set_where}: must be a mapping")
        set_zh, set_en = _text(raw.get("name"), f"{set_where}.name")
        options: list[OptionDef] = []
        seen: set[str] = set()
        for i, opt in enumerate(raw.get("options") or []):
            opt_where = f"{set_where}.options[{i}]"
            if not isinstance(opt, dict) or not isinstance(opt.get("code"), str) or not _SLUG.fullmatch(opt["code"]):
                raise PackError(f"{opt_where}: needs a code of lower-case letters, digits and _")
            if opt["code"] in seen:
                raise PackError(f"{opt_where}: duplicate code {opt['code']!r}")
            seen.add(opt["code"])
            zh, en = _text(opt, opt_where)
            options.append(OptionDef(opt["code"], zh, en, bool(opt.get("terminal", False))))
        if not options:
            raise PackError(f"{set_where}: has no options")
        sets.append(OptionSetDef(str(set_code), set_zh, set_en, tuple(options)))
    missing = set(CHOICE_FIELDS.values()) - {s.code for s in sets}
    if missing:
        raise PackError(f"{where}: missing option sets {', '.join(sorted(missing))}")

    rules: list[RuleDef] = []
    for i, raw in enumerate(data.get("rules") or []):
        rule_where = f"{where}.rules[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not _SLUG.fullmatch(raw["code"]):
            raise PackError(f"{rule_where}: needs a code of lower-case letters, digits and _")
        condition = raw.get("when") or {}
        try:
            parse_condition(condition, fields=ACTION_FIELDS, where=f"{rule_where}.when")
        except ConditionError as exc:
            raise PackError(str(exc)) from None
        requires = raw.get("require")
        try:
            parse_requires(requires, fields=REQUIRABLE_FIELDS, where=f"{rule_where}.require")
        except ConditionError as exc:
            raise PackError(str(exc)) from None
        zh, en = _text(raw.get("message"), f"{rule_where}.message")
        written = tuple(tuple(r) if isinstance(r, list) else r for r in requires or ())
        rules.append(RuleDef(raw["code"], dict(condition), written, zh, en))

    thresholds: list[ThresholdDef] = []
    for t_code, raw in (data.get("thresholds") or {}).items():
        t_where = f"{where}.thresholds.{t_code}"
        if not isinstance(t_code, str) or not _SLUG.fullmatch(t_code):
            raise PackError(f"{t_where}: a threshold's code is lower-case letters, digits and _")
        value = raw.get("value") if isinstance(raw, dict) else raw
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise PackError(f"{t_where}: not a number: {value!r}") from None
        zh, en = _text(raw, t_where) if isinstance(raw, dict) else ("", "")
        thresholds.append(ThresholdDef(str(t_code), number, zh, en))

    policies: list[tuple[str, Any]] = []
    raw_policies = data.get("policies") or {}
    if not isinstance(raw_policies, dict):
        raise PackError(f"{where}.policies: must be a mapping")
    for p_code, value in raw_policies.items():
        if p_code not in POLICY_CHECKS:
            raise PackError(f"{where}.policies.{p_code}: unknown policy; known: {', '.join(sorted(POLICY_CHECKS))}")
        expected, check = POLICY_CHECKS[p_code]
        if not check(value):
            raise PackError(f"{where}.policies.{p_code}: must be {expected}, got {value!r}")
        policies.append((str(p_code), value))
    responses = dict(policies).get("high_value_responses")
    if responses is not None:
        unknown_responses = sorted(set(responses) - _codes(sets, "response_strength"))
        if unknown_responses:
            raise PackError(
                f"{where}.policies.high_value_responses: unknown response_strength codes {', '.join(unknown_responses)}"
            )

    version = data.get("version", 1)
    if not isinstance(version, int):
        raise PackError(f"{where}.version: must be an integer")
    follow_ups = _parse_follow_ups(data.get("follow_ups"), f"{where}.follow_ups")
    return PackDef(
        code,
        version,
        name_zh,
        name_en,
        tuple(sets),
        tuple(rules),
        tuple(thresholds),
        follow_ups,
        tuple(policies),
        _parse_effective_actions(data.get("effective_actions"), sets, f"{where}.effective_actions"),
        _parse_plan_lint(data.get("plan_lint"), sets, f"{where}.plan_lint"),
    )


# --- what applying a pack would change (Settings › Templates' preview). Pure: two packs in. ----------


@dataclass(frozen=True)
class PackChange:
    """One line of a preview: what kind of change, to what, and the words before and after."""

    area: str  # option / rule / threshold / follow_up / policy
    change: str  # added / renamed / changed / retired
    key: str  # "stage.lead", a rule's code, a threshold's code …
    before: str = ""
    after: str = ""


def pack_diff(
    current: PackDef, new: PackDef, *, kept_rules: frozenset[str] = frozenset(),
    kept_follow_ups: frozenset[str] = frozenset(),
) -> list[PackChange]:  # fmt: skip
    """What loading `new` over the settings `current` (as exported) changes. Options and pack rules
    the new pack does not list are retired; `kept_rules` / `kept_follow_ups` (made in Settings, or by
    another pack) stay in force and are not listed."""
    changes: list[PackChange] = []
    now_sets = {s.code: {o.code: o for o in s.options} for s in current.option_sets}
    for option_set in new.option_sets:
        before = now_sets.get(option_set.code, {})
        for opt in option_set.options:
            old = before.get(opt.code)
            key = f"{option_set.code}.{opt.code}"
            if old is None:
                changes.append(PackChange("option", "added", key, after=f"{opt.label_zh} / {opt.label_en}"))
            elif (old.label_zh, old.label_en) != (opt.label_zh, opt.label_en):
                changes.append(
                    PackChange(
                        "option", "renamed", key, f"{old.label_zh} / {old.label_en}", f"{opt.label_zh} / {opt.label_en}"
                    )
                )
        listed = {o.code for o in option_set.options}
        for code, old in before.items():
            if code not in listed:
                changes.append(PackChange("option", "retired", f"{option_set.code}.{code}", before=old.label_zh))
    now_rules = {r.code: r for r in current.rules}
    for rule in new.rules:
        old_rule = now_rules.get(rule.code)
        if old_rule is None:
            changes.append(PackChange("rule", "added", rule.code, after=rule.message_zh))
        elif (old_rule.condition, old_rule.requires, old_rule.message_zh) != (
            rule.condition,
            rule.requires,
            rule.message_zh,
        ):
            changes.append(PackChange("rule", "changed", rule.code, old_rule.message_zh, rule.message_zh))
    listed_rules = {r.code for r in new.rules}
    for code, old_rule in now_rules.items():
        if code not in listed_rules and code not in kept_rules:
            changes.append(PackChange("rule", "retired", code, before=old_rule.message_zh))
    now_thresholds = {t.code: t.value for t in current.thresholds}
    for t in new.thresholds:
        if t.code not in now_thresholds:
            changes.append(PackChange("threshold", "added", t.code, after=str(t.value)))
        elif now_thresholds[t.code] != t.value:
            changes.append(PackChange("threshold", "changed", t.code, str(now_thresholds[t.code]), str(t.value)))
    now_follow_ups = {f.code: f for f in current.follow_ups}
    for f in new.follow_ups:
        old_f = now_follow_ups.get(f.code)
        if old_f is None:
            changes.append(PackChange("follow_up", "added", f.code, after=f.title_zh))
        elif (old_f.condition, old_f.due_working_days, old_f.title_zh) != (f.condition, f.due_working_days, f.title_zh):
            changes.append(PackChange("follow_up", "changed", f.code, old_f.title_zh, f.title_zh))
    listed_follow_ups = {f.code for f in new.follow_ups}
    for code, old_f in now_follow_ups.items():
        if code not in listed_follow_ups and code not in kept_follow_ups:
            changes.append(PackChange("follow_up", "retired", code, before=old_f.title_zh))
    now_policies = dict(current.policies)
    for code, value in new.policies:
        if now_policies.get(code) != value:
            shown = json.dumps(now_policies[code], ensure_ascii=False) if code in now_policies else ""
            changes.append(PackChange("policy", "changed", code, shown, json.dumps(value, ensure_ascii=False)))
    return changes
