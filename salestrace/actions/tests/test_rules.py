"""Entry checks of an action draft, without a database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from salestrace.actions.rules import ActionDraft, check_draft
from salestrace.catalog.rules import RuleSpec, parse_condition, parse_requires

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=SH)
CODES = {
    "contact_method": frozenset({"visit", "phone", "wechat", "email"}),
    "stage": frozenset({"lead", "price_negotiation"}),
    "key_action": frozenset({"send_quote"}),
    "obstacle": frozenset({"budget_shortage"}),
    "emotion": frozenset({"neutral"}),
}
RULES = (
    RuleSpec(
        "price",
        parse_condition({"field": "stage", "equals": "price_negotiation"}),
        (("obstacle",),),
        "价格谈判阶段必须填写障碍类型",
        "Obstacle required",
    ),
)


def check(
    draft: ActionDraft, *, rules: tuple[RuleSpec, ...] = RULES, evidence_kinds: list[str] | None = None
) -> list[tuple[str, str]]:
    problems = check_draft(
        draft,
        active_codes=CODES,
        rules=rules,
        now=NOW,
        backdate=timedelta(days=30),
        clock_skew=timedelta(minutes=5),
        local_tz=SH,
        evidence_kinds=evidence_kinds or [],
    )
    return [(p.field, p.code) for p in problems]


def test_a_valid_draft_has_no_problem() -> None:
    assert check(ActionDraft(NOW, "visit", "price_negotiation", obstacle="budget_shortage")) == []


def test_unknown_codes_are_reported_per_field() -> None:
    draft = ActionDraft(NOW, "fax", "lead", key_action="bribe", emotion="neutral")
    assert check(draft) == [("contact_method", "invalid_choice"), ("key_action", "invalid_choice")]


def test_an_unknown_code_is_not_also_called_missing() -> None:
    draft = ActionDraft(NOW, "visit", "price_negotiation", obstacle="aliens")
    assert check(draft) == [("obstacle", "invalid_choice")]


def test_future_time_is_refused_beyond_clock_skew() -> None:
    assert check(ActionDraft(NOW + timedelta(minutes=4), "visit", "lead")) == []
    assert check(ActionDraft(NOW + timedelta(minutes=6), "visit", "lead")) == [("occurred_at", "in_future")]


def test_time_older_than_backdate_window_is_refused() -> None:
    assert check(ActionDraft(NOW - timedelta(days=29), "visit", "lead")) == []
    assert check(ActionDraft(NOW - timedelta(days=31), "visit", "lead")) == [("occurred_at", "too_old")]


def test_next_step_before_the_action_day_in_shanghai_is_refused() -> None:
    # 00:30 on the 26th in Shanghai is still the 25th in UTC: the local day is what counts.
    early = datetime(2026, 11, 26, 0, 30, tzinfo=SH)
    assert check(ActionDraft(early, "visit", "lead", next_step_date=date(2026, 11, 26))) == []
    assert check(ActionDraft(early, "visit", "lead", next_step_date=date(2026, 11, 25))) == [
        ("next_step_date", "before_occurred")
    ]


@given(st.integers(min_value=-40 * 24 * 60, max_value=60))
def test_the_time_window_is_exactly_skew_ahead_and_backdate_behind(minutes: int) -> None:
    at = NOW + timedelta(minutes=minutes)
    fields = {field for field, _ in check(ActionDraft(at, "visit", "lead"))}
    allowed = NOW - timedelta(days=30) <= at <= NOW + timedelta(minutes=5)
    assert ("occurred_at" not in fields) == allowed


def test_attached_files_meet_the_rules_that_require_evidence() -> None:
    rules = (
        RuleSpec(
            "visit",
            parse_condition({"field": "contact_method", "equals": "visit"}),
            parse_requires(["evidence_photo"]),
            "面访必须上传现场照片",
            "A visit needs a photo",
        ),
        RuleSpec(
            "wechat",
            parse_condition({"field": "contact_method", "equals": "wechat"}),
            parse_requires([["summary", "evidence_screenshot"]]),
            "微信沟通需摘要或截图",
            "Summary or screenshot",
        ),
    )

    def problems(draft: ActionDraft, kinds: list[str]) -> list[tuple[str, str]]:
        return check(draft, rules=rules, evidence_kinds=kinds)

    assert problems(ActionDraft(NOW, "visit", "lead"), []) == [("evidence_photo", "required")]
    assert problems(ActionDraft(NOW, "visit", "lead"), ["screenshot"]) == [("evidence_photo", "required")]
    assert problems(ActionDraft(NOW, "visit", "lead"), ["photo"]) == []
    assert problems(ActionDraft(NOW, "wechat", "lead"), []) == [("summary", "required")]
    assert problems(ActionDraft(NOW, "wechat", "lead"), ["screenshot"]) == []
    assert problems(ActionDraft(NOW, "wechat", "lead", summary="店长要样品"), []) == []
