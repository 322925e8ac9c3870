"""The secret key and the production settings: no built-in key without DEBUG, a local key made once
by `make run`, and `check --deploy` clean with the settings the README documents.

Each case runs in a fresh interpreter with its own environment (the settings are read at start)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120)


def _env_without_key(var_dir: Path, **extra: str) -> dict[str, str]:
    """This machine's environment minus any key (and minus what the browser tests set for themselves),
    with its own empty var/ directory."""
    dropped = {"SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", SALESTRACE_VAR_DIR=str(var_dir), **extra)
    return env


def test_without_debug_the_settings_refuse_to_start_with_no_key(tmp_path: Path) -> None:
    # given no SECRET_KEY, no SECRET_KEY_FILE and no var/secret_key
    # when the settings load without DEBUG
    result = _run([sys.executable, "-c", PRINT_KEY], _env_without_key(tmp_path))
    # then they refuse, saying what to do
    assert result.returncode != 0
    assert "No SECRET_KEY" in result.stderr
    assert "SECRET_KEY_FILE" in result.stderr
    # while DEBUG=1 still starts with its development key
    debug = _run([sys.executable, "-c", PRINT_KEY], _env_without_key(tmp_path, DEBUG="1"))
    assert debug.returncode == 0, debug.stderr


def test_the_local_key_is_made_once_private_and_read_by_the_settings(tmp_path: Path) -> None:
    env = _env_without_key(tmp_path)
    # when the key maker runs twice (as every `make run` does)
    assert _run([sys.executable, "-m", "config.secret_key"], env).returncode == 0
    key_file = tmp_path / "secret_key"
    first = key_file.read_text()
    assert _run([sys.executable, "-m", "config.secret_key"], env).returncode == 0
    # then the key is kept, readable by its owner only, long and random enough for check --deploy
    assert key_file.read_text() == first
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(first.strip()) >= 50
    assert len(set(first.strip())) >= 5
    # and the settings use it without any variable set
    loaded = _run([sys.executable, "-c", PRINT_KEY], env)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == first.strip()


def test_make_run_makes_the_key_before_anything_reads_the_settings() -> None:
    # when make shows what `make run` would do
    plan = _run(["make", "-n", "run"], {**os.environ, "MAKEFLAGS": ""}).stdout
    # then the key is made before the first manage.py command
    assert "-m config.secret_key" in plan
    assert plan.index("-m config.secret_key") < plan.index("manage.py migrate")


def _readme_production_env() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    pairs = re.findall(r"^([A-Z][A-Z0-9_]*)=(\S+)", block, re.MULTILINE)
    assert pairs, "the README's Production section lists its variables in a sh block"
    return dict(pairs)


def test_check_deploy_is_clean_with_the_production_settings_in_the_readme(tmp_path: Path) -> None:
    # given exactly the README's production variables, the key in its own file
    production = _readme_production_env()
    key_file = tmp_path / "salestrace_secret_key"
    assert _run([sys.executable, "-m", "config.secret_key", str(key_file)], os.environ.copy()).returncode == 0
    production["SECRET_KEY_FILE"] = str(key_file)
    env = {**_env_without_key(tmp_path / "var"), **production}
    # when Django's deployment checks run, warnings counting as failures
    result = _run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    # then there is nothing to report, except (until someone enters next year's official holiday
    # schedule) the working-day calendar's own warning, which is meant to be seen
    issues = re.findall(r"^\?: \(([\w.]+)\)", result.stdout + result.stderr, flags=re.M)
    assert set(issues) <= {"todos.W001"}, result.stdout + result.stderr
    if not issues:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_with_the_local_defaults(tmp_path: Path) -> None:
    # given the embedded default (plain HTTP on loopback), which is fine for `make run` only
    env = _env_without_key(tmp_path / "var")
    _run([sys.executable, "-m", "config.secret_key"], env)
    # then check --deploy points at what production must set
    result = _run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stdout + result.stderr
