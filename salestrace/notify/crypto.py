"""Secrets at rest: Fernet tokens keyed from settings, and masks for showing them back.

The key is NOTIFY_ENCRYPTION_KEY when set (a Fernet key), else derived from SECRET_KEY, so a
database dump alone does not reveal webhook keys or the WeCom corp secret.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> Fernet:
    key = settings.NOTIFY_ENCRYPTION_KEY
    if not key:
        digest = hashlib.sha256(b"salestrace.notify:" + settings.SECRET_KEY.encode("utf-8")).digest()
        key = base64.urlsafe_b64encode(digest).decode("ascii")
    try:
        return Fernet(key)
    except ValueError:
        raise ImproperlyConfigured("NOTIFY_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64 bytes)") from None


def encrypt(plain: str) -> str:
    """The Fernet token of `plain`; empty stays empty."""
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    """The plain text of a token; empty for empty. A token from another key is an error, not junk."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ImproperlyConfigured("a stored notification secret cannot be decrypted: was the key changed?") from None


def mask(secret: str) -> str:
    """What may be shown of a secret: a URL's scheme and host plus the last 4 characters, else the last 4."""
    if not secret:
        return ""
    tail = secret[-4:] if len(secret) >= 12 else ""
    parts = urlsplit(secret)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/…{tail}"
    return f"••••{tail}"
