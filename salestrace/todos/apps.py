from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TodosConfig(AppConfig):
    name = "salestrace.todos"
    verbose_name = _("Tasks and reminders")

    def ready(self) -> None:
        # Registers this app's huey tasks and runnable jobs in every process (web enqueues, the consumer runs).
        # And the official-calendar system check.
        from salestrace.todos import checks, tasks  # noqa: F401
