"""Delivery transports, one module per vendor (healthchecks' integrations layout). No ORM here.

Each module has `send(message, target)`; it returns on success and raises DeliveryFailed
(RateLimited when the vendor says "too fast") with the vendor's own error code in the text, and
never a URL, token or response body (the delivery log is shown in the admin).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from django.conf import settings

from salestrace.notify import crypto, hosts


@dataclass(frozen=True)
class Line:
    """One line of a message, with an optional deep link to where it is dealt with."""

    text: str
    link: str = ""


@dataclass(frozen=True)
class Mention:
    """A person a group message @-mentions, by the ids the vendors know (each optional)."""

    name: str
    wecom_userid: str = ""
    mobile: str = ""


@dataclass(frozen=True)
class Message:
    """What every channel renders in its own format: a title, lines, a link to everything."""

    title: str
    lines: tuple[Line, ...] = ()
    link: str = ""
    mention: str = ""  # who a group message is for (display name)
    mention_id: str = ""  # their id on the vendor side (WeCom userid), when known
    mentions: tuple[Mention, ...] = ()  # a group digest's members, @-mentioned where the vendor can
    image: str = ""  # a PNG in the default storage (a chart): e-mail shows it inline, the others link

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "title": self.title,
            "lines": [{"text": ln.text, "link": ln.link} for ln in self.lines],
            "link": self.link,
            "mention": self.mention,
            "mention_id": self.mention_id,
        }
        if self.mentions:
            data["mentions"] = [[m.name, m.wecom_userid, m.mobile] for m in self.mentions]
        if self.image:
            data["image"] = self.image
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls(
            title=str(data.get("title", "")),
            lines=tuple(Line(str(ln.get("text", "")), str(ln.get("link", ""))) for ln in data.get("lines", [])),
            link=str(data.get("link", "")),
            mention=str(data.get("mention", "")),
            mention_id=str(data.get("mention_id", "")),
            mentions=tuple(Mention(str(n), str(w), str(m)) for n, w, m in data.get("mentions", [])),
            image=str(data.get("image", "")),
        )

    def merged(self, others: Sequence[Message]) -> Message:
        """This message with the lines and mentions of `others` (digests of teams sharing one robot)."""
        return replace(
            self,
            lines=self.lines + tuple(ln for o in others for ln in o.lines),
            mentions=self.mentions + tuple(m for o in others for m in o.mentions),
        )

    def as_text(self) -> str:
        out = [self.title, *(f"- {ln.text}" + (f"  {ln.link}" if ln.link else "") for ln in self.lines)]
        if self.link:
            out.append(self.link)
        return "\n".join(out)

    def as_markdown(self) -> str:
        out = [f"**{self.title}**"]
        if self.mention_id:
            out.append(f"<@{self.mention_id}>")
        elif self.mention:
            out.append(f"> {self.mention}")
        out.extend(f"- [{ln.text}]({ln.link})" if ln.link else f"- {ln.text}" for ln in self.lines)
        if self.link:
            out.append(f"[→]({self.link})")
        return "\n".join(out)


@dataclass(frozen=True)
class Target:
    """Where one delivery goes, with what it needs to sign or authenticate. Secrets in plain text."""

    address: str  # webhook URL, WeCom userid or e-mail address
    secret: str = field(default="", repr=False)
    api_base: str = ""
    corp_id: str = ""
    agent_id: str = ""

    def __repr__(self) -> str:
        # A webhook URL carries its key: logs and tracebacks see it masked.
        return f"Target(address={crypto.mask(self.address)!r}, api_base={self.api_base!r})"


class DeliveryFailed(Exception):
    """The vendor refused or could not be reached; `retryable` False for errors only a person can fix."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class RateLimited(DeliveryFailed):
    """The vendor said "too many messages"; try again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message, retryable=True)
        self.retry_after = retry_after


# A transport sends at the real time: `run_job deliver --at` decides what is due, never what a vendor
# sees (DingTalk and Feishu refuse signatures more than an hour from their clock).
Sender = Callable[[Message, Target], None]


def errcode_text(name: str, code: object) -> str:
    """A vendor's JSON error as the log keeps it: the code only (its errmsg may echo request details)."""
    shown = str(code) if isinstance(code, int) and not isinstance(code, bool) else "?"
    return f"{name} {shown}"


def http_json(method: str, url: str, *, vendor: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """One HTTP call to `vendor`'s host (or NOTIFY_ALLOWED_HOSTS) with the configured timeout, redirects
    not followed; the decoded JSON answer or DeliveryFailed. Error texts name the host, never the URL
    (it carries webhook keys and tokens) nor the body."""
    with requests.Session() as session:
        try:
            prepared = session.prepare_request(requests.Request(method, url, json=payload))
        except (requests.RequestException, ValueError) as exc:
            raise DeliveryFailed(f"bad URL: {type(exc).__name__} ({crypto.origin(url)})", retryable=False) from None
        sent_to = prepared.url or ""
        where = crypto.origin(sent_to)
        allowed = hosts.parse_allowed(settings.NOTIFY_ALLOWED_HOSTS)
        if found := hosts.problem(sent_to, vendor=vendor, allowed=allowed):
            raise DeliveryFailed(f"URL refused: {hosts.describe(found, vendor=vendor)} ({where})", retryable=False)
        environment = session.merge_environment_settings(sent_to, {}, None, None, None)  # proxies, CA bundle
        try:
            response = session.send(
                prepared, timeout=settings.NOTIFY_HTTP_TIMEOUT, allow_redirects=False, **environment
            )
        except requests.RequestException as exc:
            raise DeliveryFailed(f"network error: {type(exc).__name__} ({where})") from None
    if response.status_code == 429:
        raise RateLimited(f"HTTP 429 ({where})")
    if response.is_redirect or 300 <= response.status_code < 400:
        raise DeliveryFailed(f"HTTP {response.status_code}: redirect not followed ({where})", retryable=False)
    if response.status_code >= 400:
        raise DeliveryFailed(f"HTTP {response.status_code} ({where})", retryable=response.status_code >= 500)
    try:
        data = response.json()
    except ValueError:
        raise DeliveryFailed(f"HTTP {response.status_code}: not JSON ({where})") from None
    if not isinstance(data, dict):
        raise DeliveryFailed(f"HTTP {response.status_code}: unexpected JSON ({where})")
    return data


def truncate_utf8(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes (WeCom counts bytes), cut on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "…"
