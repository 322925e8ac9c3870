"""Pure work on evidence files: sniff the type from the bytes, measure recordings, read EXIF, hash, burn a watermark.

No ORM, no clock: bytes and values in, values out. A file we cannot accept raises `BadFile`
with a stable code; the service turns it into a translated 4xx.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from mutagen import MutagenError
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from PIL import ExifTags, Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
HASH_SIDE = 8  # an 8x8 average hash: 64 bits, 16 hex digits


class BadFile(Exception):
    """The upload is not a file we accept; `code` says why (stable, for the API)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ImageFacts:
    mime_type: str
    width: int
    height: int
    taken_at: datetime | None
    has_exif: bool
    image_hash: str


def sniff_audio(data: bytes) -> str:
    """The MIME type of a recording from its magic bytes; BadFile("unsupported_type") otherwise."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if data[:6] == b"#!AMR\n":
        return "audio/amr"
    if data[:9] == b"#!AMR-WB\n":
        return "audio/amr-wb"
    raise BadFile("unsupported_type")


def wav_seconds(data: bytes) -> float | None:
    """Length of a WAV recording in seconds; None when the header cannot tell."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else None
    except (wave.Error, EOFError):
        raise BadFile("truncated") from None


# Bytes per AMR storage frame, header byte included, by frame type (3GPP TS 26.101 table 1a for
# AMR-NB, TS 26.201 table 2 for AMR-WB, packed as in RFC 4867 section 5). None: a frame type no
# AMR file may hold. Every frame, "no data" ones too, stands for 20 ms of sound.
_AMR_NB_FRAME_BYTES = (13, 14, 16, 18, 20, 21, 27, 32, 6, None, None, None, None, None, None, 1)
_AMR_WB_FRAME_BYTES = (18, 24, 33, 37, 41, 47, 51, 59, 61, 6, None, None, None, None, 1, 1)
_AMR_FRAME_SECONDS = 0.020


def amr_seconds(data: bytes, *, magic: bytes, frame_bytes: Sequence[int | None]) -> float:
    """Length of a single-channel AMR file by walking its frame headers; BadFile("truncated") on a bad one."""
    if not data.startswith(magic):
        raise BadFile("truncated")
    offset, frames = len(magic), 0
    while offset < len(data):
        header = data[offset]
        size = frame_bytes[(header >> 3) & 0x0F]
        # The first bit and the last two are padding and must be zero.
        if size is None or header & 0x83 or offset + size > len(data):
            raise BadFile("truncated")
        offset += size
        frames += 1
    return frames * _AMR_FRAME_SECONDS


def _mutagen_seconds(data: bytes, mime_type: str) -> float:
    readers = {"audio/mpeg": (MP3,), "audio/mp4": (MP4,), "audio/ogg": (OggVorbis, OggOpus)}[mime_type]
    for reader in readers:
        try:
            info = reader(io.BytesIO(data)).info
        except (MutagenError, EOFError, struct.error, ValueError):
            continue
        # A cut-off Opus stream can end before its own pre-skip: a negative length.
        if info is not None and info.length >= 0:
            return float(info.length)
    raise BadFile("truncated")


def audio_seconds(data: bytes, mime_type: str) -> float | None:
    """Length in seconds of a recording of a type `sniff_audio` named; None for a type we cannot measure.

    A header that cannot be read raises BadFile("truncated").
    """
    if mime_type == "audio/wav":
        return wav_seconds(data)
    if mime_type == "audio/amr":
        return amr_seconds(data, magic=b"#!AMR\n", frame_bytes=_AMR_NB_FRAME_BYTES)
    if mime_type == "audio/amr-wb":
        return amr_seconds(data, magic=b"#!AMR-WB\n", frame_bytes=_AMR_WB_FRAME_BYTES)
    if mime_type in {"audio/mpeg", "audio/mp4", "audio/ogg"}:
        return _mutagen_seconds(data, mime_type)
    return None


def _exif_time(exif: Image.Exif, local_tz: tzinfo) -> datetime | None:
    raw = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if not isinstance(raw, str):
        return None
    try:
        # EXIF times carry no zone: the camera's wall clock, which for our reps is China time.
        return datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(tzinfo=local_tz)
    except ValueError:
        return None


def average_hash(image: Image.Image) -> str:
    """64-bit average hash as 16 hex digits: near-identical pictures differ in a few bits."""
    small = ImageOps.exif_transpose(image).convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS)
    pixels = list(small.tobytes())
    mean = sum(pixels) / len(pixels)
    bits = "".join("1" if p > mean else "0" for p in pixels)
    return f"{int(bits, 2):016x}"


