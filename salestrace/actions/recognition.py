"""Engines that turn evidence into text: Tesseract OCR for screenshots, speech-to-text for calls.

Each engine raises `RecognitionUnavailable` when it is not installed or configured (the user is
asked for a summary by hand) and `RecognitionFailed` when it ran and failed (a retry may help).
Nothing here touches the database.
"""

from __future__ import annotations

import io
import re
from typing import Protocol

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


def configured_transcriber() -> Transcriber:
    """The engine the settings name; RecognitionUnavailable when none is configured."""
    if not settings.ASR_URL:
        raise RecognitionUnavailable("no speech-to-text engine configured (ASR_URL)")
    return OpenAICompatibleTranscriber(
        url=settings.ASR_URL,
        api_key=settings.ASR_API_KEY,
        model=settings.ASR_MODEL,
        language=settings.ASR_LANGUAGE,
        timeout=settings.ASR_TIMEOUT,
    )
