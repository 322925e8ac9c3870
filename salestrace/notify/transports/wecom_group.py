"""WeCom (企业微信) group robot: POST markdown to the webhook URL (…/cgi-bin/webhook/send?key=…).

Answers `{"errcode": 0, "errmsg": "ok"}`; any other errcode is a failure. 45009 means the robot's
20 messages/minute are used up; 93000 an invalid webhook key (only a person can fix that).
"""

from __future__ import annotations

from salestrace.notify.transports import (
    DeliveryFailed,
    Message,
    RateLimited,
    Target,
    errcode_text,
    http_json,
    truncate_utf8,
)

MARKDOWN_MAX_BYTES = 4096
RATE_LIMITED = 45009
PERMANENT = {93000, 93004, 93008}  # invalid key, robot removed, not in group


def send(message: Message, target: Target) -> None:
    payload = {"msgtype": "markdown", "markdown": {"content": truncate_utf8(message.as_markdown(), MARKDOWN_MAX_BYTES)}}
    data = http_json("POST", target.address, vendor="wecom", payload=payload)
    errcode = data.get("errcode")
    if errcode == 0:
        return
    text = errcode_text("errcode", errcode)
    if errcode == RATE_LIMITED:
        raise RateLimited(text, retry_after=60)
    raise DeliveryFailed(text, retryable=errcode not in PERMANENT)
