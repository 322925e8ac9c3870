"""Templates in Settings: a preview of what applying one changes, applying it (follow-ups included,
recorded in the history), the settings in force exported as a template that loads back unchanged,
and uploads checked whole."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salestrace.catalog.models import ImportedPack, Option, SettingChange, TemplatePack
from salestrace.catalog.pack_io import current_pack
from salestrace.catalog.packs import parse_pack
from salestrace.catalog.services import option_add
from salestrace.todos.models import FollowUpRule
from salestrace.todos.services import follow_up_entries, follow_up_rules_sync, pack_preview

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_preview_lists_what_a_switch_of_template_changes(personas: Any, now: datetime) -> None:
    follow_up_rules_sync()
    option_add(user=personas.admin, set_code="contact_method", label_zh="抖音私信", label_en="Douyin DM", now=now)
    pack, changes = pack_preview(code="b2b_industrial")
    seen = {(c.area, c.change, c.key) for c in changes}
    assert pack.code == "b2b_industrial"
    assert ("option", "retired", "contact_method.dou_yin_si_xin") in seen  # a manager's option is shown going
    assert any(area == "option" and change == "added" for area, change, _ in seen)
    # nothing changes when the template in force is previewed again
    _pack, again = pack_preview(code="fmcg")
    assert [(c.area, c.change, c.key) for c in again] == [("option", "retired", "contact_method.dou_yin_si_xin")]


def test_applying_from_settings_loads_follow_ups_and_is_recorded(personas: Any) -> None:
    admin = as_user(personas.admin)
    assert as_user(personas.sam).get("/settings/templates/").status_code == 403
    page = admin.get("/settings/templates/?preview=b2b_industrial").content.decode()
    assert "应用此模板" in page
    assert admin.post("/settings/templates/", {"do": "apply", "code": "b2b_industrial"}).status_code == 302
    assert TemplatePack.objects.filter(code="b2b_industrial").exists()
    assert FollowUpRule.objects.filter(pack="b2b_industrial", is_active=True).exists()
    change = SettingChange.objects.get(area="pack")
    assert (change.key, (change.after or {})["pack"]) == ("b2b_industrial", "b2b_industrial")


def test_an_export_loads_back_unchanged(personas: Any, now: datetime) -> None:
    follow_up_rules_sync()
    option_add(user=personas.admin, set_code="obstacle", label_zh="账期太长", label_en="Long credit terms", now=now)
    exported = as_user(personas.admin).get("/settings/templates/export.yaml")
    assert exported["Content-Disposition"].startswith('attachment; filename="salestrace-fmcg-')
    text = exported.content.decode()
    assert "账期太长" in text  # Chinese as it is, not escaped
    data = yaml.safe_load(text)
    assert parse_pack(data).code == "fmcg"
    # uploaded under a code of its own, it changes nothing
    data["code"] = "our_fmcg"
    upload = SimpleUploadedFile("our.yaml", yaml.safe_dump(data, allow_unicode=True).encode(), "application/yaml")
    answer = as_user(personas.admin).post("/settings/templates/", {"do": "upload", "file": upload})
    assert answer.status_code == 302
    assert ImportedPack.objects.filter(code="our_fmcg").exists()
    _pack, changes = pack_preview(code="our_fmcg")
    assert changes == []
    assert current_pack(follow_ups=follow_up_entries())["option_sets"] == data["option_sets"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"code: [unclosed", "不是 YAML 文件"),
        (b"code: fmcg\nname: {zh: x, en: x}\n", "内置模板"),
        (b"code: mine\nname: {zh: x, en: x}\noption_sets: {}\n", "missing option sets"),
        (b"\xff\xfe\x00bad", "UTF-8"),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_kept(personas: Any, body: bytes, words: str) -> None:
    upload = SimpleUploadedFile("x.yaml", body, "application/yaml")
    answer = as_user(personas.admin).post("/settings/templates/", {"do": "upload", "file": upload})
    assert answer.status_code == 422
    assert words in answer.content.decode()
    assert not ImportedPack.objects.exists()
    assert Option.objects.filter(option_set__code="stage").exists()


def test_a_template_code_is_never_a_path(personas: Any) -> None:
    from salestrace.catalog.packs import PackError, read_pack

    with pytest.raises(PackError):
        read_pack("../../etc/secrets")
    answer = as_user(personas.admin).post("/settings/templates/", {"do": "apply", "code": "../../etc/x"})
    assert answer.status_code == 422
    assert "没有这个模板" in answer.content.decode()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"a: &x [1, 2]\nb: *x\n", "aliases"),
        (b"a: " + b"[" * 30 + b"]" * 30 + b"\n", "nested deeper"),
        (b"code: Mine!\nname: {zh: x, en: x}\n", "lower-case letters"),
    ],
)
def test_an_upload_that_could_blow_up_is_refused(personas: Any, body: bytes, words: str) -> None:
    upload = SimpleUploadedFile("x.yaml", body, "application/yaml")
    answer = as_user(personas.admin).post("/settings/templates/", {"do": "upload", "file": upload})
    assert answer.status_code == 422
    assert words in answer.content.decode()
    assert not ImportedPack.objects.exists()
