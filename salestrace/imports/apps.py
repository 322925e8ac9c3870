from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "salestrace.imports"
    verbose_name = _("Imports")

    def ready(self) -> None:
        # Registers this app's huey tasks in every process (web enqueues, the consumer runs).
        from salestrace.imports import tasks  # noqa: F401
