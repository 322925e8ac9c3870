"""Pure evidence work: the length of a recording read from its own format, no database.

Recordings are real: espeak-ng speech converted by ffmpeg. AMR files are laid out frame by frame
(Debian's ffmpeg cannot encode AMR) and ffmpeg's own AMR demuxer counts their frames as a check.
"""

from __future__ import annotations

import io
import wave

import pytest

from salestrace.actions import compute
from salestrace.actions.tests.evidence_files import (
    AMR_NB_SIZES,
    AMR_WB_SIZES,
    FFMPEG_FORMATS,
    amr_bytes,
    ffmpeg,
    ffprobe_packets,
    spoken_wav,
)


@pytest.fixture(scope="module")
def speech() -> bytes:
    return spoken_wav()


def wave_length(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate()


@pytest.mark.parametrize(
    ("fmt", "options", "mime_type"),
    [
        ("mp3", FFMPEG_FORMATS["mp3"], "audio/mpeg"),
        ("ogg vorbis", FFMPEG_FORMATS["ogg"], "audio/ogg"),
        ("ogg opus", FFMPEG_FORMATS["opus"], "audio/ogg"),
        ("m4a aac", FFMPEG_FORMATS["m4a"], "audio/mp4"),
        ("wav 8 kHz stereo", ["-ar", "8000", "-ac", "2", *FFMPEG_FORMATS["wav"]], "audio/wav"),
    ],
)
def test_a_recording_is_measured_in_its_own_format(speech, fmt, options, mime_type):
    # given seven and a half seconds of Mandarin speech, converted to the format
    spoken = wave_length(speech)
    assert 5 < spoken < 10
    data = ffmpeg(speech, *options)
    # when the upload is sniffed and measured
    sniffed = compute.sniff_audio(data)
    seconds = compute.audio_seconds(data, sniffed)
    # then the type is right and the length is the speech's, within 0.2 s of codec padding
    assert sniffed == mime_type
    assert seconds == pytest.approx(spoken, abs=0.2)


@pytest.mark.parametrize(
    ("wideband", "sizes", "mime_type"), [(False, AMR_NB_SIZES, "audio/amr"), (True, AMR_WB_SIZES, "audio/amr-wb")]
)
def test_an_amr_file_lasts_20_ms_per_frame_whatever_the_mode(wideband, sizes, mime_type):
    # given 300 frames at the top rate, then every mode, comfort noise and "no data" frames
    top = max(t for t in sizes if t < 8 + wideband)
    frame_types = [top] * 300 + sorted(sizes) * 10
    data = amr_bytes(frame_types, wideband=wideband)
    # when it is sniffed and measured
    sniffed = compute.sniff_audio(data)
    seconds = compute.audio_seconds(data, sniffed)
    # then every frame counts 20 ms, and ffmpeg's demuxer sees the same frames
    assert sniffed == mime_type
    assert seconds == pytest.approx(len(frame_types) * 0.020)
    assert ffprobe_packets(data) == len(frame_types)


@pytest.mark.parametrize(
    ("fmt", "kept"), [("mp3", 40), ("ogg", 40), ("opus", 40), ("opus", 400), ("m4a", 40), ("wav", 40)]
)
def test_a_recording_cut_inside_its_header_is_refused(speech, fmt, kept):
    head = ffmpeg(speech, *FFMPEG_FORMATS[fmt])[:kept]
    with pytest.raises(compute.BadFile) as refused:
        compute.audio_seconds(head, compute.sniff_audio(head))
    assert refused.value.code == "truncated"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda amr: amr[:-3], id="last frame cut short"),
        pytest.param(lambda amr: amr + bytes([12 << 3 | 0b100]), id="reserved frame type"),
        pytest.param(lambda amr: amr + bytes([0x80 | 7 << 3]) + bytes(31), id="padding bit set"),
    ],
)
def test_a_damaged_amr_file_is_refused(damage):
    data = damage(amr_bytes([7] * 50))
    with pytest.raises(compute.BadFile) as refused:
        compute.audio_seconds(data, "audio/amr")
    assert refused.value.code == "truncated"


