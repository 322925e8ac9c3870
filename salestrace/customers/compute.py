"""Pure customer arithmetic: pinyin search keys and lead vitality colours. No ORM, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pypinyin import Style, lazy_pinyin

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

GREEN = "green"
YELLOW = "yellow"
ORANGE = "orange"
RED = "red"
COLOURS = (GREEN, YELLOW, ORANGE, RED)


def search_key(text: str) -> str:
    """Lowercase ASCII letters and digits only: how queries and pinyin keys are compared."""
    return _NOT_ALNUM.sub("", text.lower())


def pinyin_keys(name: str) -> tuple[str, str]:
    """Full toneless pinyin and initials of a name: '张三(2号店)' -> ('zhangsan2haodian', 'zs2hd').

    Characters that are not Chinese (letters, digits) stay as they are in both keys.
    """
    full = lazy_pinyin(name, errors="default")
    initials = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")
    return search_key("".join(full))[:1000], search_key("".join(initials))[:200]


@dataclass(frozen=True)
class VitalityBands:
    """Most idle days for each colour; anything above `orange_days` is red."""

    green_days: int = 7
    yellow_days: int = 15
    orange_days: int = 30

    @classmethod
    def from_thresholds(cls, values: dict[str, Decimal]) -> VitalityBands:
        """Bands from the template's `vitality_*_days` thresholds, defaults where missing."""
        default = cls()
        return cls(
            green_days=int(values.get("vitality_green_days", default.green_days)),
            yellow_days=int(values.get("vitality_yellow_days", default.yellow_days)),
            orange_days=int(values.get("vitality_orange_days", default.orange_days)),
        )


def idle_days(last_active_at: datetime, now: datetime) -> int:
    """Whole days since the last action (0 for anything within 24 h, never negative)."""
    return max(0, (now - last_active_at).days)


def vitality_colour(days: int, bands: VitalityBands) -> str:
    """Green up to green_days, yellow up to yellow_days, orange up to orange_days, then red."""
    if days <= bands.green_days:
        return GREEN
    if days <= bands.yellow_days:
        return YELLOW
    if days <= bands.orange_days:
        return ORANGE
    return RED


def vitality_window(colour: str, bands: VitalityBands, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(after, until): a colour's last-active times are > after and <= until; None is unbounded.

    A customer idle `d` whole days has now - (d+1) days < last_active_at <= now - d days.
    """

    def edge(days: int) -> datetime:
        return now - timedelta(days=days + 1)

    if colour == GREEN:
        return edge(bands.green_days), None
    if colour == YELLOW:
        return edge(bands.yellow_days), edge(bands.green_days)
    if colour == ORANGE:
        return edge(bands.orange_days), edge(bands.yellow_days)
    if colour == RED:
        return None, edge(bands.orange_days)
    raise ValueError(f"unknown vitality colour {colour!r}")
