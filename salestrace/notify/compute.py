"""Group-robot digests: packing pieces into as few vendor messages as the vendor's size limit allows.

Pure: messages in, messages out; no ORM, no clock. Also: a delivery failure in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from salestrace.notify.models import Channel
from salestrace.notify.transports import Message, dingtalk, feishu, wecom_group

# Each group robot's own measure of a message, and the most it accepts.
SIZE_LIMITS: dict[str, tuple[Callable[[Message], int], int]] = {
    Channel.WECOM_GROUP: (wecom_group.size, wecom_group.MARKDOWN_MAX_BYTES),
    Channel.DINGTALK: (dingtalk.size, dingtalk.MARKDOWN_MAX_BYTES),
    Channel.FEISHU: (feishu.size, feishu.BODY_MAX_BYTES),
}


def fits(channel: str, message: Message) -> bool:
    """Whether `channel`'s vendor takes `message` whole (channels without a limit take anything)."""
    if channel not in SIZE_LIMITS:
        return True
    size, limit = SIZE_LIMITS[channel]
    return size(message) <= limit


def pack(pieces: Sequence[Message], fits_one: Callable[[Message], bool]) -> list[Message]:
    """Consecutive pieces merged into as few messages as fit, in order; split only where the next piece
    would not fit. A piece too big on its own stays alone (the transport truncates it)."""
    packed: list[Message] = []
    current: Message | None = None
    for piece in pieces:
        if current is None:
            current = piece
            continue
        trial = current.merged([piece])
        if fits_one(trial):
            current = trial
        else:
            packed.append(current)
            current = piece
    if current is not None:
        packed.append(current)
    return packed


# --- a delivery failure in plain words (the Settings page's test button) ------------------------------

_VENDOR_CODES: dict[str, dict[str, StrOrPromise]] = {
    Channel.WECOM_GROUP: {
        "93000": _("The robot's webhook key is wrong, or the robot was removed from the group."),
        "45009": _("The robot is sending too fast (20 messages a minute); try again in a minute."),
    },
    Channel.WECOM_APP: {
        "40001": _("The corp secret is wrong (or belongs to another app)."),
        "40013": _("The corp id is wrong."),
        "40056": _("The agent id is wrong."),
        "60020": _("This server's IP address is not on the app's trusted IP list."),
        "81013": _("The recipient is not in the app's visible range, or their WeCom user id is wrong."),
        "45009": _("Too many messages; try again in a minute."),
    },
    Channel.DINGTALK: {
        "310000 (keyword)": _("The robot requires a custom keyword the message does not contain."),
        "310000 (signature)": _("The signature was refused: the signing secret is wrong (or the server clock is off)."),
        "310000 (ip)": _("This server's IP address is not in the robot's IP whitelist."),
        "310000": _("The robot's security settings refused the message: signing secret, keyword or IP whitelist."),
        "300001": _("The robot's access token is wrong."),
        "400013": _("The robot no longer exists."),
        "130101": _("The robot is sending too fast (20 messages a minute); it is blocked for 10 minutes."),
    },
    Channel.FEISHU: {
        "19021": _("The signature was refused: the signing secret is wrong (or the server clock is off)."),
        "19022": _("This server's IP address is not in the bot's IP whitelist."),
        "19024": _("The bot requires a custom keyword the message does not contain."),
        "19001": _("The bot's webhook address is wrong."),
        "9499": _("The bot's webhook address is wrong."),
        "11232": _("The bot is sending too fast; try again in a minute."),
    },
}


def failure_text(channel: str, error: str) -> str:
    """A delivery error (as the transports raise it: no secret, no vendor body) in words an admin acts on."""
    match = re.search(r"(?:errcode|code) (\d+(?: \(\w+\))?)", error)
    if match:
        code = match.group(1)
        known = _VENDOR_CODES.get(channel, {})
        text = known.get(code) or known.get(code.split(" ")[0])
        if text:
            return str(text)
        return str(_("The vendor refused the message (code %(code)s).")) % {"code": code}
    if error.startswith("URL refused"):
        return str(_("The address is not the vendor's own: it was not called."))
    if error.startswith("network error"):
        return str(_("The vendor's server could not be reached (network, DNS or firewall)."))
    if "cannot be decrypted" in error:
        return str(_("The saved secret cannot be decrypted: was NOTIFY_ENCRYPTION_KEY changed? Enter it again."))
    if error.startswith("HTTP "):
        return str(_("The vendor answered %(status)s: check the address.")) % {"status": error.split(":")[0]}
    return error
