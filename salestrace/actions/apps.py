from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ActionsConfig(AppConfig):
    name = "salestrace.actions"
    verbose_name = _("Action log")

    def ready(self) -> None:
        # Registers this app's huey tasks and runnable jobs in every process (web enqueues, the consumer runs).
        from salestrace.actions import tasks  # noqa: F401

        if settings.FILE_UPLOAD_TEMP_DIR:
            Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