def hash_distance(a: str, b: str) -> int:
    """How many bits two average hashes differ in."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def check_image(data: bytes, *, max_pixels: int) -> str:
    """What must be known before an upload is answered, without decoding the picture: the type
    from the bytes, the pixel count (decompression bomb) and whether the file is complete.
    Returns the MIME type; BadFile otherwise. The full decode comes later (`inspect_image`).
    """
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in IMAGE_TYPES:
                raise BadFile("unsupported_type")
            width, height = probe.size
            if width * height > max_pixels:
                raise BadFile("too_many_pixels")
            mime_type = IMAGE_TYPES[str(probe.format)]
            scan_start = probe.tile[0][2] if probe.tile else len(data)
            probe.verify()  # a PNG's chunks are walked and their CRCs checked to the end
    except Image.DecompressionBombError:
        raise BadFile("too_many_pixels") from None
    except UnidentifiedImageError:
        raise BadFile("unsupported_type") from None
    except (OSError, SyntaxError, ValueError, struct.error):
        raise BadFile("truncated") from None
    if not _complete(data, mime_type, scan_start=scan_start):
        raise BadFile("truncated")
    return mime_type


def _complete(data: bytes, mime_type: str, *, scan_start: int) -> bool:
    if mime_type == "image/jpeg":
        # Inside the compressed scans FF is always followed by 00 or a restart marker, so a file cut
        # short has no FF D9 (end of image) after its first scan starts. Searched from the end,
        # where it normally is: bytes after it (a phone's "motion photo" video) do not matter.
        return data.rfind(b"\xff\xd9") >= scan_start
    if mime_type == "image/webp":
        # RIFF's own length field: the bytes the file says follow its first eight.
        return len(data) >= 8 + int.from_bytes(data[4:8], "little")
    return True


def inspect_image(data: bytes, *, max_pixels: int, local_tz: tzinfo) -> ImageFacts:
    """Check an uploaded picture fully (type, size, decompression bomb, truncation) and read its facts."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in IMAGE_TYPES:
                raise BadFile("unsupported_type")
            width, height = probe.size
            if width * height > max_pixels:
                raise BadFile("too_many_pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            # The hash needs 8×8 pixels: a JPEG is decoded at up to 1/8 scale (every byte is still
            # read, so a truncated file is still caught), about ten times faster on a phone photo.
            image.draft("RGB", (HASH_SIDE * 16, HASH_SIDE * 16))
            image.load()
            exif = image.getexif()
            return ImageFacts(
                mime_type=IMAGE_TYPES[str(image.format)],
                width=width,
                height=height,
                taken_at=_exif_time(exif, local_tz),
                has_exif=len(exif) > 0,
                image_hash=average_hash(image),
            )
    except Image.DecompressionBombError:
        raise BadFile("too_many_pixels") from None
    except UnidentifiedImageError:
        raise BadFile("unsupported_type") from None
    except (OSError, SyntaxError, ValueError):
        # Pillow reports a cut-off file as OSError ("image file is truncated") or SyntaxError.
        raise BadFile("truncated") from None


def photo_flags(
    *, has_exif: bool, taken_at: datetime | None, occurred_at: datetime, tolerance: timedelta, reused: bool
) -> list[str]:
    """Why a visit photo deserves a second look: no EXIF, EXIF time far from the visit, reused."""
    flags = []
    if not has_exif:
        flags.append("no_exif")
    if taken_at is not None and abs(taken_at - occurred_at) > tolerance:
        flags.append("exif_time_mismatch")
    if reused:
        flags.append("reused_photo")
    return flags


# The kinds of evidence a summary can be read from (OCR, speech-to-text).
READ_KINDS = frozenset({"screenshot", "audio"})


def summary_needed(summary: str, files: Iterable[tuple[str, str, str]]) -> bool:
    """Whether a person must still write the summary: it is blank, the action has screenshots or
    recordings to read it from, and none of them is being read or gave any text.

    `files` are (kind, recognition state, recognised text) of the action's evidence; photos are
    ignored.
    """
    readings = [(state, text) for kind, state, text in files if kind in READ_KINDS]
    if summary.strip() or not readings:
        return False
    return not any(state == "pending" or (state == "done" and text.strip()) for state, text in readings)


def watermark_lines(
    *,
    received_at: datetime,
    rep: str,
    customer: str,
    latitude: Decimal | None,
    longitude: Decimal | None,
    taken_at: datetime | None,
) -> list[str]:
    """The stamp's text, in Chinese, times in the zone of the datetimes given (Asia/Shanghai)."""
    lines = [f"收到 {received_at:%Y-%m-%d %H:%M:%S} 北京时间", f"业务员 {rep} · 客户 {customer}"]
    if latitude is not None and longitude is not None:
        lines.append(f"位置 {latitude:.5f}, {longitude:.5f}")
    if taken_at is not None:
        lines.append(f"拍摄 {taken_at:%Y-%m-%d %H:%M:%S}")
    return lines


def stamp_box(width: int, height: int, line_count: int) -> tuple[int, int, int, int]:
    """Where the stamp goes: a band across the bottom, tall enough for the lines."""
    size = font_size(width, height)
    band = min(height, (size + size // 3) * line_count + size)
    return 0, height - band, width, height


def font_size(width: int, height: int) -> int:
    return max(12, min(width, height) // 28)


def burn_watermark(data: bytes, lines: Sequence[str], *, font_path: str) -> bytes:
    """A JPEG of the photo (upright, as EXIF says) with the lines on a dark band at the bottom."""
    with Image.open(io.BytesIO(data)) as source:
        source.load()
        image = source if source.mode == "RGB" else source.convert("RGB")
        ImageOps.exif_transpose(image, in_place=True)
        width, height = image.size
        size = font_size(width, height)
        try:
            font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(font_path, size)
        except OSError:
            # No CJK font installed (apt fonts-noto-cjk): Chinese comes out as boxes, but the
            # photo is still stamped and kept rather than refused.
            font = ImageFont.load_default(size)
        box = stamp_box(width, height, len(lines))
        # Only the band is blended: compositing a whole 12-megapixel frame costs a quarter second.
        band = image.crop(box).convert("RGBA")
        overlay = Image.new("RGBA", band.size, (0, 0, 0, 150))
        draw = ImageDraw.Draw(overlay)
        y = size // 2
        for line in lines:
            draw.text((size // 2, y), line, font=font, fill=(255, 255, 255, 255))
            y += size + size // 3
        image.paste(Image.alpha_composite(band, overlay).convert("RGB"), box[:2])
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=88)
    return out.getvalue()