def test_an_amr_wb_file_is_not_taken_for_amr_nb():
    assert compute.sniff_audio(b"#!AMR-WB\n") == "audio/amr-wb"
    assert compute.sniff_audio(b"#!AMR\n") == "audio/amr"


def test_a_photo_taken_sideways_is_stamped_upright_with_the_band_at_its_foot() -> None:
    # given a landscape sensor image that the camera marked "rotate 90° clockwise" (EXIF 6)
    from PIL import ExifTags, Image, ImageStat

    from salestrace.actions.demo import shelf_photo

    raw = Image.open(io.BytesIO(shelf_photo(size=(800, 600))))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    out = io.BytesIO()
    raw.save(out, format="JPEG", exif=exif)
    # when it is stamped
    stamped = Image.open(
        io.BytesIO(compute.burn_watermark(out.getvalue(), ["收到", "业务员"], font_path="/nonexistent.ttf"))
    )
    # then the copy is upright (portrait) and darker only in the band at the bottom
    assert stamped.size == (600, 800)
    grey = stamped.convert("L")
    left, top, right, bottom = compute.stamp_box(600, 800, 2)
    band_mean = ImageStat.Stat(grey.crop((left, top, right, bottom))).mean[0]
    above_mean = ImageStat.Stat(grey.crop((0, 0, 600, top - 1))).mean[0]
    assert band_mean < above_mean - 30


def test_a_phone_sized_photo_re_encoded_at_another_quality_keeps_a_near_identical_hash() -> None:
    from PIL import Image

    from salestrace.actions.demo import shelf_photo

    original = shelf_photo(size=(4032, 3024), seed=11)
    again = io.BytesIO()
    Image.open(io.BytesIO(original)).save(again, format="JPEG", quality=60)
    other = shelf_photo(size=(4032, 3024), seed=12)
    hashes = [
        compute.inspect_image(data, max_pixels=40_000_000, local_tz=None).image_hash  # type: ignore[arg-type]
        for data in (original, again.getvalue(), other)
    ]
    assert compute.hash_distance(hashes[0], hashes[1]) <= 4
    assert compute.hash_distance(hashes[0], hashes[2]) > 4


def _encoded(fmt: str, **options: object) -> bytes:
    from PIL import Image

    from salestrace.actions.demo import shelf_photo

    out = io.BytesIO()
    Image.open(io.BytesIO(shelf_photo(seed=4))).save(out, format=fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "options"), [("JPEG", {}), ("JPEG", {"progressive": True}), ("PNG", {}), ("WEBP", {})])
@pytest.mark.parametrize("kept", [0.5, 0.99])
def test_a_picture_cut_short_is_refused_before_it_is_decoded(fmt, options, kept):
    # given a picture whose upload stopped part of the way
    whole = _encoded(fmt, **options)
    cut = whole[: int(len(whole) * kept)]
    # when it is checked the quick way, then it is refused as truncated, and the whole one is not
    with pytest.raises(compute.BadFile) as refused:
        compute.check_image(cut, max_pixels=40_000_000)
    assert refused.value.code == "truncated"
    assert compute.check_image(whole, max_pixels=40_000_000) == f"image/{fmt.lower()}"


def test_a_motion_photo_with_its_video_after_the_jpeg_end_is_accepted():
    # given a phone's "motion photo": a whole JPEG with a short video appended after its end marker
    data = _encoded("JPEG") + b"\x00\x00\x00\x18ftypmp42" + bytes(4096)
    # when it is checked, then it is a JPEG like any other
    assert compute.check_image(data, max_pixels=40_000_000) == "image/jpeg"


def test_a_picture_with_too_many_pixels_is_refused_from_its_header():
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (8000, 6000)).save(out, format="PNG")
    with pytest.raises(compute.BadFile) as refused:
        compute.check_image(out.getvalue(), max_pixels=40_000_000)
    assert refused.value.code == "too_many_pixels"
