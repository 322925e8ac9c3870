"""Option sets a manager edits alone: codes made once from the name, renames that every form and the
API follow, reordering, retiring (never deleting), each change in the history and undoable."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from salestrace.catalog.codes import code_for, slug
from salestrace.catalog.models import Option, SettingChange
from salestrace.catalog.selectors import option_catalog
from salestrace.catalog.services import (
    option_add,
    option_move,
    option_rename,
    option_set_active,
    setting_rollback,
    template_load,
)
from salestrace.core.errors import Conflict, PermissionDenied, RuleViolation


def test_a_code_is_made_from_the_chinese_name_and_never_taken_twice() -> None:
    assert slug("预约演示") == "yu_yue_yan_shi"
    assert code_for("预约演示", "", {"yu_yue_yan_shi"}) == "yu_yue_yan_shi_2"
    assert code_for("", "Site visit!", set()) == "site_visit"
    assert code_for("", "", set()) == "option"
    assert code_for("3D 打印", "", set()) == "o_3d_da_yin"


pytestmark_db = pytest.mark.django_db


@pytest.fixture
def loaded(personas: Any, now: datetime) -> None:
    template_load(code="fmcg", now=now)


def order(set_code: str) -> list[str]:
    return list(Option.objects.filter(option_set__code=set_code).order_by("position").values_list("code", flat=True))


@pytestmark_db
def test_an_added_option_is_in_every_form_at_once_and_can_be_undone(personas: Any, loaded: None, now: datetime) -> None:
    # when the admin adds 抖音私信 to the contact methods
    option = option_add(
        user=personas.admin, set_code="contact_method", label_zh="抖音私信", label_en="Douyin DM", now=now
    )
    # then it has a code of its own, last in the set, offered by the catalog the forms read
    assert option.code == "dou_yin_si_xin"
    assert order("contact_method")[-1] == "dou_yin_si_xin"
    assert "dou_yin_si_xin" in dict(option_catalog().choices["contact_method"])
    # and rolling the addition back retires it (it might have been used meanwhile)
    change = SettingChange.objects.get()
    setting_rollback(user=personas.admin, change_id=change.pk, now=now + timedelta(minutes=1))
    assert not Option.objects.get(code="dou_yin_si_xin").is_active
    assert "dou_yin_si_xin" not in dict(option_catalog().choices["contact_method"])


@pytestmark_db
def test_names_and_codes_are_checked(personas: Any, loaded: None, now: datetime) -> None:
    with pytest.raises(RuleViolation) as same:
        option_add(user=personas.admin, set_code="contact_method", label_zh="电话", label_en="", now=now)
    assert same.value.errors[0].code == "duplicate"
    with pytest.raises(RuleViolation) as bad:
        option_add(user=personas.admin, set_code="contact_method", label_zh="短信", label_en="", code="SMS!", now=now)
    assert bad.value.errors[0].field == "code"
    with pytest.raises(RuleViolation) as empty:
        option_add(user=personas.admin, set_code="contact_method", label_zh=" ", label_en="SMS", now=now)
    assert empty.value.errors[0].field == "label_zh"
    assert (
        option_add(
            user=personas.admin, set_code="contact_method", label_zh="短信", label_en="SMS", code="sms", now=now
        ).code
        == "sms"
    )


@pytestmark_db
def test_a_rename_keeps_the_code_and_a_stale_form_is_refused(personas: Any, loaded: None, now: datetime) -> None:
    phone = Option.objects.get(option_set__code="contact_method", code="phone")
    seen = (phone.label_zh, phone.label_en)
    option_rename(
        user=personas.admin,
        set_code="contact_method",
        code="phone",
        label_zh="电话沟通",
        label_en="Call",
        seen=seen,
        now=now,
    )
    assert option_catalog().labels["contact_method"]["phone"] == "电话沟通"
    with pytest.raises(Conflict):
        option_rename(
            user=personas.admin,
            set_code="contact_method",
            code="phone",
            label_zh="致电",
            label_en="",
            seen=seen,
            now=now,
        )
    assert Option.objects.get(pk=phone.pk).label_zh == "电话沟通"


@pytestmark_db
def test_moving_and_retiring(personas: Any, loaded: None, now: datetime) -> None:
    before = order("contact_method")
    option_move(user=personas.admin, set_code="contact_method", code=before[1], step=-1, now=now)
    assert order("contact_method")[:2] == [before[1], before[0]]
    option_move(user=personas.admin, set_code="contact_method", code=before[1], step=-1, now=now)  # already first
    assert order("contact_method")[:2] == [before[1], before[0]]
    option_set_active(user=personas.admin, set_code="contact_method", code="email", active=False, now=now)
    assert "email" not in dict(option_catalog().choices["contact_method"])
    assert Option.objects.filter(code="email").exists()  # retired, never deleted
    with pytest.raises(RuleViolation):
        option_set_active(user=personas.admin, set_code="stage", code="won", active=False, now=now)


@pytestmark_db
def test_only_configurers_edit_options(personas: Any, loaded: None, now: datetime) -> None:
    for user in (personas.alice, personas.sam, personas.diana, personas.fay):
        with pytest.raises(PermissionDenied):
            option_add(user=user, set_code="contact_method", label_zh="短信", label_en="", now=now)


@pytestmark_db
def test_the_pages_add_rename_and_show_the_history(client: Any, personas: Any, loaded: None) -> None:
    client.force_login(personas.admin)
    sets = client.get("/settings/options/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "接触方式" in sets
    page = "/settings/options/obstacle/"
    assert client.get(page).status_code == 200
    added = client.post(page, {"do": "add", "label_zh": "账期太长", "label_en": "Credit terms too long"})
    assert added.status_code == 302
    refused = client.post(page, {"do": "add", "label_zh": "账期太长", "label_en": ""})
    assert refused.status_code == 422
    assert 'role="alert"' in refused.content.decode()
    history = client.get("/settings/history/").content.decode()
    assert "账期太长 / Credit terms too long" in history
    assert client.get("/settings/options/nope/").status_code == 404


@pytestmark_db
def test_a_dragged_order_is_one_recorded_change_per_moved_option(personas: Any, loaded: None, now: datetime) -> None:
    from salestrace.catalog.services import option_order

    before = order("emotion")
    dragged = [before[-1], *before[:-1]]
    assert option_order(user=personas.admin, set_code="emotion", codes=dragged, now=now) == len(before)
    assert order("emotion") == dragged
    assert [c for c, _ in option_catalog().choices["emotion"]] == dragged
    with pytest.raises(Conflict):  # a set that changed meanwhile is not reordered from a stale page
        option_order(user=personas.admin, set_code="emotion", codes=dragged[:-1], now=now)
    with pytest.raises(PermissionDenied):
        option_order(user=personas.alice, set_code="emotion", codes=before, now=now)
