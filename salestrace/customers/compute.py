"""Pure customer arithmetic: pinyin search keys and lead vitality colours. No ORM, no clock."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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


_BAND_CODES = ("vitality_green_days", "vitality_yellow_days", "vitality_orange_days")


@dataclass(frozen=True)
class VitalityBands:
    """Most idle days for each colour; anything above `orange_days` is red.

    A template may set bands per customer kind or stage with a `__<code>` suffix
    (`vitality_orange_days__contract_signing: 45`); a stage's bands beat a kind's, which beat the default.
    """

    green_days: int = 7
    yellow_days: int = 15
    orange_days: int = 30
    overrides: Mapping[str, VitalityBands] = field(default_factory=dict, compare=False)

    @classmethod
    def from_thresholds(cls, values: Mapping[str, Decimal]) -> VitalityBands:
        """Bands from the template's `vitality_*_days` thresholds, defaults where missing."""
        default = cls()
        green = int(values.get("vitality_green_days", default.green_days))
        yellow = int(values.get("vitality_yellow_days", default.yellow_days))
        orange = int(values.get("vitality_orange_days", default.orange_days))
        keys = {code.split("__", 1)[1] for code in values if "__" in code and code.split("__", 1)[0] in _BAND_CODES}
        overrides = {
            key: cls(
                green_days=int(values.get(f"vitality_green_days__{key}", green)),
                yellow_days=int(values.get(f"vitality_yellow_days__{key}", yellow)),
                orange_days=int(values.get(f"vitality_orange_days__{key}", orange)),
            )
            for key in keys
            if key
        }
        return cls(green_days=green, yellow_days=yellow, orange_days=orange, overrides=overrides)

    def for_customer(self, kind: str, stage: str) -> VitalityBands:
        """The bands that apply to a customer of this kind at this stage."""
        return self.overrides.get(stage) or self.overrides.get(kind) or self


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
