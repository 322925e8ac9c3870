from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TodosConfig(AppConfig):
    name = "salestrace.todos"
    verbose_name = _("Tasks and reminders")

    def ready(self) -> None:
        # Registers this app's huey tasks and runnable jobs in every process (web enqueues, the consumer runs).
        # And the official-calendar system check.
        # A follow-up rule changed in Settings is rolled back from the settings history (catalog's page).
        from salestrace.catalog.models import SettingChange
        from salestrace.catalog.services import ROLLBACKS
        from salestrace.customers.people import LEAVER_HOOKS
        from salestrace.todos import checks, tasks  # noqa: F401
        from salestrace.todos.services import (
            calendar_rollback,
            follow_up_rollback,
            leaver_tasks_hand_on,
            pack_rollback,
        )

        ROLLBACKS[SettingChange.Area.FOLLOW_UP] = follow_up_rollback
        ROLLBACKS[SettingChange.Area.PACK] = pack_rollback
        ROLLBACKS[SettingChange.Area.CALENDAR] = calendar_rollback
        if leaver_tasks_hand_on not in LEAVER_HOOKS:
            LEAVER_HOOKS.append(leaver_tasks_hand_on)
