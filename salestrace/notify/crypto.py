"""Secrets at rest: Fernet tokens under NOTIFY_ENCRYPTION_KEY, with rotation, and masks for showing them.

NOTIFY_ENCRYPTION_KEY holds one or more comma-separated Fernet keys (MultiFernet): the first
encrypts, every one decrypts. To rotate: put a new key first, keep the old ones after it, run
`manage.py notify_reencrypt` (re-encrypts every stored secret under the first key), then drop the
old keys. Values written before NOTIFY_ENCRYPTION_KEY existed were encrypted with a key derived
from SECRET_KEY: that derived key (and one per SECRET_KEY_FALLBACKS entry, and one from the
built-in development SECRET_KEY of earlier versions) always stays a decryption fallback; the one
from SECRET_KEY is the encryption key only while NOTIFY_ENCRYPTION_KEY is unset.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The SECRET_KEY SalesTrace used when none was set, before issue 10: secrets saved then were encrypted
# under a key derived from it. It only ever decrypts (never encrypts): `notify_reencrypt` moves them.
BUILT_IN_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - public by design, decryption only


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys decrypts (the key was changed or lost)."""


def parse_keys(value: str) -> list[str]:
    """The Fernet keys of a comma-separated NOTIFY_ENCRYPTION_KEY; ValueError on a key that is not one."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes)") from None
    return keys


def _derived(secret_key: str) -> str:
    digest = hashlib.sha256(b"salestrace.notify:" + secret_key.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _fernet() -> MultiFernet:
    try:
        own = parse_keys(settings.NOTIFY_ENCRYPTION_KEY or "")
    except ValueError as exc:
        raise ImproperlyConfigured(f"NOTIFY_ENCRYPTION_KEY: {exc}") from None
    secret_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", []), BUILT_IN_SECRET_KEY]
    derived = [_derived(str(key)) for key in secret_keys if key]
    return MultiFernet([Fernet(key) for key in dict.fromkeys([*own, *derived])])


def encrypt(plain: str) -> str:
    """The Fernet token of `plain` under the first key; empty stays empty."""
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    """The plain text of a token; empty for empty. SecretUnreadable when no key opens it."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable("a stored notification secret cannot be decrypted: was the key changed?") from None


def reencrypt(token: str) -> str:
    """The same secret encrypted under the first key (MultiFernet.rotate); SecretUnreadable as `decrypt`."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable("a stored notification secret cannot be decrypted: was the key changed?") from None


def mask(secret: str) -> str:
    """What may be shown of a secret: a URL's scheme and host plus the last 4 characters, else the last 4."""
    if not secret:
        return ""
    tail = secret[-4:] if len(secret) >= 12 else ""
    if urlsplit(secret).scheme in ("http", "https"):
        return f"{origin(secret)}/…{tail}"
    return f"••••{tail}"


def origin(url: str) -> str:
    """A URL's scheme, host and port only: where a call went, for error texts (no path, query or user)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "?"
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{port}' if port else ''}"
