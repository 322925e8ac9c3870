"""The rule builder's dropdowns in and out of the rule language, and the rule services behind the
Settings pages: the one parser checks what the builder makes, every change is versioned, scoped to
configurers, refused on a concurrent edit, and undoable; a template reload keeps a manager's rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salestrace.catalog import rule_builder as rb
from salestrace.catalog.models import Rule, SettingChange
from salestrace.catalog.rules import parse_condition, parse_requires
from salestrace.catalog.selectors import catalog_snapshot
from salestrace.catalog.services import (
    RuleDraft,
    rule_create,
    rule_fingerprint,
    rule_set_active,
    rule_update,
    setting_rollback,
    template_load,
)
from salestrace.core.errors import Conflict, PermissionDenied, RuleViolation

ZH = rb.Words(
    fields={"stage": "客户阶段", "contact_method": "接触方式", "next_step_deliverable": "交付物", "summary": "沟通摘要",
            "evidence_screenshot": "微信截图", "obstacle": "障碍类型"},
    options={"stage": {"contract_signing": "合同签署", "won": "成交"}, "contact_method": {"wechat": "微信", "phone": "电话"}},
    operators={rb.EQUALS: "等于", rb.NOT_EQUALS: "不等于", rb.IN: "属于", rb.EMPTY: "为空", rb.FILLED: "已填写"},
    joins={"all": "且", "any": "或"},
    always="每条动作都",
    when="当 %(condition)s 时，",
    must="必须填写 %(fields)s",
    either="%(fields)s 其一",
    list_sep="、",
    or_sep=" 或 ",
)  # fmt: skip


def test_the_seed_rule_is_built_said_and_proposed_in_chinese() -> None:
    condition = rb.build_condition("all", [rb.Row("stage", rb.EQUALS, ("contract_signing",))])
    requires = rb.build_requires(["next_step_deliverable"], [])
    assert condition == {"field": "stage", "equals": "contract_signing"}
    assert requires == ["next_step_deliverable"]
    assert rb.describe(condition, requires, ZH) == "当 客户阶段 等于 合同签署 时，必须填写 交付物"
    assert rb.propose_message(condition, requires, ZH, english=False) == "合同签署阶段必须填写交付物"


def test_every_operator_makes_what_the_one_parser_accepts_and_comes_back_the_same() -> None:
    rows = [
        rb.Row("stage", rb.NOT_EQUALS, ("won",)),
        rb.Row("contact_method", rb.IN, ("wechat", "phone")),
        rb.Row("summary", rb.EMPTY),
        rb.Row("obstacle", rb.FILLED),
    ]
    condition = rb.build_condition("any", rows)
    assert condition == {
        "any": [
            {"not": {"field": "stage", "equals": "won"}},
            {"field": "contact_method", "in": ["wechat", "phone"]},
            {"field": "summary", "is_empty": True},
            {"field": "obstacle", "is_empty": False},
        ]
    }
    parse_condition(condition)  # the builder never makes what the parser refuses
    assert rb.builder_rows(condition) == ("any", rows)
    assert rb.describe(condition, ["obstacle"], ZH) == (
        "当 客户阶段 不等于 成交 或 接触方式 属于 微信、电话 或 沟通摘要 为空 或 障碍类型 已填写 时，必须填写 障碍类型"
    )


def test_one_of_several_fields_is_one_requirement() -> None:
    requires = rb.build_requires(["obstacle"], ["summary", "evidence_screenshot"])
    assert requires == ["obstacle", ["summary", "evidence_screenshot"]]
    parse_requires(requires)
    assert rb.split_requires(requires) == (["obstacle"], ["summary", "evidence_screenshot"])
    assert rb.describe({}, requires, ZH) == "每条动作都必须填写 障碍类型、沟通摘要 或 微信截图 其一"
    assert rb.build_requires([], ["summary"]) == ["summary"]  # a choice of one is a plain requirement


def test_an_incomplete_row_names_its_form_field() -> None:
    with pytest.raises(rb.BuilderError) as missing:
        rb.build_condition("all", [rb.Row("stage", rb.EQUALS, ())])
    assert (missing.value.where, missing.value.code) == ("cond-0-value", "missing")
    with pytest.raises(rb.BuilderError) as op:
        rb.build_condition("all", [rb.Row("stage", rb.EQUALS, ("won",)), rb.Row("stage", "like", ("x",))])
    assert op.value.where == "cond-1-op"
    assert rb.build_condition("all", []) == {}


def test_a_shape_the_builder_cannot_show_is_left_alone() -> None:
    nested = {"all": [{"any": [{"field": "stage", "equals": "won"}]}]}
    assert rb.builder_rows(nested) is None
    assert rb.describe(nested, ["summary"], ZH) == "当 … 时，必须填写 沟通摘要"
    assert rb.split_requires([["a", "b"], ["c", "d"]]) is None


codes = st.sampled_from(["won", "contract_signing", "lead"])
rows = st.lists(
    st.one_of(
        st.builds(rb.Row, st.just("stage"), st.sampled_from([rb.EQUALS, rb.NOT_EQUALS]), st.tuples(codes)),
        st.builds(rb.Row, st.just("stage"), st.just(rb.IN), st.lists(codes, min_size=2, max_size=3, unique=True).map(tuple)),
        st.builds(rb.Row, st.just("summary"), st.sampled_from([rb.EMPTY, rb.FILLED])),
    ),
    max_size=rb.MAX_ROWS,
)  # fmt: skip


@given(join=st.sampled_from(rb.JOINS), built=rows)
def test_whatever_the_builder_makes_parses_and_reads_back(join: str, built: list[rb.Row]) -> None:
    condition = rb.build_condition(join, built)
    parse_condition(condition)
    back = rb.builder_rows(condition)
    assert back is not None
    assert rb.build_condition(back[0], back[1]) == condition


# --- the services -----------------------------------------------------------------------------------

SEED = RuleDraft(
    {"field": "stage", "equals": "contract_signing"}, ["next_step_deliverable"], "合同签署阶段必须填写交付物", ""
)


@pytest.fixture
def loaded(personas: Any, now: datetime) -> None:
    template_load(code="fmcg", now=now)


@pytest.mark.django_db
def test_a_new_rule_is_in_force_at_once_recorded_and_undoable(personas: Any, loaded: None, now: datetime) -> None:
    rule = rule_create(user=personas.admin, draft=SEED, now=now)
    assert rule.code == "stage_contract_signing_needs_next_step_deliverable"
    assert rule.code in {r.code for r in catalog_snapshot().rules}
    change = SettingChange.objects.get(area="rule")
    assert (change.key, change.before, change.changed_by) == (rule.code, None, personas.admin)
    # rolling the addition back switches it off (actions were checked by it meanwhile)
    setting_rollback(user=personas.admin, change_id=change.pk, now=now + timedelta(minutes=1))
    assert not Rule.objects.get(code=rule.code).is_active
    assert rule.code not in {r.code for r in catalog_snapshot().rules}


@pytest.mark.django_db
def test_bad_drafts_are_refused_by_field_and_nothing_is_written(personas: Any, loaded: None, now: datetime) -> None:
    bad = RuleDraft({"field": "stage", "equals": "signed"}, [], "", "x" * 301)
    with pytest.raises(RuleViolation) as refused:
        rule_create(user=personas.admin, draft=bad, now=now)
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("condition", "unknown_option"),
        ("requires", "required"),
        ("message_zh", "required"),
        ("message_en", "too_long"),
    }
    text = RuleDraft({"field": "summary", "equals": "hello"}, ["obstacle"], "x", "")
    with pytest.raises(RuleViolation) as compared:
        rule_create(user=personas.admin, draft=text, now=now)
    assert [e.code for e in compared.value.errors] == ["not_a_choice"]
    assert not Rule.objects.filter(pack="").exists()
    assert not SettingChange.objects.exists()


@pytest.mark.django_db
def test_only_configurers_change_rules(personas: Any, loaded: None, now: datetime) -> None:
    from salestrace.catalog.models import Policy

    for user in (personas.alice, personas.sam, personas.fay, personas.diana):
        with pytest.raises(PermissionDenied):
            rule_create(user=user, draft=SEED, now=now)
    Policy.objects.update_or_create(code="directors_configure", defaults={"value": True})
    assert rule_create(user=personas.diana, draft=SEED, now=now).pk


@pytest.mark.django_db
def test_a_concurrent_edit_is_refused_not_overwritten(personas: Any, loaded: None, now: datetime) -> None:
    rule = rule_create(user=personas.admin, draft=SEED, now=now)
    seen = rule_fingerprint(rule)
    other = RuleDraft(SEED.condition, ["next_step_deliverable", "next_step_date"], "另一位主管的提示", "")
    assert rule_update(user=personas.admin, code=rule.code, draft=other, seen=seen, now=now)
    with pytest.raises(Conflict):
        rule_update(user=personas.admin, code=rule.code, draft=SEED, seen=seen, now=now)
    assert Rule.objects.get(code=rule.code).message_zh == "另一位主管的提示"


@pytest.mark.django_db
def test_switching_off_and_a_template_reload_keep_a_managers_rule(personas: Any, loaded: None, now: datetime) -> None:
    rule = rule_create(user=personas.admin, draft=SEED, now=now)
    template_load(code="fmcg", now=now)
    assert Rule.objects.get(code=rule.code).is_active  # not the template's to switch off
    assert rule_set_active(user=personas.admin, code=rule.code, active=False, now=now)
    assert not rule_set_active(user=personas.admin, code=rule.code, active=False, now=now)  # no change, no record
    assert SettingChange.objects.filter(area="rule").count() == 2
    # a pack rule the pack no longer lists is still switched off by a reload
    Rule.objects.create(
        code="old_pack_rule", condition={}, requires=["summary"], message_zh="x", message_en="x", pack="fmcg"
    )
    template_load(code="fmcg", now=now)
    assert not Rule.objects.get(code="old_pack_rule").is_active
