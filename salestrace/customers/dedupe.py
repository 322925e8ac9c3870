"""Telling whether two customers are the same (查重): the keys a duplicate check compares. Pure.

A name is compared after NFKC (full-width letters, digits and brackets become half-width), case
folding, dropping spaces, punctuation and brackets (but not what is inside them: 联华超市(江宁店) and
联华超市(河西店) are two stores), and dropping a legal-form or shop suffix (有限公司, 股份有限公司,
店 …). Phones are compared as digits without the country code. The unified social credit code
(统一社会信用代码, GB 32100-2015) is checked by its check character. Near names are scored with
rapidfuzz's normalized Indel similarity (0-100).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz

from salestrace.customers.compute import pinyin_keys

# Longest first: "股份有限公司" before "有限公司" before "公司".
SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "集团公司",
    "分公司",
    "公司",
    "旗舰店",
    "专卖店",
    "分店",
    "门店",
    "店",
)
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
# A name whose normalized key differs but scores at least this is "possibly the same".
NEAR_SCORE = 85.0
MIN_PHONE_DIGITS = 7
# Between numbers: commas, semicolons, slashes or 、 — not spaces, which people put inside one
# number ("025-8888 6666").
_PHONE_SPLIT = re.compile(r"[,，;；/、]+")

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def name_key(name: str) -> str:
    """联华超市（江宁店） -> 联华超市江宁; ＡＢＣ有限公司 -> abc."""
    text = _DROP.sub("", unicodedata.normalize("NFKC", name).casefold())
    for suffix in SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text[:200]


def name_sound(name: str) -> str:
    """The pinyin of a name's key: 联华 and 连华 sound alike (a near match, never an exact one)."""
    return pinyin_keys(name_key(name))[0][:300]


_DIGITS = re.compile(r"\d+")


def key_similarity(a: str, b: str) -> float:
    """0-100: how alike two name keys are; 0 when they carry different numbers (门店1 and 门店10,
    1号店 and 2号店 are different shops however alike the rest is)."""
    if _DIGITS.findall(a) != _DIGITS.findall(b):
        return 0.0
    return float(fuzz.ratio(a, b))


def similarity(a: str, b: str) -> float:
    """0-100: how alike two names are (their keys compared)."""
    return key_similarity(name_key(a), name_key(b))


def phone_key(text: str) -> str:
    """Digits only, without +86 / 0086: "+86 138-0013-8000" -> "13800138000"; "" when too short."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 11:
            digits = digits[len(prefix) :]
            break
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


def split_phones(text: str) -> list[str]:
    """The numbers in a "phones" field as typed (comma, 、 or slash between them)."""
    return [part.strip() for part in _PHONE_SPLIT.split(text.strip()) if part.strip()]


def bad_phones(text: str) -> list[str]:
    """The parts of a phones field that are not a phone number (fewer than 7 digits)."""
    return [part for part in split_phones(text) if not phone_key(part)]


def phone_keys(texts: Iterable[str]) -> list[str]:
    keys: list[str] = []
    for text in texts:
        for part in split_phones(text):
            if (key := phone_key(part)) and key not in keys:
                keys.append(key)
    return keys


def credit_code(text: str) -> str:
    """A credit code as stored: half-width, upper case, no spaces."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text)).upper()


def credit_code_valid(code: str) -> bool:
    """GB 32100-2015: 18 characters from the code's alphabet, the last a check character over the first 17."""
    if len(code) != 18 or any(ch not in _CREDIT_CHARS for ch in code):
        return False
    total = sum(_CREDIT_CHARS.index(ch) * w for ch, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31] == code[17]


_NAMES_SPLIT = re.compile(r"[,，、;；/\s]+")


def split_names(text: str) -> list[str]:
    """Contact names as typed (comma, 、 or space between them)."""
    return [part for part in _NAMES_SPLIT.split(text.strip()) if part]
