"""The only writers of inboxes, the outbox/delivery log and team channel settings."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salestrace.catalog.models import SettingChange
from salestrace.catalog.selectors import may_configure
from salestrace.catalog.services import state_fingerprint
from salestrace.core.errors import Conflict, FieldError, NotFound, PermissionDenied, RuleViolation
from salestrace.notify import crypto, hosts
from salestrace.notify.compute import fits, pack
from salestrace.notify.models import Channel, ChannelSettings, Delivery, InboxMessage
from salestrace.notify.selectors import (
    GROUP_CHANNELS,
    SECRET_COLUMNS,
    ChannelConfig,
    address_for,
    channels_for,
    environment_config,
    masked_settings,
    team_configs,
    team_group_channels,
)
from salestrace.notify.transports import Message
from salestrace.org.models import Team, User

VALID_CHANNELS = frozenset(Channel.values)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """What the outbox needs of a person: ids, channel choices and vendor addresses."""

    user_id: int
    team_id: int | None
    channels: tuple[str, ...] | None  # None: the person made no choice (their team's channels apply)
    wecom_userid: str = ""
    email: str = ""


@dataclass(frozen=True)
class Note:
    """One message for one person; `dedupe_key` makes sending it twice impossible."""

    recipient: Recipient
    message: Message
    dedupe_key: str


def recipient_of(user: User) -> Recipient:
    """A person as the outbox needs them: their channel choices and vendor addresses."""
    chosen = None if user.notify_channels is None else tuple(user.notify_channels)
    return Recipient(user.pk, user.team_id, chosen, user.wecom_userid, user.email)


def notify_user(*, user: User, message: Message, dedupe_key: str, source: str, now: datetime) -> int:
    """One message for one person, on the channels their team has set up; see `notify`.

    Called from inside other writes (an action's save): a failure here is logged and costs only
    the message, in its own savepoint, never the caller's save."""
    try:
        with transaction.atomic():
            note = Note(recipient_of(user), message, dedupe_key)
            return notify(notes=[note], configs=team_configs(), source=source, now=now)
    except Exception as exc:
        # The class and the stack only: an exception's text may hold a secret.
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error("notification %s for user %s not queued: %s\n%s", dedupe_key, user.pk, type(exc).__name__, stack)
        return 0


def notify(
    *,
    notes: Sequence[Note],
    configs: dict[int, ChannelConfig],
    source: str,
    now: datetime,
    personal_only: bool = False,
) -> int:
    """Put each note in its recipient's inbox and queue one delivery per chosen, configured channel.

    Idempotent: a note whose dedupe key was seen before adds nothing. Returns deliveries queued.
    Two bulk inserts whatever the number of notes (the 18:00 sweep sends thousands).
    `personal_only`: skip group robots (the daily reminder reaches them as one team digest instead).
    """
    if not notes:
        return 0
    inbox = [
        InboxMessage(
            user_id=n.recipient.user_id,
            title=n.message.title[:200],
            payload=n.message.as_json(),
            link=n.message.link[:500],
            source=source,
            dedupe_key=n.dedupe_key,
            created_at=now,
        )
        for n in notes
    ]
    default = environment_config()
    deliveries = [
        delivery
        for n in notes
        for delivery in _deliveries(
            n,
            configs.get(n.recipient.team_id, default) if n.recipient.team_id is not None else default,
            source,
            now,
            personal_only=personal_only,
        )
    ]
    with transaction.atomic():
        InboxMessage.objects.bulk_create(inbox, ignore_conflicts=True, batch_size=500)
        return _queue(deliveries)


def _queue(deliveries: Sequence[Delivery]) -> int:
    """Insert the deliveries whose dedupe key is new; returns how many."""
    keys = [d.dedupe_key for d in deliveries]
    existing = set(Delivery.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)) if keys else set()
    fresh = [d for d in deliveries if d.dedupe_key not in existing]
    Delivery.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=500)
    return len(fresh)


def _deliveries(
    note: Note, config: ChannelConfig, source: str, now: datetime, *, personal_only: bool
) -> Iterable[Delivery]:
    r = note.recipient
    for channel in dict.fromkeys(channels_for(r.channels, config)):
        if channel not in VALID_CHANNELS or (personal_only and channel in GROUP_CHANNELS):
            continue
        address = address_for(channel, config=config, wecom_userid=r.wecom_userid, email=r.email)
        if address is None:
            continue
        yield Delivery(
            channel=channel,
            user_id=r.user_id,
            team_id=r.team_id,
            recipient=address.label[:200],
            title=note.message.title[:200],
            payload=note.message.as_json(),
            source=source,
            dedupe_key=f"{note.dedupe_key}:{channel}"[:200],
            next_attempt_at=now,
            rate_key=address.rate_key,
            created_at=now,
        )


