"""Shared fixtures: the personas every permission test talks about, and an API client.

Alice (rep, team East-1) and Bob (rep, team West-1) must never see each other's customers;
Sam supervises East (East-1 sits under East); Diana is the director; Fay is the finance assistant.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """Personas are made per test; a real hasher would cost ~0.3 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_catalog_cache() -> Iterator[None]:
    """Rolled-back test transactions reuse catalog version numbers; never trust a cache across tests."""
    from salestrace.catalog.selectors import forget_cached_catalog

    forget_cached_catalog()
    yield
    forget_cached_catalog()


@pytest.fixture(autouse=True)
def _static_files_without_collectstatic(settings: Any) -> None:
    """Tests serve static files from the apps (no collectstatic manifest needed)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _media_in_a_temporary_directory(settings: Any, tmp_path: Path, tmp_path_factory: Any) -> None:
    """Uploaded evidence (and the demo's photos) go to the test's own directory, never var/media;
    large uploads are spooled in a directory of the test's own beside it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path_factory.mktemp("upload-spool"))


@pytest.fixture(autouse=True)
def _no_offline_speech_engine_unless_asked(settings: Any) -> None:
    """The test requirements install faster-whisper and its model; only the tests about it use it."""
    settings.WHISPER_MODEL_PATH = ""


@dataclass
class Personas:
    alice: Any
    bob: Any
    sam: Any
    diana: Any
    fay: Any
    admin: Any
    east: Any
    east1: Any
    west1: Any


@pytest.fixture
def fmcg(db: None) -> None:
    """The FMCG template pack, loaded as `manage.py load_template fmcg` would."""
    from salestrace.catalog.services import template_load
    from salestrace.core import clock

    template_load(code="fmcg", now=clock.now())


@pytest.fixture
def personas(db: None, fmcg: None) -> Personas:
    from salestrace.org.models import Role, Team, User

    company = Team.objects.create(name="Company", kind=Team.Kind.COMPANY)
    east = Team.objects.create(name="East", kind=Team.Kind.REGION, parent=company)
    east1 = Team.objects.create(name="East-1", kind=Team.Kind.TEAM, parent=east)
    west = Team.objects.create(name="West", kind=Team.Kind.REGION, parent=company)
    west1 = Team.objects.create(name="West-1", kind=Team.Kind.TEAM, parent=west)

    def make(username: str, role: str, team: Any, **extra: Any) -> Any:
        return User.objects.create_user(username=username, password="pw-" + username, role=role, team=team, **extra)

    return Personas(
        alice=make("alice", Role.REP, east1),
        bob=make("bob", Role.REP, west1),
        sam=make("sam", Role.SUPERVISOR, east),
        diana=make("diana", Role.DIRECTOR, company),
        fay=make("fay", Role.ASSISTANT, company),
        admin=make("root", Role.ADMIN, company, is_staff=True, is_superuser=True),
        east=east,
        east1=east1,
        west1=west1,
    )


class Api:
    """A Django test client that speaks JSON to /api/v1 as one user (by bearer token)."""

    def __init__(self, client: Any, user: Any | None, language: str = "zh-hans") -> None:
        self.client = client
        self.headers: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": language}
        if user is not None:
            from salestrace.core import clock
            from salestrace.org.services import api_token_create

            _, raw = api_token_create(user=user, now=clock.now())
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"

    def _call(self, method: str, path: str, data: Any = None, **headers: str) -> Any:
        kwargs: dict[str, Any] = {**self.headers, **headers}
        if data is not None:
            import json

            kwargs["data"] = data if isinstance(data, str | bytes) else json.dumps(data, default=str)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path: str, **headers: str) -> Any:
        return self._call("get", path, **headers)

    def post(self, path: str, data: Any = None, **headers: str) -> Any:
        return self._call("post", path, data, **headers)

    def patch(self, path: str, data: Any = None, **headers: str) -> Any:
        return self._call("patch", path, data, **headers)


@pytest.fixture
def api_as(client: Any) -> Any:
    """api_as(user, language='zh-hans') -> Api."""

    def make(user: Any | None, language: str = "zh-hans") -> Api:
        return Api(client, user, language)

    return make


@pytest.fixture
def now() -> Iterator[datetime]:
    """Time frozen at 2026-11-26 10:00 Asia/Shanghai (02:00 UTC), a Thursday."""
    from zoneinfo import ZoneInfo

    import time_machine

    moment = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(moment, tick=False):
        yield moment


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI a skipped test is a failure: a green run must have run everything."""
    if os.environ.get("CI", "").lower() not in {"1", "true", "yes"}:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        if reporter:
            reporter.write_line(f"CI=true: {skipped} test(s) skipped; every test must run on CI", red=True)
        session.exitstatus = 1
