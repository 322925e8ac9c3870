"""Real files for evidence tests, made with Pillow, the Noto CJK font and the wave module."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Sequence

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont

from salestrace.actions.demo import shelf_photo as photo_bytes

__all__ = ["photo_bytes"]


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
