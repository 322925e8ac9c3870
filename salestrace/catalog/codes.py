"""The code of a new option, made once from its label: pinyin of the Chinese (预约演示 → yu_yue_yan_shi),
else the English words; never one already taken in its set. Pure."""

from __future__ import annotations

import re
from collections.abc import Collection

from pypinyin import lazy_pinyin

MAX_LENGTH = 50


def slug(text: str) -> str:
    """Lower-case ASCII words joined by "_" (Chinese read as pinyin); "" when nothing is left."""
    words = " ".join(lazy_pinyin(text.strip()))
    parts = re.findall(r"[a-z0-9]+", words.lower())
    return "_".join(parts)[:MAX_LENGTH].strip("_")


def code_for(label_zh: str, label_en: str, taken: Collection[str]) -> str:
    """A free code for an option labelled so: from the Chinese label, else the English one, else
    `option`; `_2`, `_3` … appended while it is taken."""
    base = slug(label_zh) or slug(label_en) or "option"
    if not base[0].isalpha():
        base = f"o_{base}"[:MAX_LENGTH]
    return free_code(base, taken, MAX_LENGTH)


def free_code(base: str, taken: Collection[str], max_length: int = MAX_LENGTH) -> str:
    """`base`, or `base_2`, `base_3` … (cut to `max_length`), the first not taken."""
    code, n = base[:max_length], 1
    while code in taken:
        n += 1
        suffix = f"_{n}"
        code = base[: max_length - len(suffix)] + suffix
    return code


def valid_code(code: str) -> bool:
    """A code a person may type before the option is first used: lower-case letters, digits, "_"."""
    return bool(re.fullmatch(r"[a-z][a-z0-9_]{0,49}", code))
