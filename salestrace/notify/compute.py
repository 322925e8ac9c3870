"""Group-robot digests: packing pieces into as few vendor messages as the vendor's size limit allows.

Pure: messages in, messages out; no ORM, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
