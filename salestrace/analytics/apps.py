from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "salestrace.analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        # Registers this app's huey tasks in every process (web enqueues, the consumer runs).
        from salestrace.analytics import tasks  # noqa: F401
