"""Delivery transports, one module per vendor (healthchecks' integrations layout). No ORM here.

Each module has `send(message, target, *, now)`; it returns on success and raises DeliveryFailed
(RateLimited when the vendor says "too fast") with the vendor's own error code in the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import requests
from django.conf import settings


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


Sender = Callable[[Message, Target, datetime], None]


def http_json(method: str, url: str, *, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """One HTTP call with the configured timeout; the decoded JSON answer or DeliveryFailed."""
    try:
        response = requests.request(method, url, json=payload, timeout=settings.NOTIFY_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"network error: {type(exc).__name__}: {exc}") from None
    if response.status_code == 429:
        raise RateLimited("HTTP 429")
    if response.status_code >= 400:
        raise DeliveryFailed(
            f"HTTP {response.status_code}: {response.text[:300]}", retryable=response.status_code >= 500
        )
    try:
        data = response.json()
    except ValueError:
        raise DeliveryFailed(f"not JSON: {response.text[:300]}") from None
    if not isinstance(data, dict):
        raise DeliveryFailed(f"unexpected answer: {response.text[:300]}")
    return data


def truncate_utf8(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes (WeCom counts bytes), cut on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "…"
