"""manage.py seed_demo: a believable, deterministic team whose log obeys the rules."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.rules import ActionDraft, check_draft
from salestrace.catalog.selectors import catalog_snapshot
from salestrace.customers.models import Customer, StageHistory
from salestrace.org.models import Role, User

pytestmark = pytest.mark.django_db


def seed(**options: Any) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **{"reps": 6, "customers": 80, "days": 60, **options})
    return out.getvalue()


def fingerprint() -> list[tuple[Any, ...]]:
    return list(
        ActionLog.objects.order_by("customer__name", "occurred_at").values_list(
            "customer__name", "rep__username", "stage", "key_action", "obstacle", "emotion"
        )
    )


def test_the_demo_team_has_the_documented_logins(now: Any) -> None:
    seed(reps=24)
    names = set(User.objects.values_list("username", flat=True))
    assert {"director", "sup1", "sup2", "sup3", "rep01", "rep24", "assistant", "admin"} <= names
    assert User.objects.get(username="rep07").check_password("demo")
    assert User.objects.filter(role=Role.REP).count() == 24
    assert all(u.team_id for u in User.objects.filter(role__in=[Role.REP, Role.SUPERVISOR]))


def test_the_same_seed_builds_the_same_log(now: Any) -> None:
    seed(seed=3)
    first = fingerprint()
    seed(seed=3, reset=True)
    assert fingerprint() == first
    seed(seed=4, reset=True)
    assert fingerprint() != first


def test_every_demo_action_would_pass_the_rules_at_entry(now: Any) -> None:
    # given a demo whose team switched the photo rule on 14 days ago
    seed(photo_days=14)
    snapshot = catalog_snapshot()
    photo_rule_since = now - timedelta(days=14)
    kinds: dict[int, list[str]] = {}
    for action_id, kind in Evidence.objects.values_list("action_id", "kind"):
        kinds.setdefault(action_id, []).append(kind)
    # then every action passes the rules, the evidence rules too since the switch
    for action in ActionLog.objects.all():
        draft = ActionDraft(**{f: getattr(action, f) for f in ActionDraft.__dataclass_fields__})
        rules = snapshot.rules
        if action.occurred_at < photo_rule_since:
            rules = tuple(r for r in rules if r.code != "visit_requires_photo")
        problems = check_draft(
            draft,
            active_codes=snapshot.active_codes,
            rules=rules,
            now=action.logged_at,
            backdate=timedelta(days=30),
            clock_skew=timedelta(minutes=5),
            local_tz=now.tzinfo,
            evidence_kinds=kinds.get(action.pk, []),
        )
        assert problems == [], (action.pk, problems)


def test_recent_demo_visits_carry_a_stamped_photo_that_agrees_with_the_visit(now: Any) -> None:
    seed(photo_days=14)
    photos = list(Evidence.objects.select_related("action"))
    recent_visits = ActionLog.objects.filter(contact_method="visit", occurred_at__gte=now - timedelta(days=14))
    assert photos
    assert len(photos) == recent_visits.count()
    for photo in photos:
        assert photo.kind == "photo"
        assert photo.derivative
        assert photo.flags == []
        assert photo.action is not None
        assert photo.customer_id == photo.action.customer_id
        assert photo.taken_at is not None
        assert abs(photo.taken_at - photo.action.occurred_at) < timedelta(minutes=21)
        with photo.original.open("rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == photo.sha256


def test_customers_agree_with_their_latest_action_and_history(now: Any) -> None:
    seed()
    for customer in Customer.objects.annotate(n=Count("actions")).filter(n__gt=0):
        latest = customer.actions.order_by("-occurred_at").first()
        assert latest is not None
        assert customer.stage == latest.stage
        assert customer.last_active_at == latest.occurred_at
        last_change = StageHistory.objects.filter(customer=customer).order_by("-changed_at", "-id").first()
        assert last_change is not None
        assert last_change.to_stage == customer.stage


def test_entry_delays_are_mostly_within_two_hours_with_a_late_tail(now: Any) -> None:
    seed()
    total = ActionLog.objects.count()
    late = ActionLog.objects.filter(logged_at__gt=F("occurred_at") + timedelta(hours=2)).count()
    assert total > 300
    assert 0.05 < late / total < 0.3
    assert not ActionLog.objects.filter(logged_at__lt=F("occurred_at")).exists()
    assert not ActionLog.objects.filter(occurred_at__gt=now).exists()


def test_seeding_twice_without_reset_is_refused_and_if_empty_is_quiet(now: Any) -> None:
    seed()
    with pytest.raises(CommandError, match="--reset"):
        seed()
    assert "not seeded again" in seed(if_empty=True)
