"""The rule language and evaluator, without a database."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salestrace.catalog.packs import ACTION_FIELDS, REQUIRABLE_FIELDS
from salestrace.catalog.rules import ConditionError, RuleSpec, evaluate, is_blank, parse_condition, parse_requires

PRICE = RuleSpec(
    "price",
    parse_condition({"field": "stage", "equals": "price_negotiation"}),
    parse_requires(["obstacle", "next_step_plan", "next_step_date"]),
    "价格谈判阶段必须填写障碍类型",
    "Obstacle required",
)
SUMMARY = RuleSpec(
    "summary",
    parse_condition({"field": "contact_method", "in": ["wechat", "phone"]}),
    parse_requires(["summary"]),
    "微信或电话沟通必须填写沟通摘要",
    "Summary required",
)


def test_price_negotiation_requires_obstacle_and_next_step() -> None:
    # given a price negotiation with nothing else filled
    values = {"stage": "price_negotiation", "contact_method": "visit"}
    # when
    violations = evaluate(values, [PRICE, SUMMARY])
    # then every missing field is reported, with the rule's message
    assert [v.field for v in violations] == ["obstacle", "next_step_plan", "next_step_date"]
    assert {v.message_zh for v in violations} == {"价格谈判阶段必须填写障碍类型"}


def test_all_violations_from_all_rules_are_reported_together() -> None:
    values = {"stage": "price_negotiation", "contact_method": "wechat", "summary": "  "}
    fields = [v.field for v in evaluate(values, [PRICE, SUMMARY])]
    assert fields == ["obstacle", "next_step_plan", "next_step_date", "summary"]


def test_no_violation_when_condition_does_not_hold() -> None:
    assert evaluate({"stage": "lead", "contact_method": "visit"}, [PRICE, SUMMARY]) == []


def test_filled_fields_satisfy_the_rule() -> None:
    values = {
        "stage": "price_negotiation",
        "contact_method": "phone",
        "obstacle": "budget_shortage",
        "next_step_plan": "重新报价",
        "next_step_date": "2026-11-30",
        "summary": "客户要求降价5%",
    }
    assert evaluate(values, [PRICE, SUMMARY]) == []


def test_a_field_required_twice_is_reported_once_with_the_first_message() -> None:
    again = RuleSpec("again", parse_condition({}), parse_requires(["obstacle"]), "请选择障碍类型", "Choose")
    violations = evaluate({"stage": "price_negotiation"}, [PRICE, again])
    assert [v.field for v in violations].count("obstacle") == 1
    assert violations[0].rule == "price"


@pytest.mark.parametrize(
    ("condition", "values", "holds"),
    [
        ({}, {}, True),
        ({"field": "stage", "equals": "lead"}, {"stage": "lead"}, True),
        ({"field": "stage", "equals": "lead"}, {"stage": "won"}, False),
        ({"field": "obstacle", "is_empty": True}, {"obstacle": ""}, True),
        ({"field": "obstacle", "is_empty": False}, {"obstacle": "budget_shortage"}, True),
        ({"not": {"field": "stage", "equals": "lead"}}, {"stage": "won"}, True),
        (
            {"all": [{"field": "stage", "equals": "lead"}, {"field": "contact_method", "in": ["visit"]}]},
            {"stage": "lead", "contact_method": "phone"},
            False,
        ),
        (
            {"any": [{"field": "stage", "equals": "lead"}, {"field": "contact_method", "in": ["visit"]}]},
            {"stage": "won", "contact_method": "visit"},
            True,
        ),
    ],
)
def test_condition_language(condition: dict[str, object], values: dict[str, object], holds: bool) -> None:
    assert parse_condition(condition, fields=ACTION_FIELDS).holds(values) is holds


@pytest.mark.parametrize(
    ("condition", "complaint"),
    [
        ([], "must be a mapping"),
        ({"field": "colour", "equals": "red"}, "unknown field 'colour'"),
        ({"field": "stage"}, "exactly one of"),
        ({"field": "stage", "in": "lead"}, "'in' must hold a list"),
        ({"all": {}}, "hold a list"),
        ({"field": "stage", "is_empty": "yes"}, "true or false"),
    ],
)
def test_bad_conditions_are_refused_with_the_place(condition: object, complaint: str) -> None:
    with pytest.raises(ConditionError, match=complaint):
        parse_condition(condition, fields=ACTION_FIELDS)


@given(st.text())
def test_blank_means_only_whitespace(text: str) -> None:
    # A byte-order mark counts as whitespace too (JavaScript's \s includes it; rules.js agrees).
    assert is_blank(text) == (text.replace("\ufeff", " ").strip() == "")


@given(st.dictionaries(st.sampled_from(sorted(ACTION_FIELDS)), st.one_of(st.none(), st.text(max_size=5))))
def test_every_violation_names_a_required_blank_field(values: dict[str, object]) -> None:
    for violation in evaluate(values, [PRICE, SUMMARY]):
        assert is_blank(values.get(violation.field))
        assert (violation.field,) in PRICE.requires + SUMMARY.requires


WECHAT = RuleSpec(
    "wechat",
    parse_condition({"field": "contact_method", "equals": "wechat"}),
    parse_requires([["summary", "evidence_screenshot"]]),
    "微信沟通需填写摘要或上传聊天截图",
    "A WeChat contact needs a summary or a screenshot",
)
VISIT = RuleSpec(
    "visit",
    parse_condition({"field": "contact_method", "equals": "visit"}),
    parse_requires(["evidence_photo"]),
    "面访必须上传现场照片",
    "A visit needs an on-site photo",
)


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"contact_method": "wechat"}, ["summary"]),
        ({"contact_method": "wechat", "summary": "客户要样品"}, []),
        ({"contact_method": "wechat", "evidence_screenshot": ["screenshot"]}, []),
        ({"contact_method": "wechat", "summary": " ", "evidence_screenshot": []}, ["summary"]),
        ({"contact_method": "visit"}, ["evidence_photo"]),
        ({"contact_method": "visit", "evidence_photo": ["photo"]}, []),
    ],
)
def test_a_choice_of_fields_is_met_by_any_one_and_reported_on_the_first(
    values: dict[str, object], fields: list[str]
) -> None:
    assert [v.field for v in evaluate(values, [WECHAT, VISIT])] == fields


@pytest.mark.parametrize(
    ("requires", "problem"),
    [
        ([], "needs a list"),
        ("summary", "needs a list"),
        ([[]], "requires[0]"),
        ([["summary", 3]], "requires[0]"),
        (["summary", ["evidence_selfie"]], "unknown fields evidence_selfie"),
    ],
)
def test_broken_requirements_are_refused_with_the_place(requires: object, problem: str) -> None:
    with pytest.raises(ConditionError, match=re.escape(problem)):
        parse_requires(requires, fields=REQUIRABLE_FIELDS)
