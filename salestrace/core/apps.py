from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "salestrace.core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Registers this app's huey tasks and runnable jobs in every process (web enqueues, the consumer runs).
        from salestrace.core import tasks  # noqa: F401
