"""Settings read from the environment, and the API docs served without the internet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_secret, env_time


def test_env_bool_accepts_the_usual_spellings_and_refuses_junk(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, value in [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False), ("", False)]:
        monkeypatch.setenv("FLAG", raw)
        assert env_bool("FLAG") is value
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be a boolean"):
        env_bool("FLAG")
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG", True) is True


def test_env_int_refuses_junk_and_values_below_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("N", "12")
    assert env_int("N", 3) == 12
    monkeypatch.setenv("N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="N must be an integer"):
        env_int("N", 3)
    monkeypatch.setenv("N", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("N", 3, minimum=0)


def test_env_list_and_secret_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOSTS", "a.example, ,b.example")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("KEY_FILE", str(secret))
    assert env_secret("KEY") == "s3cret"
    monkeypatch.setenv("KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="unreadable"):
        env_secret("KEY")


def test_env_example_documents_every_variable_the_settings_read() -> None:
    root = Path(__file__).resolve().parents[1]
    read = set(
        re.findall(
            r'env_(?:str|bool|int|list|secret|fernet_keys|allowed_hosts|vendor_url)\("([A-Z0-9_]+)"',
            (root / "config" / "settings.py").read_text(),
        )
    )
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (root / ".env.example").read_text(), re.MULTILINE))
    assert read - documented == set()


@pytest.mark.django_db
def test_api_docs_are_served_from_our_own_static_files(client: Any) -> None:
    html = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html
    assert "https://" not in html.replace("https://swagger.io", "")


@pytest.mark.django_db
def test_openapi_lists_the_core_resources(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in [
        "/api/v1/actions",
        "/api/v1/actions/{action_id}",
        "/api/v1/customers",
        "/api/v1/options",
        "/api/v1/rules",
        "/api/v1/auth/token",
    ]:
        assert path in paths


def test_zh_hans_catalogue_is_complete() -> None:
    import polib

    po = polib.pofile(str(Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in po if not e.translated() and not e.obsolete]
    assert missing == []


def test_env_time_reads_hh_mm_and_refuses_junk_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import time

    assert env_time("AT", "18:00") == time(18, 0)
    monkeypatch.setenv("AT", "17:30")
    assert env_time("AT", "18:00") == time(17, 30)
    for junk in ("18h", "25:00", "6pm"):
        monkeypatch.setenv("AT", junk)
        with pytest.raises(ImproperlyConfigured, match="AT must be a time like 18:00"):
            env_time("AT", "18:00")


def test_the_project_stands_alone_its_docs_point_only_inside_the_repository() -> None:
    # given the README and the docs a person who cloned the project reads
    root = Path(__file__).resolve().parent.parent
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    # then none of them sends the reader outside the repository...
    for page in pages:
        assert "../shared" not in page.read_text(encoding="utf-8"), page.name
    # ...and every relative link they hold leads to a file that is there
    import re

    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    # and the guide exists in both languages, linked from the README
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "docs/guide.zh.md" in readme
    assert "docs/guide.en.md" in readme
