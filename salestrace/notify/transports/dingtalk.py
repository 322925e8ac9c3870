"""DingTalk (钉钉) custom robot: markdown, signed when a secret is configured.

sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\n{secret}"))), sent as the
`timestamp` and `sign` query parameters; the robot answers `{"errcode": 0, "errmsg": "ok"}`.
130101 is "sending too fast" (20/minute); 310000 a wrong signature, keyword or IP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

from salestrace.notify.transports import DeliveryFailed, Message, RateLimited, Target, errcode_text, http_json

RATE_LIMITED = {130101}
PERMANENT = {300001, 400013}  # token missing or robot gone


def sign(timestamp_ms: int, secret: str) -> str:
    """The url-encoded signature DingTalk expects for `timestamp_ms`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def signed_url(url: str, secret: str, *, timestamp_ms: int) -> str:
    """The webhook URL with `timestamp` and `sign` appended, or as it is without a secret."""
    if not secret:
        return url
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign(timestamp_ms, secret)}"


def send(message: Message, target: Target) -> None:
    payload = {
        "msgtype": "markdown",
        "markdown": {"title": message.title, "text": message.as_markdown()},
        "at": {"atMobiles": [], "atUserIds": [], "isAtAll": False},
    }
    # Signed with the real clock: the robot refuses a timestamp more than an hour from its own.
    url = signed_url(target.address, target.secret, timestamp_ms=int(time.time() * 1000))
    data = http_json("POST", url, vendor="dingtalk", payload=payload)
    errcode = data.get("errcode")
    if errcode == 0:
        return
    text = errcode_text("errcode", errcode)
    if errcode in RATE_LIMITED:
        raise RateLimited(text, retry_after=60)
    raise DeliveryFailed(text, retryable=errcode not in PERMANENT)
