"""Engines that turn evidence into text: Tesseract OCR for screenshots, speech-to-text for calls
(an OpenAI-compatible server, or Vosk offline).

Each engine raises `RecognitionUnavailable` when it is not installed or configured (the user is
asked for a summary by hand) and `RecognitionFailed` when it ran and failed (a retry may help).
Nothing here touches the database.
"""

from __future__ import annotations

import functools
import io
import json
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Any, Protocol

import requests
from django.conf import settings
from PIL import Image

# Tesseract puts spaces between Chinese characters; they are not in the original text.
_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])[ \t]+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])"
)


class RecognitionUnavailable(Exception):
    """No engine: not installed, or not configured."""


class RecognitionFailed(Exception):
    """The engine ran and failed: timeout, engine error, refused input."""


def tidy_text(text: str) -> str:
    """Engine output as a person would write it: no spaces inside Chinese, no blank lines."""
    lines = (_CJK_GAP.sub("", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def ocr_image(data: bytes) -> str:
    """Text in a screenshot, read by Tesseract with settings.OCR_LANGUAGES (chi_sim+eng)."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = settings.TESSERACT_CMD or "tesseract"
    try:
        with Image.open(io.BytesIO(data)) as image:
            # Greyscale: in colour, Tesseract drops text on WeChat's green bubbles. --psm 4: one
            # column of lines of varied sizes, which is what a chat is.
            raw = pytesseract.image_to_string(
                image.convert("L"), lang=settings.OCR_LANGUAGES, config="--psm 4", timeout=settings.OCR_TIMEOUT
            )
    except pytesseract.TesseractNotFoundError:
        raise RecognitionUnavailable("tesseract is not installed") from None
    except RuntimeError as exc:  # pytesseract's timeout
        raise RecognitionFailed(f"OCR timed out: {exc}") from None
    except pytesseract.TesseractError as exc:
        if "Failed loading language" in str(exc) or "Error opening data file" in str(exc):
            raise RecognitionUnavailable(f"tesseract language data missing: {settings.OCR_LANGUAGES}") from None
        raise RecognitionFailed(f"OCR failed: {exc}") from None
    return tidy_text(raw)


class Transcriber(Protocol):
    """A speech-to-text engine: recording bytes in, Chinese text out."""

    def transcribe(self, data: bytes, *, filename: str, mime_type: str) -> str: ...


class OpenAICompatibleTranscriber:
    """`POST {ASR_URL}/v1/audio/transcriptions` (multipart file, model, language), as spoken by
    OpenAI, FunASR, whisper.cpp server and faster-whisper servers. ASR_URL is the server's base URL."""

    def __init__(self, *, url: str, api_key: str, model: str, language: str, timeout: float) -> None:
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/audio/transcriptions") else f"{base}/v1/audio/transcriptions"
        self.api_key = api_key
        self.model = model
        self.language = language
        self.timeout = timeout

    def transcribe(self, data: bytes, *, filename: str, mime_type: str) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = requests.post(
                self.endpoint,
                headers=headers,
                files={"file": (filename, data, mime_type)},
                data={"model": self.model, "language": self.language, "response_format": "json"},
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise RecognitionFailed(f"speech-to-text timed out after {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise RecognitionFailed(f"speech-to-text engine unreachable: {exc.__class__.__name__}") from None
        if response.status_code >= 400:
            raise RecognitionFailed(f"speech-to-text engine answered {response.status_code}: {response.text[:200]}")
        try:
            text = response.json()["text"]
        except (ValueError, KeyError, TypeError):
            raise RecognitionFailed("speech-to-text engine answered without a text") from None
        if not isinstance(text, str):
            raise RecognitionFailed("speech-to-text engine answered without a text")
        return tidy_text(text)


VOSK_SAMPLE_RATE = 16_000
_PCM_CHUNK = 8_000  # bytes of 16-bit samples fed to the recogniser at a time: 0.25 s
_FFMPEG_TO_PCM = ("-ac", "1", "-ar", str(VOSK_SAMPLE_RATE), "-acodec", "pcm_s16le", "-f", "s16le", "pipe:1")


def _canonical_wav_frames(data: bytes) -> bytes | None:
    """The samples of a WAV that is already 16 kHz mono 16-bit PCM; None for any other WAV or file."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, VOSK_SAMPLE_RATE):
                return w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        return None
    return None


def pcm16k_mono(data: bytes, *, timeout: float) -> bytes:
    """A recording as 16 kHz mono signed 16-bit little-endian samples, the input Vosk models expect.

    A WAV already in that shape is read with the wave module; anything else goes through ffmpeg,
    and without ffmpeg the recording cannot be read (RecognitionFailed says so).
    """
    if (frames := _canonical_wav_frames(data)) is not None:
        return frames
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RecognitionFailed(
            "ffmpeg is not installed: only 16 kHz mono 16-bit WAV recordings can be transcribed without it"
        )
    # Through a file, not a pipe: an MP4 may keep its index at the end, which a pipe cannot seek to.
    with tempfile.NamedTemporaryFile(suffix=".audio") as source:
        source.write(data)
        source.flush()
        try:
            result = subprocess.run(  # noqa: S603
                [ffmpeg, "-nostdin", "-loglevel", "error", "-i", source.name, *_FFMPEG_TO_PCM],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RecognitionFailed(f"ffmpeg timed out after {timeout:g} s converting the recording") from None
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()[:200]
        raise RecognitionFailed(f"ffmpeg could not decode the recording: {detail}")
    return result.stdout


@functools.lru_cache(maxsize=2)
def _vosk_model(path: str) -> Any:
    # Loading a model takes seconds and its memory is shared by every recogniser: keep it.
    import vosk

    vosk.SetLogLevel(-1)
    try:
        return vosk.Model(path)
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise RecognitionUnavailable(f"the Vosk model at {path} cannot be loaded: {exc}") from None


class VoskTranscriber:
    """Offline speech-to-text with Vosk (Kaldi) and a model directory on this machine."""

    def __init__(self, *, model_path: str, timeout: float) -> None:
        self.model_path = model_path
        self.timeout = timeout

    def transcribe(self, data: bytes, *, filename: str, mime_type: str) -> str:
        try:
            import vosk
        except ImportError:
            raise RecognitionUnavailable("the vosk package is not installed") from None
        if not Path(self.model_path).is_dir():
            raise RecognitionUnavailable(f"no Vosk model directory at {self.model_path} (VOSK_MODEL_PATH)")
        model = _vosk_model(str(Path(self.model_path).resolve()))
        pcm = pcm16k_mono(data, timeout=self.timeout)
        recogniser = vosk.KaldiRecognizer(model, VOSK_SAMPLE_RATE)
        utterances = []
        for start in range(0, len(pcm), _PCM_CHUNK):
            if recogniser.AcceptWaveform(pcm[start : start + _PCM_CHUNK]):
                utterances.append(json.loads(recogniser.Result()).get("text", ""))
        utterances.append(json.loads(recogniser.FinalResult()).get("text", ""))
        return tidy_text("\n".join(utterances))


def configured_transcriber() -> Transcriber:
    """The engine the settings name: ASR_URL first, then VOSK_MODEL_PATH; RecognitionUnavailable for none."""
    if settings.ASR_URL:
        return OpenAICompatibleTranscriber(
            url=settings.ASR_URL,
            api_key=settings.ASR_API_KEY,
            model=settings.ASR_MODEL,
            language=settings.ASR_LANGUAGE,
            timeout=settings.ASR_TIMEOUT,
        )
    if settings.VOSK_MODEL_PATH:
        return VoskTranscriber(model_path=settings.VOSK_MODEL_PATH, timeout=settings.ASR_TIMEOUT)
    raise RecognitionUnavailable("no speech-to-text engine configured (ASR_URL or VOSK_MODEL_PATH)")
