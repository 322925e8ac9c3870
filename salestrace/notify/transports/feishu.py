"""Feishu/Lark (飞书) custom bot: a rich-text "post", signed when a secret is configured.

sign = base64(HMAC-SHA256(key=f"{timestamp}\n{secret}", msg=b"")), timestamp in seconds, both in
the JSON body. Success is `{"code": 0, ...}` (older bots: `{"StatusCode": 0}`); 19021 is a bad
signature or stale timestamp, 9499 a malformed request, 11232 "frequency limited".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from salestrace.notify.transports import DeliveryFailed, Message, RateLimited, Target, errcode_text, http_json

RATE_LIMITED = {11232}
PERMANENT = {19001, 19002}  # bot not found / no permission


def sign(timestamp: int, secret: str) -> str:
    """The signature Feishu expects: the HMAC key is the string to sign, the message is empty."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def payload_for(message: Message) -> dict[str, Any]:
    rows: list[list[dict[str, str]]] = []
    if message.mention:
        rows.append([{"tag": "text", "text": message.mention}])
    for line in message.lines:
        row = [{"tag": "text", "text": "• "}]
        row.append(
            {"tag": "a", "text": line.text, "href": line.link} if line.link else {"tag": "text", "text": line.text}
        )
        rows.append(row)
    if message.link:
        rows.append([{"tag": "a", "text": "→", "href": message.link}])
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": message.title, "content": rows}}}}


def send(message: Message, target: Target) -> None:
    payload = payload_for(message)
    if target.secret:
        timestamp = int(time.time())  # the real clock: Feishu refuses one more than an hour off
        payload = {"timestamp": str(timestamp), "sign": sign(timestamp, target.secret), **payload}
    data = http_json("POST", target.address, vendor="feishu", payload=payload)
    code = data.get("code", data.get("StatusCode"))
    if code == 0:
        return
    text = errcode_text("code", code)
    if code in RATE_LIMITED:
        raise RateLimited(text, retry_after=60)
    raise DeliveryFailed(text, retryable=code not in PERMANENT)
