"""People and teams changed in Settings: a new rep gets a password shown once, a move between teams,
a leaver's customers handed on in one step (colleague or pool, each move recorded), every change in
the settings history; only configurers may."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from salestrace.catalog.models import SettingChange
from salestrace.catalog.services import setting_rollback
from salestrace.core.errors import PermissionDenied, RuleViolation
from salestrace.customers.models import Customer, PoolMove
from salestrace.customers.people import (
    PersonInput,
    person_create,
    person_deactivate,
    person_update,
    team_create,
    team_update,
)
from salestrace.customers.services import CustomerInput, customer_create
from salestrace.org.models import ApiToken, Role, User
from salestrace.org.services import api_token_create

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shops(owner: Any, now: datetime, n: int) -> list[Customer]:
    return [customer_create(user=owner, data=CustomerInput(name=f"门店{i}", kind="store"), now=now) for i in range(n)]


def test_a_new_rep_signs_in_with_the_password_shown_once(personas: Any, now: datetime) -> None:
    rep, password = person_create(
        by=personas.admin, username="zhangsan", data=PersonInput("张三", Role.REP, personas.east1.pk), now=now
    )
    assert User.objects.get(username="zhangsan").check_password(password)
    assert rep.password != password
    assert (SettingChange.objects.get(area="person").after or {})["team_id"] == personas.east1.pk
    with pytest.raises(RuleViolation) as refused:
        person_create(by=personas.admin, username="ZhangSan", data=PersonInput("", Role.REP, None), now=now)
    assert {e.field for e in refused.value.errors} == {"username", "display_name", "team_id"}
    for user in (personas.alice, personas.sam, personas.diana):
        with pytest.raises(PermissionDenied):
            person_create(by=user, username="lisi", data=PersonInput("李四", Role.REP, personas.east1.pk), now=now)


def test_a_move_between_teams_is_recorded_and_undone(personas: Any, now: datetime) -> None:
    moved = PersonInput("Alice", Role.REP, personas.west1.pk)
    assert person_update(by=personas.admin, user_id=personas.alice.pk, data=moved, now=now)
    assert User.objects.get(pk=personas.alice.pk).team_id == personas.west1.pk
    change = SettingChange.objects.get(area="person")
    setting_rollback(user=personas.admin, change_id=change.pk, now=now)
    assert User.objects.get(pk=personas.alice.pk).team_id == personas.east1.pk


def test_a_leavers_customers_go_to_a_colleague_in_one_step(personas: Any, now: datetime) -> None:
    mine = shops(personas.alice, now, 3)
    api_token_create(user=personas.alice, now=now)
    done = person_deactivate(
        by=personas.admin, user_id=personas.alice.pk, to_user_id=personas.bob.pk, reason="", now=now
    )
    assert (done.reassigned, done.pooled) == (3, 0)
    assert set(Customer.objects.filter(pk__in=[c.pk for c in mine]).values_list("owner_id", flat=True)) == {
        personas.bob.pk
    }
    assert PoolMove.objects.filter(kind="reassigned", from_owner=personas.alice, to_owner=personas.bob).count() == 3
    alice = User.objects.get(pk=personas.alice.pk)
    assert not alice.is_active
    assert not ApiToken.objects.filter(user=alice, revoked_at=None).exists()


def test_or_into_the_pool_each_as_a_release(personas: Any, now: datetime) -> None:
    shops(personas.bob, now, 2)
    done = person_deactivate(by=personas.admin, user_id=personas.bob.pk, to_user_id=None, reason="离职", now=now)
    assert (done.reassigned, done.pooled) == (0, 2)
    assert Customer.objects.filter(owner=personas.bob, status="dormant").count() == 2
    assert set(PoolMove.objects.values_list("kind", "reason")) == {("released", "离职")}
    with pytest.raises(RuleViolation):  # not twice, and never oneself
        person_deactivate(by=personas.admin, user_id=personas.bob.pk, to_user_id=None, reason="", now=now)
    with pytest.raises(RuleViolation):
        person_deactivate(by=personas.admin, user_id=personas.admin.pk, to_user_id=None, reason="", now=now)


def test_teams_are_added_renamed_and_never_put_under_themselves(personas: Any, now: datetime) -> None:
    south = team_create(by=personas.admin, name="华南大区", kind="region", parent_id=personas.east.parent_id, now=now)
    assert team_update(
        by=personas.admin, team_id=personas.east.pk, name="华东大区", kind="region", parent_id=south.pk, now=now
    )
    with pytest.raises(RuleViolation) as cycle:
        team_update(
            by=personas.admin, team_id=south.pk, name="华南大区", kind="region", parent_id=personas.east1.pk, now=now
        )
    assert [e.code for e in cycle.value.errors] == ["cycle"]
    with pytest.raises(RuleViolation):
        team_create(by=personas.admin, name="华南大区", kind="region", parent_id=personas.east.parent_id, now=now)


def test_the_pages_show_a_new_password_once_and_hand_on_a_leaver(personas: Any, now: datetime) -> None:
    admin = as_user(personas.admin)
    assert as_user(personas.sam).get("/settings/people/").status_code == 403
    page = admin.post(
        "/settings/people/",
        {"do": "add_person", "username": "wangwu", "display_name": "王五", "role": "rep", "team_id": personas.east1.pk},
    )
    found = re.search(r"data-secret>([^<]+)<", page.content.decode())
    assert found is not None
    assert User.objects.get(username="wangwu").check_password(found.group(1))
    assert found.group(1) not in admin.get("/settings/people/").content.decode()  # shown once
    assert found.group(1) not in str(list(SettingChange.objects.values_list("after", flat=True)))
    shops(personas.alice, now, 2)
    wangwu = User.objects.get(username="wangwu")
    left = admin.post(f"/settings/people/{personas.alice.pk}/", {"do": "leave", "to_user_id": wangwu.pk}, follow=True)
    assert "2 个客户已移交" in left.content.decode()
    assert Customer.objects.filter(owner=wangwu).count() == 2
    token = admin.post(f"/settings/people/{wangwu.pk}/", {"do": "token"})
    assert token["Cache-Control"] == "no-store"
    assert re.search(r"data-secret>(st_[^<]+)<", token.content.decode())


def test_nobody_takes_over_an_account_of_their_rank_or_above(personas: Any, now: datetime) -> None:
    from salestrace.catalog.models import Policy
    from salestrace.customers.people import person_issue_token, person_reset_password

    Policy.objects.update_or_create(code="directors_configure", defaults={"value": True})
    boss, _pw = person_create(by=personas.admin, username="boss", data=PersonInput("Boss", Role.ADMIN, None), now=now)
    for attempt in (
        lambda: person_reset_password(by=personas.diana, user_id=boss.pk, now=now),
        lambda: person_issue_token(by=personas.diana, user_id=boss.pk, name="", now=now),
        lambda: person_deactivate(by=personas.diana, user_id=personas.admin.pk, to_user_id=None, reason="", now=now),
        lambda: person_create(by=personas.diana, username="x", data=PersonInput("X", Role.ADMIN, None), now=now),
        lambda: person_update(
            by=personas.diana, user_id=personas.alice.pk, data=PersonInput("A", Role.ADMIN, None), now=now
        ),
        lambda: person_reset_password(by=boss, user_id=personas.admin.pk, now=now),  # an admin, a superuser
        lambda: person_create(by=boss, username="y", data=PersonInput("Y", Role.ADMIN, None), now=now),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert person_reset_password(by=personas.diana, user_id=personas.alice.pk, now=now)  # a rep: yes


def test_a_leavers_open_deals_and_tasks_go_along(personas: Any, now: datetime) -> None:
    from salestrace.catalog.models import Policy
    from salestrace.customers.services import DealInput, deal_create
    from salestrace.todos.models import Task

    Policy.objects.update_or_create(code="uses_deals", defaults={"value": True})
    (shop,) = shops(personas.alice, now, 1)
    deal = deal_create(user=personas.alice, customer_id=shop.pk, data=DealInput(title="年度合同"), now=now)
    Task.objects.create(assignee=personas.alice, title="回访", due_at=now, created_at=now, updated_at=now)
    person_deactivate(by=personas.admin, user_id=personas.alice.pk, to_user_id=personas.bob.pk, reason="", now=now)
    deal.refresh_from_db()
    assert deal.owner_id == personas.bob.pk
    assert Task.objects.get(title="回访").assignee_id == personas.bob.pk


def test_teams_never_loop_and_a_move_is_undone(personas: Any, now: datetime) -> None:
    assert team_update(
        by=personas.admin, team_id=personas.east1.pk, name="东一组", kind="team", parent_id=personas.east.pk, now=now
    )
    change = SettingChange.objects.get(area="team")
    setting_rollback(user=personas.admin, change_id=change.pk, now=now)
    assert personas.east1.__class__.objects.get(pk=personas.east1.pk).name == "East-1"


def test_an_edit_made_meanwhile_is_not_overwritten(personas: Any) -> None:
    admin = as_user(personas.admin)
    page = admin.get(f"/settings/people/{personas.alice.pk}/").content.decode()
    seen = re.search(r'name="seen" value="(\w+)"', page)
    assert seen is not None
    post = {"do": "save", "display_name": "Alice", "role": "rep", "team_id": personas.east1.pk, "seen": seen.group(1)}
    assert admin.post(f"/settings/people/{personas.alice.pk}/", {**post, "display_name": "艾丽斯"}).status_code == 302
    late = admin.post(f"/settings/people/{personas.alice.pk}/", {**post, "display_name": "晚到的修改"})
    assert late.status_code == 409
    assert User.objects.get(pk=personas.alice.pk).display_name == "艾丽斯"
