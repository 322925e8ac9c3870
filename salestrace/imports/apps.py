from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "salestrace.imports"
    verbose_name = _("Imports")

    def ready(self) -> None:
        # Registers this app's huey tasks in every process (web enqueues, the consumer runs).
        from salestrace.customers.services import MERGE_HOOKS
        from salestrace.imports import tasks  # noqa: F401
        from salestrace.imports.services import external_ids_follow_merge

        # A merged customer's external ids name the customer it was merged into.
        MERGE_HOOKS["external_ids"] = external_ids_follow_merge
