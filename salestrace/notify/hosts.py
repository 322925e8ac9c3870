"""Which hosts a webhook URL or the WeCom API base may point at (no Django, no I/O: settings use it).

A team admin types webhook URLs, and the worker POSTs to them from inside the company network:
an unchecked URL would let anyone with admin access make the server call any internal address
(SSRF). So a URL must be https on the vendor's own host, on the default port, with no user info.
NOTIFY_ALLOWED_HOSTS widens the list for self-hosted gateways: `host` (https, any port),
`host:port` (https, that port) or `http://host[:port]` (plain http allowed, for a gateway on the
LAN or a local test server).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

# The vendors' documented endpoints: WeCom group robot and application API (企业微信), DingTalk
# custom robot (钉钉), Feishu (飞书) and its international edition Lark.
VENDOR_HOSTS: dict[str, tuple[str, ...]] = {
    "wecom": ("qyapi.weixin.qq.com",),
    "dingtalk": ("oapi.dingtalk.com",),
    "feishu": ("open.feishu.cn", "open.larksuite.com"),
}


class Problem(StrEnum):
    """Why a URL is refused; the caller words it (an English startup error, a translated form error)."""

    MALFORMED = "malformed"
    SCHEME = "scheme"
    USERINFO = "userinfo"
    HOST = "host"


@dataclass(frozen=True)
class Allowed:
    """One NOTIFY_ALLOWED_HOSTS entry."""

    host: str
    port: int | None = None  # None: any port
    http: bool = False  # plain http allowed too


def parse_allowed(entries: Iterable[str]) -> tuple[Allowed, ...]:
    """NOTIFY_ALLOWED_HOSTS entries as rules; ValueError names the entry that is not `[http://]host[:port]`."""
    rules = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        http = entry.lower().startswith("http://")
        parts = urlsplit(entry if "://" in entry else f"https://{entry}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"not a host[:port]: {raw!r}") from None
        host = (parts.hostname or "").rstrip(".")
        if parts.scheme not in ("http", "https") or not host or parts.path not in ("", "/") or "@" in parts.netloc:
            raise ValueError(f"not a host[:port]: {raw!r}")
        rules.append(Allowed(host, port, http))
    return tuple(rules)


@dataclass(frozen=True)
class Target:
    """Where a URL points: its scheme, host (no trailing dot) and port (None: the scheme's)."""

    scheme: str
    host: str
    port: int | None

    def allowed_by(self, rules: Iterable[Allowed]) -> Problem | Literal[False] | None:
        """None when a rule lets it through, SCHEME when one names it but not for plain http, False
        when none names it."""
        for rule in rules:
            if rule.host == self.host and rule.port in (None, self.port):
                return None if self.scheme == "https" or rule.http else Problem.SCHEME
        return False


def target(url: str, *, max_length: int | None = None) -> Target | Problem:
    """A URL split into what the checks look at, or why it is not a URL we call (malformed, or with a
    user name or password before the host)."""
    too_long = max_length is not None and len(url) > max_length
    if not url or too_long or any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        return Problem.MALFORMED
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return Problem.MALFORMED
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return Problem.MALFORMED
    if "@" in parts.netloc:
        return Problem.USERINFO
    return Target(parts.scheme, host, port)


def problem(url: str, *, vendor: str, allowed: Iterable[Allowed] = ()) -> Problem | None:
    """Why `url` may not be called for `vendor` ("wecom", "dingtalk", "feishu"), or None when it may."""
    found = target(url)
    if isinstance(found, Problem):
        return found
    if found.host in VENDOR_HOSTS[vendor] and found.port in (None, 443):
        return None if found.scheme == "https" else Problem.SCHEME
    verdict = found.allowed_by(allowed)
    if verdict is False:
        return Problem.HOST
    return verdict


def describe(found: Problem, *, vendor: str) -> str:
    """An English sentence for operators (startup errors, logs)."""
    hosts = ", ".join(VENDOR_HOSTS[vendor])
    return {
        Problem.MALFORMED: "is not a valid URL",
        Problem.SCHEME: "must use https",
        Problem.USERINFO: "must not contain a user name or password before the host",
        Problem.HOST: f"must point at {hosts} (add a self-hosted gateway to NOTIFY_ALLOWED_HOSTS)",
    }[found]
