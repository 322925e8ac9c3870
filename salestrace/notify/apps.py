from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "salestrace.notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # Registers this app's huey tasks and runnable jobs in every process (web enqueues, the consumer runs).
        from salestrace.notify import tasks  # noqa: F401
