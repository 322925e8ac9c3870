"""Typed readers for settings from the environment; each fails loudly on junk (healthchecks style)."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from salestrace.notify.crypto import parse_keys
from salestrace.notify.hosts import describe, parse_allowed, problem

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable as a string, or `default` when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """True/False from 1/0, true/false, yes/no, on/off; anything else is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer, optionally bounded below."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_time(name: str, default: str) -> time:
    """A wall-clock time "HH:MM" (Asia/Shanghai for our schedules)."""
    raw = os.environ.get(name) or default
    try:
        hour, _, minute = raw.strip().partition(":")
        return time(int(hour), int(minute or 0))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a time like 18:00, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str = "", *, default_file: Path | None = None) -> str:
    """A secret from NAME, or from the file named by NAME_FILE (docker/k8s secrets), or else from
    `default_file` when that exists (a key the installer made); `default` when none is there."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points at an unreadable file: {exc}") from None
    if name in os.environ:
        return os.environ[name]
    if default_file is not None and default_file.is_file():
        try:
            return default_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{default_file} (the default {name}) is unreadable: {exc}") from None
    return default


def env_fernet_keys(name: str) -> str:
    """Comma-separated Fernet keys (a secret, NAME_FILE works); each must be a valid key."""
    value = env_secret(name)
    try:
        parse_keys(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None
    return value


def env_allowed_hosts(name: str) -> list[str]:
    """Extra hosts for outgoing webhooks: `host`, `host:port` or `http://host[:port]`, comma-separated."""
    entries = env_list(name, [])
    try:
        parse_allowed(entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None
    return entries


def env_vendor_url(name: str, default: str = "", *, vendor: str, allowed: list[str]) -> str:
    """A vendor endpoint (a secret: webhook URLs carry their key), refused unless https on the vendor's
    host or on a host in `allowed` (NOTIFY_ALLOWED_HOSTS): a typo must not send secrets elsewhere."""
    value = env_secret(name, default).strip()
    if value and (found := problem(value, vendor=vendor, allowed=parse_allowed(allowed))):
        raise ImproperlyConfigured(f"{name} {describe(found, vendor=vendor)}")
    return value
