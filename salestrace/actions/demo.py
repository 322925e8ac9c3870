"""Pictures for the demo team and the tests: a shop shelf drawn with Pillow. Pure."""

from __future__ import annotations

import io
import random
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image, ImageDraw


def shelf_photo(
    *, taken_at: datetime | None = None, size: tuple[int, int] = (800, 600), seed: int = 0, fmt: str = "JPEG"
) -> bytes:
    """A shop-shelf-like picture: coloured bands and boxes; EXIF capture time (camera wall clock,
    as given) when `taken_at` is set. Different seeds give pictures that do not look alike."""
    image = Image.new("RGB", size, (200, 180 + seed % 50, 150))
    draw = ImageDraw.Draw(image)
    width, height = size
    for i in range(8):
        x = (i * width) // 8
        draw.rectangle((x, 0, x + width // 16, height), fill=((i * 37 + seed * 11) % 255, 90, 160 - i * 10))
    draw.ellipse((width // 3, height // 4, width // 2, height // 2), fill=(250, 240, 40))
    rng = random.Random(seed)
    for _ in range(6):  # products on the shelf, placed by the seed
        x, y = rng.randrange(width), rng.randrange(height)
        shade = rng.choice([(20, 20, 20), (245, 245, 245), (200, 30, 30), (30, 30, 200)])
        draw.rectangle((x, y, x + width // 5, y + height // 4), fill=shade)
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
