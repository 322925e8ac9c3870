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
# Over 20 a minute the robot is blocked for ten minutes ("超过20条，会限流10分钟").
RATE_LIMIT_PAUSE_SECONDS = 600
MARKDOWN_MAX_BYTES = 20000
PERMANENT = {300001, 400013}  # token missing or robot gone
# What 310000's errmsg says, by the word we keep: "keywords not in content", "sign not match",
# "ip X not in whitelist".
SECURITY_CAUSES = (("keyword", "keyword"), ("sign", "signature"), ("whitelist", "ip"), ("ip ", "ip"))


def sign(timestamp_ms: int, secret: str) -> str:
    """The url-encoded signature DingTalk expects for `timestamp_ms`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def signed_url(url: str, secret: str, *, timestamp_ms: int) -> str:
    """The webhook URL with `timestamp` and `sign` appended, or as it is without a secret."""
    if not secret:
        return url
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign(timestamp_ms, secret)}"


def markdown_text(message: Message) -> str:
    """The markdown; a mention only shows (and notifies) when "@mobile" is also in the text."""
    mobiles = [m.mobile for m in message.mentions if m.mobile]
    return message.as_markdown() + ("\n\n" + " ".join(f"@{m}" for m in mobiles) if mobiles else "")


def size(message: Message) -> int:
    """Bytes of the part the vendor limits (MARKDOWN_MAX_BYTES)."""
    return len(markdown_text(message).encode("utf-8"))


def send(message: Message, target: Target) -> None:
    payload = {
        "msgtype": "markdown",
        "markdown": {"title": message.title, "text": markdown_text(message)},
        "at": {"atMobiles": [m.mobile for m in message.mentions if m.mobile], "atUserIds": [], "isAtAll": False},
    }
    # Signed with the real clock: the robot refuses a timestamp more than an hour from its own.
    url = signed_url(target.address, target.secret, timestamp_ms=int(time.time() * 1000))
    data = http_json("POST", url, vendor="dingtalk", payload=payload)
    errcode = data.get("errcode")
    if errcode == 0:
        return
    text = errcode_text("errcode", errcode)
    if errcode == 310000:
        # One code for three mistakes; which one, in a word (the errmsg itself may echo the server's IP).
        errmsg = str(data.get("errmsg", "")).lower()
        cause = next((word for key, word in SECURITY_CAUSES if key in errmsg), "")
        text = f"{text} ({cause})" if cause else text
    if errcode in RATE_LIMITED:
        raise RateLimited(text, retry_after=RATE_LIMIT_PAUSE_SECONDS)
    raise DeliveryFailed(text, retryable=errcode not in PERMANENT)
