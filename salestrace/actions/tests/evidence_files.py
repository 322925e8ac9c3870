"""Real files for evidence tests, made with Pillow, the Noto CJK font and the wave module."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageDraw, ImageFont


def photo_bytes(
    *, taken_at: datetime | None = None, size: tuple[int, int] = (800, 600), seed: int = 0, fmt: str = "JPEG"
) -> bytes:
    """A shop-shelf-like picture: coloured bands and boxes; EXIF capture time when given."""
    image = Image.new("RGB", size, (200, 180 + seed % 50, 150))
    draw = ImageDraw.Draw(image)
    width, height = size
    for i in range(8):
        x = (i * width) // 8
        draw.rectangle((x, 0, x + width // 16, height), fill=((i * 37 + seed * 11) % 255, 90, 160 - i * 10))
    draw.ellipse((width // 3, height // 4, width // 2, height // 2), fill=(250, 240, 40))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {"quality": 92} if fmt == "JPEG" else {}
    if taken_at is not None:
        exif = Image.Exif()
        stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        exif[ExifTags.Base.DateTime] = stamp
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = stamp
        kwargs["exif"] = exif
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def chat_screenshot_bytes(messages: Sequence[str]) -> bytes:
    """A WeChat-like chat: grey background, white and green bubbles, Chinese text in Noto Sans CJK."""
    font = ImageFont.truetype(settings.EVIDENCE_FONT_PATH, 34)
    width, line = 900, 110
    image = Image.new("RGB", (width, 140 + line * len(messages)), (237, 237, 237))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 90), fill=(247, 247, 247))
    draw.text((width // 2 - 90, 25), "联华超市王店长", font=font, fill=(0, 0, 0))
    y = 120
    for i, text in enumerate(messages):
        mine = i % 2 == 1
        box_w = int(draw.textlength(text, font=font)) + 40
        x = width - box_w - 40 if mine else 40
        draw.rounded_rectangle((x, y, x + box_w, y + 70), radius=10, fill=(149, 236, 105) if mine else (255, 255, 255))
        draw.text((x + 20, y + 14), text, font=font, fill=(0, 0, 0))
        y += line
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def wav_bytes(*, seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV with a 440 Hz tone."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate))) for n in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)
