"""Reads for notifications: each team's effective channel settings, and inboxes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from salestrace.notify import crypto
from salestrace.notify.models import Channel, ChannelSettings, InboxMessage, WebhookDelivery, WebhookEndpoint
from salestrace.notify.transports import Target
from salestrace.org.models import Team, User
from salestrace.org.selectors import team_chain


@dataclass(frozen=True)
class ChannelConfig:
    """Where a team's messages go; plain-text secrets, in memory only."""

    wecom_webhook_url: str = field(default="", repr=False)
    wecom_api_base: str = ""
    wecom_corp_id: str = ""
    wecom_corp_secret: str = field(default="", repr=False)
    wecom_agent_id: str = ""
    dingtalk_webhook_url: str = field(default="", repr=False)
    dingtalk_secret: str = field(default="", repr=False)
    feishu_webhook_url: str = field(default="", repr=False)
    feishu_secret: str = field(default="", repr=False)
    # Fields the team set but no NOTIFY_ENCRYPTION_KEY decrypts: their channels fail, others still go.
    unreadable: frozenset[str] = frozenset()
    # The team's own default channel list (inherited up the tree); empty: every configured channel.
    default_channels: tuple[str, ...] = ()


# A secret goes with the endpoint it was set for: a team that points an endpoint elsewhere sets
# that endpoint's secret itself, and never sends its parent's (or the environment's) there.
BOUND_SECRETS = {
    "wecom_api_base": "wecom_corp_secret",
    "dingtalk_webhook_url": "dingtalk_secret",
    "feishu_webhook_url": "feishu_secret",
}
UNREADABLE = "cannot be decrypted (was NOTIFY_ENCRYPTION_KEY changed?)"


# A group robot speaks to a whole group (one digest per team a day); the others reach one person.
GROUP_CHANNELS = frozenset({Channel.WECOM_GROUP, Channel.DINGTALK, Channel.FEISHU})
PERSONAL_CHANNELS = frozenset({Channel.WECOM_APP, Channel.EMAIL})


def configured_channels(config: ChannelConfig) -> tuple[str, ...]:
    """Every channel that `config` (a team's effective settings) can deliver to, in Channel order.

    A setting no key decrypts still counts: its deliveries fail where an admin sees why."""

    def has(name: str) -> bool:
        return bool(getattr(config, name)) or name in config.unreadable

    ready = {
        Channel.WECOM_GROUP: has("wecom_webhook_url"),
        Channel.WECOM_APP: bool(config.wecom_corp_id) and has("wecom_corp_secret"),
        Channel.DINGTALK: has("dingtalk_webhook_url"),
        Channel.FEISHU: has("feishu_webhook_url"),
        Channel.EMAIL: bool(settings.NOTIFY_EMAIL_ENABLED),
    }
    return tuple(channel.value for channel in Channel if ready[channel])


def channels_for(chosen: Sequence[str] | None, config: ChannelConfig) -> tuple[str, ...]:
    """A person's channels: their own choice (None: none made), else their team's default list,
    else every channel configured for their team."""
    if chosen is not None:
        return tuple(chosen)
    if config.default_channels:
        return config.default_channels
    return configured_channels(config)


def team_group_channels(config: ChannelConfig) -> tuple[str, ...]:
    """The group robots a team's daily digest goes to: its default list's robots, else every configured one."""
    wanted = config.default_channels or configured_channels(config)
    ready = set(configured_channels(config))
    return tuple(c for c in wanted if c in GROUP_CHANNELS and c in ready)


def environment_config() -> ChannelConfig:
    """The defaults from the environment (WECOM_*, DINGTALK_*, FEISHU_*)."""
    return ChannelConfig(
        wecom_webhook_url=settings.WECOM_WEBHOOK_URL,
        wecom_api_base=settings.WECOM_API_BASE,
        wecom_corp_id=settings.WECOM_CORP_ID,
        wecom_corp_secret=settings.WECOM_CORP_SECRET,
        wecom_agent_id=settings.WECOM_AGENT_ID,
        dingtalk_webhook_url=settings.DINGTALK_WEBHOOK_URL,
        dingtalk_secret=settings.DINGTALK_SECRET,
        feishu_webhook_url=settings.FEISHU_WEBHOOK_URL,
        feishu_secret=settings.FEISHU_SECRET,
    )


