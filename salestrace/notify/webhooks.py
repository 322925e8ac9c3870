"""Outgoing webhooks on the wire: where a receiver may be, how a body is signed, one POST. No ORM.

An admin types the receiver's URL and the worker calls it from inside the company network, so a URL
is checked before every call: https, no user info, and a host whose every address is public (not
loopback, private, link-local, CGNAT or reserved) unless WEBHOOK_ALLOWED_HOSTS names it; the call
then goes to the very address that was checked (no second lookup to rebind). Redirects are never
followed. Error texts name the receiver's origin and the HTTP status, never the path or
query (they may carry the receiver's token) nor the body it answered.

The signature is Stripe's scheme with our header names: `X-SalesTrace-Signature: t=<unix
seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`; a receiver recomputes it
and refuses a timestamp older than a few minutes (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.utils.translation import gettext_lazy as _
from requests.adapters import HTTPAdapter

from salestrace.notify import crypto, hosts
from salestrace.notify.hosts import Allowed

SIGNATURE_HEADER = "X-SalesTrace-Signature"
USER_AGENT = "SalesTrace-Webhooks/1"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of generated secrets, not a secret


class UrlProblem(StrEnum):
    MALFORMED = "malformed"
    SCHEME = "scheme"
    USERINFO = "userinfo"
    UNRESOLVED = "unresolved"
    PRIVATE = "private"


PROBLEM_TEXT = {
    UrlProblem.MALFORMED: _("This is not a valid URL."),
    UrlProblem.SCHEME: _("The URL must start with https:// (plain http only for hosts the operator allowed)."),
    UrlProblem.USERINFO: _("The URL must not contain a user name or password before the host."),
    UrlProblem.UNRESOLVED: _("This host name could not be found; check the spelling."),
    UrlProblem.PRIVATE: _(
        "This host is on a private or local network; the operator must allow it (WEBHOOK_ALLOWED_HOSTS)."
    ),
}


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # a literal address: no lookup
    except ValueError:
        pass
    try:
        return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    except (OSError, UnicodeError):
        return []


def url_problem(url: str, *, allowed: Iterable[Allowed] = ()) -> UrlProblem | None:
    """Why `url` may not be called now, or None. Resolves the host (the check is repeated before
    every call, so a name later pointed at an internal address is refused then)."""
    problem, _address = _vet(url, allowed=allowed)
    return problem


def _vet(url: str, *, allowed: Iterable[Allowed]) -> tuple[UrlProblem | None, str]:
    """(why `url` may not be called, or None; the address its host resolved to when it may). The
    call then goes to that address: a name resolved twice (once checked, once called) could point
    at an internal host the second time (DNS rebinding)."""
    found = hosts.target(url, max_length=500)
    if isinstance(found, hosts.Problem):
        return (UrlProblem.USERINFO if found == hosts.Problem.USERINFO else UrlProblem.MALFORMED), ""
    verdict = found.allowed_by(allowed)
    if verdict is False and found.scheme != "https":
        return UrlProblem.SCHEME, ""
    if verdict == hosts.Problem.SCHEME:
        return UrlProblem.SCHEME, ""
    addresses = _addresses(found.host, found.port or (443 if found.scheme == "https" else 80))
    if not addresses:
        return UrlProblem.UNRESOLVED, ""
    # A host the operator allowed may be on the LAN; any other must be public at every address.
    if verdict is False and not all(_public(a) for a in addresses):
        return UrlProblem.PRIVATE, ""
    return None, addresses[0]


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address that was checked while TLS still checks the certificate of, and
    sends SNI for, the host name in the URL."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


def _pinned(url: str, address: str) -> tuple[str, str, str]:
    """(the URL with its host replaced by `address`, the Host header the receiver expects, the
    name its certificate must carry)."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), parts.netloc, parts.hostname or ""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_valid(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (our tests do it too): recompute and compare in constant time."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), f"t={timestamp},v1={fields.get('v1', '')}")


@dataclass(frozen=True)
class Sent:
    status: int


class WebhookFailed(Exception):
    """The receiver refused or could not be reached; `retryable` False when only a person can fix it."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


# Answers worth trying again: the receiver is busy or down, not refusing this body.
RETRYABLE_STATUS = {408, 425, 429}


def post(
    url: str,
    body: bytes,
    *,
    secret: str,
    event: str,
    event_id: str,
    timestamp: int,
    timeout: float,
    allowed: Iterable[Allowed] = (),
) -> Sent:
    """POST one signed event; returns on a 2xx answer, raises WebhookFailed otherwise."""
    where = crypto.origin(url)
    found, address = _vet(url, allowed=allowed)
    if found:
        retryable = found == UrlProblem.UNRESOLVED  # DNS may come back; a private address will not
        raise WebhookFailed(f"URL refused: {found.value} ({where})", retryable=retryable)
    pinned_url, host, hostname = _pinned(url, address)
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-SalesTrace-Event": event,
        "X-SalesTrace-Event-Id": event_id,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    try:
        with requests.Session() as session:
            session.mount(pinned_url, _PinnedAdapter(hostname))
            # stream: the answer's body is never read (a receiver could send gigabytes back).
            response = session.post(
                pinned_url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
            )
    except requests.RequestException as exc:
        raise WebhookFailed(f"network error: {type(exc).__name__} ({where})", retryable=True) from None
    status = response.status_code
    response.close()
    if 200 <= status < 300:
        return Sent(status)
    if 300 <= status < 400:
        raise WebhookFailed(f"HTTP {status}: redirect not followed ({where})", retryable=False, status=status)
    retryable = status >= 500 or status in RETRYABLE_STATUS
    raise WebhookFailed(f"HTTP {status} ({where})", retryable=retryable, status=status)
