from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldConfig(AppConfig):
    name = "salestrace.field"
    verbose_name = _("Field execution")

    def ready(self) -> None:
        # The 18:00 message of todos lists planned stores not visited and visits not logged.
        from salestrace.field.selectors import daily_field_lines
        from salestrace.todos.jobs import DAILY_LINE_PROVIDERS

        DAILY_LINE_PROVIDERS["field"] = daily_field_lines