# Each secret setting and the column that holds it encrypted.
SECRET_COLUMNS = {
    "wecom_webhook_url": "wecom_webhook_url_enc",
    "wecom_corp_secret": "wecom_corp_secret_enc",
    "dingtalk_webhook_url": "dingtalk_webhook_url_enc",
    "dingtalk_secret": "dingtalk_secret_enc",
    "feishu_webhook_url": "feishu_webhook_url_enc",
    "feishu_secret": "feishu_secret_enc",
}


def _own_and_unreadable(row: ChannelSettings) -> tuple[dict[str, str], frozenset[str]]:
    """The fields a team sets itself (decrypted; empty ones are inherited), and those no key decrypts."""
    values = {
        "wecom_api_base": row.wecom_api_base.rstrip("/"),
        "wecom_corp_id": row.wecom_corp_id,
        "wecom_agent_id": row.wecom_agent_id,
    }
    unreadable = set()
    for name, column in SECRET_COLUMNS.items():
        try:
            values[name] = crypto.decrypt(getattr(row, column))
        except crypto.SecretUnreadable:
            unreadable.add(name)
    return {k: v for k, v in values.items() if v}, frozenset(unreadable)


def inherit(config: ChannelConfig, own: dict[str, str], unreadable: frozenset[str] = frozenset()) -> ChannelConfig:
    """`config` (the parent's) overridden by a team's own fields; a field it set but cannot be read is
    not inherited either (it is marked unreadable), nor is a secret bound to an endpoint it changed."""
    changes: dict[str, str] = {name: "" for name in unreadable} | own
    for endpoint, secret in BOUND_SECRETS.items():
        if endpoint in changes:
            changes.setdefault(secret, "")
    still_unreadable = (config.unreadable - changes.keys()) | unreadable
    return replace(config, **changes, unreadable=frozenset(still_unreadable))  # type: ignore[arg-type]  # str fields only


def team_configs() -> dict[int, ChannelConfig]:
    """Every team's effective settings: environment, then each ancestor, nearest last. Two queries.

    A team whose stored secrets no key decrypts gets its own config marked unreadable; it never
    stops the other teams' settings from loading."""
    parents = dict(Team.objects.values_list("pk", "parent_id"))
    rows = list(ChannelSettings.objects.all())
    own = {row.team_id: _own_and_unreadable(row) for row in rows}
    defaults = {row.team_id: tuple(c for c in row.default_channels or () if c in Channel.values) for row in rows}
    base = environment_config()
    nothing: tuple[dict[str, str], frozenset[str]] = ({}, frozenset())
    resolved: dict[int, ChannelConfig] = {}
    for team_id in parents:
        config = base
        chain = team_chain(team_id, parents)
        for ancestor in reversed(chain):  # the farthest first, the team itself last
            config = inherit(config, *own.get(ancestor, nothing))
        listed = next((d for t in chain if (d := defaults.get(t))), ())
        resolved[team_id] = replace(config, default_channels=listed)
    return resolved


@dataclass(frozen=True)
class Address:
    """A resolved recipient: the target to send to, a masked label for the log, a rate-limit key;
    `problem` says why it cannot be sent to (its settings cannot be decrypted)."""

    target: Target
    label: str
    rate_key: str = ""
    problem: str = ""


_NEEDS: dict[str, tuple[str, ...]] = {
    Channel.WECOM_GROUP: ("wecom_webhook_url",),
    Channel.WECOM_APP: ("wecom_corp_secret",),
    Channel.DINGTALK: ("dingtalk_webhook_url", "dingtalk_secret"),
    Channel.FEISHU: ("feishu_webhook_url", "feishu_secret"),
}


