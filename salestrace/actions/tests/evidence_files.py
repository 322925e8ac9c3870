"""Real files for evidence tests, made with Pillow, the Noto CJK font, the wave module, espeak-ng and ffmpeg."""

from __future__ import annotations

import io
import math
import random
import shutil
import struct
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

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


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"install {name} (make system-deps)"
    return path


def spoken_wav(text: str = "您好，我们下周二安排演示，价格按上次报价执行", *, voice: str = "cmn") -> bytes:
    """Speech from espeak-ng (Mandarin by default): a 22.05 kHz mono 16-bit WAV."""
    # Through a file: on stdout espeak-ng cannot go back to write the length into the header.
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run([_tool("espeak-ng"), "-v", voice, "-w", str(out), text], check=True)  # noqa: S603
        return out.read_bytes()


# ffmpeg output options per container: what a phone or WeChat would hand us.
FFMPEG_FORMATS = {
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    "ogg": ["-c:a", "libvorbis", "-f", "ogg"],
    "opus": ["-c:a", "libopus", "-f", "ogg"],
    "m4a": ["-c:a", "aac", "-f", "mp4"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
}


def ffmpeg(data: bytes, *options: str) -> bytes:
    """`data` run through ffmpeg with the given output options (through files: MP4 cannot stream)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in", Path(tmp) / "out"
        source.write_bytes(data)
        subprocess.run(  # noqa: S603
            [_tool("ffmpeg"), "-loglevel", "error", "-y", "-i", str(source), *options, str(target)], check=True
        )
        return target.read_bytes()


def ffprobe_packets(data: bytes) -> int:
    """How many packets (for AMR: frames) ffmpeg's demuxer finds in the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in"
        path.write_bytes(data)
        out = subprocess.run(  # noqa: S603
            [
                _tool("ffprobe"),
                "-v",
                "error",
                "-count_packets",
                "-show_entries",
                "stream=nb_read_packets",
                "-of",
                "csv=p=0",
                str(path),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return int(out.strip())


# Storage-frame sizes in bytes (header included) per frame type, from 3GPP TS 26.101 / 26.201;
# written out here rather than imported so the test does not share the code's table.
AMR_NB_SIZES = {0: 13, 1: 14, 2: 16, 3: 18, 4: 20, 5: 21, 6: 27, 7: 32, 8: 6, 15: 1}
AMR_WB_SIZES = {0: 18, 1: 24, 2: 33, 3: 37, 4: 41, 5: 47, 6: 51, 7: 59, 8: 61, 9: 6, 15: 1}


def amr_bytes(frame_types: Sequence[int], *, wideband: bool = False) -> bytes:
    """An AMR-NB (or AMR-WB) storage file with the given frame types; payload bits are noise.

    Debian's ffmpeg has no AMR encoder, so the frames are laid out by hand, header byte
    `0 FT(4) Q 0 0` then the mode's payload; ffmpeg's AMR demuxer is the independent judge.
    """
    sizes = AMR_WB_SIZES if wideband else AMR_NB_SIZES
    noise = random.Random(len(frame_types))
    out = bytearray(b"#!AMR-WB\n" if wideband else b"#!AMR\n")
    for frame_type in frame_types:
        out.append(frame_type << 3 | 0b100)
        out += bytes(noise.randrange(256) for _ in range(sizes[frame_type] - 1))
    return bytes(out)


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def run_photo_worker(now: datetime | None = None) -> int:
    """Do what the huey worker does after photo uploads: stamp, hash and flag every pending photo
    (`evidence_process`, the task's own code). Returns how many were processed."""
    from salestrace.actions.evidence_services import evidence_process
    from salestrace.actions.models import Evidence
    from salestrace.core import clock

    pending = Evidence.objects.filter(processing=Evidence.Processing.PENDING).order_by("pk")
    return sum(evidence_process(evidence_id=pk, now=now or clock.now()) for pk in pending.values_list("pk", flat=True))