@dataclass(frozen=True)
class TeamDigest:
    """One team's message for its group robots, as pieces (a header, one per person) that may be
    split between vendor messages, and merged with other teams' digests on a shared robot."""

    team_id: int
    pieces: tuple[Message, ...]
    dedupe_key: str


def notify_teams(
    *, digests: Sequence[TeamDigest], configs: dict[int, ChannelConfig], source: str, now: datetime
) -> int:
    """Queue each team's digest to each group robot its team uses, split only at the vendor's size limit.

    The outbox sends digests of teams that share a robot together (see notify.jobs); idempotent by
    dedupe key. Returns deliveries queued.
    """
    default = environment_config()
    deliveries: list[Delivery] = []
    for digest in digests:
        if not digest.pieces:
            continue
        config = configs.get(digest.team_id, default)
        for channel in team_group_channels(config):
            address = address_for(channel, config=config, wecom_userid="", email="")
            if address is None:
                continue
            parts = pack(digest.pieces, partial(fits, channel))
            deliveries += [
                Delivery(
                    channel=channel,
                    team_id=digest.team_id,
                    recipient=address.label[:200],
                    title=part.title[:200],
                    payload=part.as_json(),
                    source=source,
                    dedupe_key=f"{digest.dedupe_key}:{channel}:{i}"[:200],
                    next_attempt_at=now,
                    rate_key=address.rate_key,
                    created_at=now,
                )
                for i, part in enumerate(parts)
            ]
    with transaction.atomic():
        return _queue(deliveries)


def delivery_retry(*, delivery_ids: Iterable[int], now: datetime) -> int:
    """Send failed deliveries again (an admin's decision after fixing a webhook); returns how many."""
    return Delivery.objects.filter(pk__in=list(delivery_ids), status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, next_attempt_at=now
    )


def inbox_mark_read(*, user_id: int, message_ids: Iterable[int], now: datetime) -> int:
    """Mark a user's own messages read."""
    return InboxMessage.objects.filter(user_id=user_id, pk__in=list(message_ids), read_at=None).update(read_at=now)


SECRET_FIELDS = SECRET_COLUMNS
PLAIN_FIELDS = ("wecom_api_base", "wecom_corp_id", "wecom_agent_id")
# The endpoints a team may set, and whose hosts they must be on (see hosts.py).
ENDPOINT_VENDORS = {
    "wecom_webhook_url": "wecom",
    "wecom_api_base": "wecom",
    "dingtalk_webhook_url": "dingtalk",
    "feishu_webhook_url": "feishu",
}


def endpoint_error(name: str, url: str) -> str | None:
    """Why `url` may not be set as the endpoint `name` (a translated sentence), or None when it may."""
    vendor = ENDPOINT_VENDORS[name]
    found = hosts.problem(url, vendor=vendor, allowed=hosts.parse_allowed(settings.NOTIFY_ALLOWED_HOSTS))
    if found is None:
        return None
    return {
        hosts.Problem.MALFORMED: _("Enter a complete URL."),
        hosts.Problem.SCHEME: _("The URL must start with https://."),
        hosts.Problem.USERINFO: _("The URL must not contain a user name or password."),
        hosts.Problem.HOST: _(
            "Only the vendor's own address (%(hosts)s) is allowed here; a self-hosted gateway must be "
            "added to NOTIFY_ALLOWED_HOSTS by whoever runs the server."
        )
        % {"hosts": ", ".join(hosts.VENDOR_HOSTS[vendor])},
    }[found]


@transaction.atomic
def channel_settings_update(*, team: Team, changes: dict[str, str | None]) -> ChannelSettings:
    """Set a team's channel settings; secrets are encrypted. None keeps a value, "" clears it.

    ValidationError (by field) when an endpoint is not on its vendor's host (NOTIFY_ALLOWED_HOSTS)."""
    errors = {
        name: error
        for name, value in changes.items()
        if name in ENDPOINT_VENDORS and value and (error := endpoint_error(name, value.strip()))
    }
    if errors:
        raise ValidationError(errors)
    row, _created = ChannelSettings.objects.select_for_update().get_or_create(team=team)
    for name, value in changes.items():
        if value is None:
            continue
        if name in SECRET_FIELDS:
            setattr(row, SECRET_FIELDS[name], crypto.encrypt(value.strip()))
        elif name in PLAIN_FIELDS:
            setattr(row, name, value.strip().rstrip("/") if name == "wecom_api_base" else value.strip())
        else:
            raise ValueError(f"unknown channel setting {name!r}")
    row.save()
    return row