def _rate_key(channel: str, address: str) -> str:
    return hashlib.sha256(f"{channel}|{address}".encode()).hexdigest()[:32]


def address_for(channel: str, *, config: ChannelConfig, wecom_userid: str, email: str) -> Address | None:
    """Where `channel` reaches this person under `config`, or None when it is not configured."""
    broken = [name for name in _NEEDS.get(channel, ()) if name in config.unreadable]
    if broken and (channel != Channel.WECOM_APP or wecom_userid):
        return Address(Target(""), "••••", problem=f"team channel settings {', '.join(broken)} {UNREADABLE}")
    if channel == Channel.WECOM_GROUP and config.wecom_webhook_url:
        url = config.wecom_webhook_url
        return Address(Target(url), crypto.mask(url), _rate_key(channel, url))
    if channel == Channel.WECOM_APP and wecom_userid and config.wecom_corp_id and config.wecom_corp_secret:
        target = Target(
            wecom_userid,
            secret=config.wecom_corp_secret,
            api_base=config.wecom_api_base or settings.WECOM_API_BASE,
            corp_id=config.wecom_corp_id,
            agent_id=config.wecom_agent_id,
        )
        return Address(target, wecom_userid)
    if channel == Channel.DINGTALK and config.dingtalk_webhook_url:
        url = config.dingtalk_webhook_url
        return Address(Target(url, secret=config.dingtalk_secret), crypto.mask(url), _rate_key(channel, url))
    if channel == Channel.FEISHU and config.feishu_webhook_url:
        url = config.feishu_webhook_url
        return Address(Target(url, secret=config.feishu_secret), crypto.mask(url), _rate_key(channel, url))
    if channel == Channel.EMAIL and email and settings.NOTIFY_EMAIL_ENABLED:
        return Address(Target(email), email)
    return None


def teams_with_own_channels() -> set[int]:
    """The teams that set any channel of their own (the rest inherit); read from the stored columns,
    nothing decrypted."""
    stored = [*SECRET_COLUMNS.values(), "wecom_api_base", "wecom_corp_id", "wecom_agent_id"]
    has_any = Q()
    for column in stored:
        has_any |= ~Q(**{column: ""})
    return set(ChannelSettings.objects.filter(has_any).values_list("team_id", flat=True))


def masked_settings(row: ChannelSettings) -> dict[str, str]:
    """A team's secrets as they may be shown back: masked ("cannot be decrypted" when no key opens one)."""
    own, unreadable = _own_and_unreadable(row)
    shown = {f.name: crypto.mask(own[f.name]) for f in fields(ChannelConfig) if own.get(f.name)}
    return shown | {name: str(_("cannot be decrypted")) for name in sorted(unreadable)}


def inbox_list(*, user: User, unread_only: bool = False) -> QuerySet[InboxMessage]:
    """A user's inbox, newest first."""
    qs = InboxMessage.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at=None)
    return qs.order_by("-created_at", "-id")


@dataclass(frozen=True)
class EndpointRow:
    """A webhook endpoint as the Settings list shows it: its URL masked and its last delivery."""

    endpoint: WebhookEndpoint
    url: str
    last_status: str | None
    last_at: datetime | None

    @property
    def last_status_label(self) -> str:
        return str(WebhookDelivery.Status(self.last_status).label) if self.last_status else ""


def webhook_endpoint_rows() -> list[EndpointRow]:
    """Every endpoint with its last delivery, in one query (the log may hold thousands per endpoint)."""
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-pk")
    endpoints = WebhookEndpoint.objects.annotate(
        last_status=Subquery(latest.values("status")[:1]), last_at=Subquery(latest.values("created_at")[:1])
    ).order_by("name", "pk")
    return [EndpointRow(e, crypto.mask(e.url), e.last_status, e.last_at) for e in endpoints]
