from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TodosConfig(AppConfig):
    name = "salestrace.todos"
    verbose_name = _("Tasks and reminders")

    def ready(self) -> None:
        # config/tasks.py is the one place schedules live; importing it registers them with huey
        # in every process (web enqueues, the consumer runs them).
        import config.tasks  # noqa: F401
        from salestrace.todos import checks  # noqa: F401  (registers the official-calendar check)