@dataclass(frozen=True)
class Reencrypted:
    """What `channel_settings_reencrypt` did: rows rewritten, and teams with a secret no key opens."""

    rows: int
    unreadable_team_ids: tuple[int, ...]


@transaction.atomic
def channel_settings_reencrypt() -> Reencrypted:
    """Encrypt every stored secret again under the first NOTIFY_ENCRYPTION_KEY (after a new key was put
    first). A secret no key opens is left as it is and its team reported, for an admin to type again."""
    rows, unreadable = 0, []
    for row in ChannelSettings.objects.select_for_update().order_by("pk"):
        broken = False
        for column in SECRET_FIELDS.values():
            try:
                setattr(row, column, crypto.reencrypt(getattr(row, column)))
            except crypto.SecretUnreadable:
                broken = True
        row.save(update_fields=[*SECRET_FIELDS.values()])
        rows += 1
        if broken:
            unreadable.append(row.team_id)
    return Reencrypted(rows, tuple(unreadable))


# --- the Settings page: a team's channels, changed by a configurer, recorded masked -------------------


def channel_fingerprint(team: Team) -> str:
    """A digest of a team's channels and reminder time as the page shows them (masked), so a save
    from a page shown before someone else's change is caught."""
    state = _masked_state(ChannelSettings.objects.filter(team=team).first())
    state["reminder_time"] = team.reminder_time.isoformat() if team.reminder_time else ""
    return state_fingerprint(state)


def _masked_state(row: ChannelSettings | None) -> dict[str, str]:
    if row is None:
        return {}
    shown = masked_settings(row) | {name: getattr(row, name) for name in PLAIN_FIELDS if getattr(row, name)}
    if row.default_channels:
        shown["default_channels"] = ",".join(row.default_channels)
    return shown


@transaction.atomic
def channel_settings_save(
    *,
    user: User,
    team_id: int,
    changes: dict[str, str | None],
    default_channels: list[str] | None,
    now: datetime,
    reminder_time: str | None = None,
    seen: str | None = None,
) -> list[str]:
    """Set a team's channel settings from the Settings page: configurers only; endpoints on their
    vendors' hosts (refused by field otherwise). Each changed setting is recorded in the settings
    history masked, as it is shown (a secret itself is never kept there). Returns what changed."""
    if not may_configure(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins may change the settings."))])
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound([FieldError(None, "not_found", _("No such team."))])
    unknown = [c for c in default_channels or () if c not in Channel.values]
    if unknown:
        raise RuleViolation([FieldError("default_channels", "invalid", _("No such channel."))])
    at: time | None = None
    if reminder_time:
        try:
            at = time.fromisoformat(reminder_time.strip())
        except ValueError:
            raise RuleViolation([FieldError("reminder_time", "invalid", _("Enter a time such as 18:00."))]) from None
    before = _masked_state(ChannelSettings.objects.select_for_update().filter(team=team).first())
    if seen is not None and channel_fingerprint(team) != seen:
        message = _("Someone else changed this team's channels meanwhile. Reload to see them.")
        raise Conflict([FieldError(None, "changed_meanwhile", message)])
    try:
        row = channel_settings_update(team=team, changes=changes)
    except ValidationError as exc:
        raise RuleViolation(
            [FieldError(name, "invalid", " ".join(messages)) for name, messages in exc.message_dict.items()]
        ) from None
    if default_channels is not None and list(row.default_channels) != default_channels:
        row.default_channels = default_channels
        row.save(update_fields=["default_channels", "updated_at"])
    if reminder_time is not None and team.reminder_time != at:
        before["reminder_time"] = team.reminder_time.strftime("%H:%M") if team.reminder_time else ""
        Team.objects.filter(pk=team.pk).update(reminder_time=at)
    after = _masked_state(row)
    if "reminder_time" in before:
        after["reminder_time"] = at.strftime("%H:%M") if at else ""
    retyped = {name for name, value in changes.items() if name in SECRET_FIELDS and value}
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) or k in retyped)
    for key in changed:
        SettingChange.objects.create(
            area=SettingChange.Area.CHANNEL,
            key=f"{team.pk}.{key}",
            before=before.get(key),
            after=after.get(key),
            changed_by=user,
            changed_at=now,
        )
    return changed


def channel_rollback(user: User, change: SettingChange, now: datetime) -> None:
    """Registered with catalog's setting_rollback: a secret is not kept in the history, so a channel
    change is undone by entering the earlier value again."""
    message = _("Secrets are not kept in the history: enter the earlier value again on the Channels page.")
    raise Conflict([FieldError(change.key, "not_kept", message)])
