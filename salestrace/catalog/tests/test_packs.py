"""Template packs: parsing, and loading them idempotently into the catalog."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from salestrace.catalog.models import Option, Rule, TemplatePack, Threshold
from salestrace.catalog.packs import CHOICE_FIELDS, PackError, available_packs, parse_pack, read_pack
from salestrace.catalog.services import catalog_changed, template_load


def minimal_pack(**overrides: Any) -> dict[str, Any]:
    pack: dict[str, Any] = {
        "code": "mini",
        "name": {"zh": "迷你", "en": "Mini"},
        "option_sets": {
            code: {"name": {"zh": code, "en": code}, "options": [{"code": "a", "zh": "甲", "en": "A"}]}
            for code in CHOICE_FIELDS.values()
        },
        "rules": [],
    }
    pack.update(overrides)
    return pack


@pytest.mark.parametrize("code", ["fmcg", "b2b_industrial"])
def test_shipped_packs_parse_and_carry_the_seed_rules(code: str) -> None:
    pack = read_pack(code)
    sets = {s.code: {o.code for o in s.options} for s in pack.option_sets}
    assert {"visit", "phone", "wechat", "email"} <= sets["contact_method"]
    assert [o.code for o in next(s for s in pack.option_sets if s.code == "stage").options] == [
        "lead",
        "needs_confirmed",
        "solution_compare",
        "price_negotiation",
        "contract_signing",
        "won",
        "lost",
    ]
    assert {"technical_doubt", "budget_shortage", "complex_decision_chain", "competitor_interference"} <= sets[
        "obstacle"
    ]
    assert sets["emotion"] == {"positive", "neutral", "resistant"}
    assert sets["response_strength"] == {"active_question", "confirm_details", "request_delay", "explicit_refusal"}
    required = {
        (r.condition.get("field"), str(r.condition.get("equals") or r.condition.get("in")), f)
        for r in pack.rules
        for f in r.requires
    }
    assert ("stage", "price_negotiation", "obstacle") in required
    assert ("stage", "price_negotiation", "next_step_plan") in required
    assert ("stage", "price_negotiation", "next_step_date") in required
    # seed 二/三: a visit needs a photo; WeChat a summary or a screenshot; a call a summary or the recording
    assert ("contact_method", "visit", "evidence_photo") in required
    assert ("contact_method", "wechat", ("summary", "evidence_screenshot")) in required
    assert ("contact_method", "phone", ("summary", "evidence_audio")) in required


def test_available_packs_lists_the_shipped_ones() -> None:
    assert {"fmcg", "b2b_industrial"} <= set(available_packs())


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"code": ""}, "needs a code"),
        ({"name": {"zh": "x"}}, "needs zh and en"),
        (
            {
                "rules": [
                    {
                        "code": "r",
                        "when": {"field": "colour", "equals": 1},
                        "require": ["summary"],
                        "message": {"zh": "x", "en": "x"},
                    }
                ]
            },
            "unknown field 'colour'",
        ),
        (
            {"rules": [{"code": "r", "when": {}, "require": ["shoe_size"], "message": {"zh": "x", "en": "x"}}]},
            "unknown fields shoe_size",
        ),
        (
            {"rules": [{"code": "r", "when": {}, "require": [], "message": {"zh": "x", "en": "x"}}]},
            "needs a list of field names",
        ),
        ({"thresholds": {"x": "many"}}, "not a number"),
    ],
)
def test_a_broken_pack_is_refused_with_the_place(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(PackError, match=complaint):
        parse_pack(minimal_pack(**change))


def test_a_pack_missing_an_option_set_is_refused() -> None:
    pack = minimal_pack()
    del pack["option_sets"]["emotion"]
    with pytest.raises(PackError, match="missing option sets emotion"):
        parse_pack(pack)


def test_loading_twice_changes_nothing_the_second_time(db: None, now: Any) -> None:
    template_load(code="fmcg", now=now)
    before = list(Option.objects.values_list("option_set__code", "code", "label_zh", "is_active").order_by("pk"))
    report = template_load(code="fmcg", now=now)
    assert (report.options_created, report.options_updated, report.options_deactivated) == (0, 0, 0)
    assert (
        list(Option.objects.values_list("option_set__code", "code", "label_zh", "is_active").order_by("pk")) == before
    )
    assert Rule.objects.filter(is_active=True).count() == len(read_pack("fmcg").rules)


def test_switching_pack_deactivates_options_it_drops_and_never_deletes(db: None, now: Any) -> None:
    template_load(code="fmcg", now=now)
    count = Option.objects.count()
    template_load(code="b2b_industrial", now=now)
    shelf = Option.objects.get(option_set__code="key_action", code="store_check")
    assert not shelf.is_active
    assert Option.objects.get(option_set__code="key_action", code="factory_tour").is_active
    assert Option.objects.count() >= count
    # and back: the FMCG option is active again, the B2B-only one is not
    template_load(code="fmcg", now=now)
    assert Option.objects.get(option_set__code="key_action", code="store_check").is_active
    assert not Option.objects.get(option_set__code="key_action", code="factory_tour").is_active
    assert not Rule.objects.get(code="obstacle_required").is_active
    assert set(TemplatePack.objects.values_list("code", flat=True)) == {"fmcg", "b2b_industrial"}


def test_a_reload_updates_labels_in_place(db: None, now: Any) -> None:
    template_load(code="fmcg", now=now)
    option = Option.objects.get(option_set__code="obstacle", code="budget_shortage")
    Option.objects.filter(pk=option.pk).update(label_zh="旧名字")
    template_load(code="fmcg", now=now)
    option.refresh_from_db()
    assert option.label_zh == "预算不足"


def test_thresholds_come_from_the_pack(db: None, now: Any) -> None:
    template_load(code="fmcg", now=now)
    assert Threshold.objects.get(code="vitality_yellow_days").value == 15


def test_load_template_command(db: None) -> None:
    out = StringIO()
    call_command("load_template", "fmcg", stdout=out)
    assert "loaded fmcg" in out.getvalue()
    with pytest.raises(CommandError, match="no template pack 'nope'; available: b2b_industrial, fmcg"):
        call_command("load_template", "nope")


def test_options_and_rules_are_served_in_the_request_language(personas: Any, api_as: Any) -> None:
    options = {s["code"]: s for s in api_as(personas.alice, language="en").get("/options").json()}
    assert [o["label"] for o in options["emotion"]["options"]] == ["Positive", "Neutral", "Resistant"]
    zh = {s["code"]: s for s in api_as(personas.alice).get("/options").json()}
    assert zh["stage"]["name"] == "客户阶段"
    assert [o["code"] for o in zh["stage"]["options"] if o["is_terminal"]] == ["won", "lost"]
    rules = api_as(personas.alice).get("/rules").json()
    price = next(r for r in rules if r["code"] == "price_negotiation_requires_obstacle")
    assert price["condition"] == {"field": "stage", "equals": "price_negotiation"}
    assert price["message"] == "价格谈判阶段必须填写障碍类型"


def test_the_admin_only_shows_rules(admin_client: Any, db: None, now: Any) -> None:
    # rules are changed in Settings › Rules, through the services that check them and keep their history
    template_load(code="fmcg", now=now)
    rule = Rule.objects.get(code="emotion_required")
    assert admin_client.get("/admin/catalog/rule/").status_code == 200
    assert admin_client.get("/admin/catalog/rule/add/").status_code == 403
    post = {"code": rule.code, "condition": "{}", "requires": "[]", "message_zh": "x", "message_en": "x", "position": 0}
    admin_client.post(f"/admin/catalog/rule/{rule.pk}/change/", post)
    assert Rule.objects.get(pk=rule.pk).message_zh == "请选择客户情绪"


def test_a_broken_rule_in_the_database_is_skipped_not_fatal(
    db: None, now: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from salestrace.catalog.selectors import catalog_snapshot

    template_load(code="fmcg", now=now)
    Rule.objects.create(
        code="broken", condition={"field": "stage"}, requires=["summary"], message_zh="x", message_en="x"
    )
    snapshot = catalog_snapshot()
    assert "broken" not in {r.code for r in snapshot.rules}
    assert "price_negotiation_requires_obstacle" in {r.code for r in snapshot.rules}
    assert "broken" in caplog.text


def test_the_cached_catalog_follows_changes_from_any_writer(db: None, now: Any) -> None:
    from salestrace.catalog.selectors import catalog_snapshot

    template_load(code="fmcg", now=now)
    first = catalog_snapshot()
    assert catalog_snapshot() is first  # unchanged catalog: served from the cache
    Option.objects.filter(option_set__code="obstacle", code="shelf_space").update(is_active=False)
    catalog_changed()
    assert "shelf_space" not in catalog_snapshot().active_codes["obstacle"]


def test_admin_edits_expire_the_cached_catalog(admin_client: Any, db: None, now: Any) -> None:
    from salestrace.catalog.models import EffectiveAction
    from salestrace.catalog.selectors import catalog_version, effective_key_actions

    template_load(code="fmcg", now=now)
    before = catalog_version()
    response = admin_client.post(
        "/admin/catalog/effectiveaction/add/", {"stage": "lead", "key_action": "store_check", "pack": ""}
    )
    assert response.status_code == 302, response.content
    assert EffectiveAction.objects.filter(stage="lead", key_action="store_check").exists()
    assert catalog_version() > before
    assert "store_check" in effective_key_actions()["lead"]


@pytest.mark.parametrize("code", ["fmcg", "b2b_industrial"])
def test_shipped_packs_carry_the_action_health_template(code: str) -> None:
    # when
    pack = read_pack(code)
    # then: seed 五's lines and key fields, the 2 h late line, 主动提问/确认细节 as high value
    thresholds = {t.code: t for t in pack.thresholds}
    assert thresholds["health_completeness_line"].value == Decimal("0.95")
    assert thresholds["health_timeliness_line"].value == Decimal("0.80")
    assert thresholds["health_effectiveness_line"].value == Decimal("0.68")
    assert thresholds["contact_quality_line"].value == Decimal("0.60")
    assert thresholds["late_entry_hours"].value == 2
    assert all(t.description_zh and t.description_en for t in thresholds.values())
    policies = dict(pack.policies)
    assert policies["health_key_fields"] == ["stage", "obstacle", "next_step_plan"]
    assert policies["high_value_responses"] == ["active_question", "confirm_details"]
    effective = {e.stage: e.key_actions for e in pack.effective_actions}
    assert "submit_custom_proposal" in effective["needs_confirmed"]  # seed 五③: 需求确认 → 定制方案
    lint = {rule.obstacle: rule for rule in pack.plan_lint}
    assert "等待客户回复" in lint["complex_decision_chain"].phrases
    assert lint["complex_decision_chain"].kind == "mentions"
    assert lint["budget_shortage"].kind == "lacks"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"effective_actions": {"won": ["a"]}}, "not a stage of this pack"),
        ({"effective_actions": {"a": ["fly"]}}, "unknown key actions fly"),
        ({"effective_actions": ["lead"]}, "must be a mapping"),
        (
            {
                "plan_lint": [
                    {"code": "x", "obstacle": "nope", "plan_mentions": ["等"], "message": {"zh": "x", "en": "x"}}
                ]
            },
            "not an obstacle of this pack",
        ),
        (
            {"plan_lint": [{"code": "x", "obstacle": "a", "message": {"zh": "x", "en": "x"}}]},
            "exactly one of plan_mentions, plan_lacks",
        ),
        (
            {"plan_lint": [{"code": "x", "obstacle": "a", "plan_lacks": [""], "message": {"zh": "x", "en": "x"}}]},
            "needs a list of phrases",
        ),
        ({"policies": {"health_key_fields": ["shoe_size"]}}, "health_key_fields: must be a list of action fields"),
        ({"policies": {"high_value_responses": ["shouting"]}}, "unknown response_strength codes shouting"),
    ],
)
def test_a_broken_health_template_is_refused_with_the_place(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(PackError, match=complaint):
        parse_pack(minimal_pack(**change))


def test_loading_a_pack_replaces_effective_actions_and_lint_rules(db: None, now: Any) -> None:
    from salestrace.catalog.models import EffectiveAction, PlanLintRule
    from salestrace.catalog.selectors import active_plan_lint_rules, effective_key_actions

    # given the B2B pack, then FMCG
    template_load(code="b2b_industrial", now=now)
    assert "decision_chain_mapping" in effective_key_actions()["solution_compare"]
    template_load(code="fmcg", now=now)
    # then only FMCG's pairs are left, each once, and its lint rules are active
    effective = effective_key_actions()
    assert "decision_chain_mapping" not in effective["solution_compare"]
    assert "payment_collection" in effective["contract_signing"]
    assert set(EffectiveAction.objects.values_list("pack", flat=True)) == {"fmcg"}
    assert EffectiveAction.objects.count() == sum(len(e.key_actions) for e in read_pack("fmcg").effective_actions)
    rules = active_plan_lint_rules()
    assert [r.code for r in rules] == [r.code for r in read_pack("fmcg").plan_lint]
    assert "等待客户回复" in rules[0].phrase_list
    # and a reload changes nothing
    template_load(code="fmcg", now=now)
    assert PlanLintRule.objects.filter(is_active=True).count() == len(rules)


def test_admin_offers_only_loaded_options_for_effective_actions(db: None, now: Any) -> None:
    from salestrace.catalog.admin import EffectiveActionForm, PlanLintRuleForm

    template_load(code="b2b_industrial", now=now)
    assert not EffectiveActionForm(data={"stage": "lead", "key_action": "fly", "pack": ""}).is_valid()
    form = EffectiveActionForm(data={"stage": "lead", "key_action": "factory_tour", "pack": ""})
    assert form.is_valid(), form.errors
    lint = PlanLintRuleForm(
        data={
            "code": "x",
            "obstacle": "shoe_size",
            "kind": "mentions",
            "phrases": "等",
            "message_zh": "x",
            "message_en": "x",
            "position": 0,
        }
    )
    assert "obstacle" in lint.errors


def test_the_django_admin_is_for_superusers_only(client: Any, personas: Any) -> None:
    from salestrace.org.models import Role, User

    staff_admin = User.objects.create_user(username="ops", password="x", role=Role.ADMIN, is_staff=True)
    client.force_login(staff_admin)
    assert client.get("/admin/").status_code == 302  # to the admin's login: not theirs
    assert client.get("/settings/rules/").status_code == 200  # Settings is
    client.force_login(personas.admin)  # a superuser
    assert client.get("/admin/").status_code == 200
