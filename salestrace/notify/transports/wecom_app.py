"""WeCom (企业微信) application messages to one person: gettoken, then message/send.

The access_token (valid `expires_in` seconds, 7200 by default) is cached and shared by every worker
through Django's cache; errcode 40014 (invalid) or 42001 (expired) drops it and retries once.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.core.cache import cache

from salestrace.notify.transports import (
    DeliveryFailed,
    Message,
    RateLimited,
    Target,
    errcode_text,
    http_json,
    truncate_utf8,
)

TOKEN_EXPIRED = {40014, 42001}
RATE_LIMITED = {45009, 45033}
PERMANENT = {40013, 40001, 40056, 60020, 81013}  # bad corp id/secret, agent id, IP not allowed, no such user
MARKDOWN_MAX_BYTES = 2048
_TOKEN_MARGIN = 300  # refresh five minutes before WeCom does


def _cache_key(target: Target) -> str:
    ident = hashlib.sha256(f"{target.api_base}|{target.corp_id}|{target.secret}".encode()).hexdigest()[:24]
    return f"notify:wecom_token:{ident}"


def access_token(target: Target, *, refresh: bool = False) -> str:
    """A cached access_token, fetched from /cgi-bin/gettoken when missing or when `refresh`."""
    key = _cache_key(target)
    if not refresh:
        token = cache.get(key)
        if token:
            return str(token)
    query = urlencode({"corpid": target.corp_id, "corpsecret": target.secret})
    data = http_json("GET", f"{target.api_base}/cgi-bin/gettoken?{query}", vendor="wecom")
    errcode = data.get("errcode", 0)
    if errcode != 0 or not data.get("access_token"):
        raise DeliveryFailed(errcode_text("gettoken errcode", errcode), retryable=errcode not in PERMANENT)
    token = str(data["access_token"])
    ttl = int(data.get("expires_in", 7200)) - _TOKEN_MARGIN
    cache.set(key, token, timeout=max(ttl, 60))
    return token


def send(message: Message, target: Target) -> None:
    try:
        agent_id: int | str = int(target.agent_id)
    except ValueError:
        raise DeliveryFailed("agent id must be a number", retryable=False) from None
    payload = {
        "touser": target.address,
        "msgtype": "markdown",
        "agentid": agent_id,
        "markdown": {"content": truncate_utf8(message.as_markdown(), MARKDOWN_MAX_BYTES)},
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 1800,
    }
    for attempt in range(2):
        token = access_token(target, refresh=attempt > 0)
        url = f"{target.api_base}/cgi-bin/message/send?access_token={token}"
        data = http_json("POST", url, vendor="wecom", payload=payload)
        errcode = data.get("errcode")
        if errcode == 0:
            if data.get("invaliduser"):
                raise DeliveryFailed(f"invaliduser: {data['invaliduser']}", retryable=False)
            return
        if errcode in TOKEN_EXPIRED and attempt == 0:
            cache.delete(_cache_key(target))
            continue
        text = errcode_text("errcode", errcode)
        if errcode in RATE_LIMITED:
            raise RateLimited(text, retry_after=60)
        raise DeliveryFailed(text, retryable=errcode not in PERMANENT)
