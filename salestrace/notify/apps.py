from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "salestrace.notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # Registers this app's huey tasks and runnable jobs in every process (web enqueues, the consumer runs).
        from salestrace.catalog.models import SettingChange
        from salestrace.catalog.services import ROLLBACKS
        from salestrace.notify import tasks  # noqa: F401
        from salestrace.notify.services import channel_rollback
        from salestrace.notify.webhook_services import webhook_rollback

        # A channel change in the settings history is answered by the Channels page (secrets are not kept).
        ROLLBACKS[SettingChange.Area.CHANNEL] = channel_rollback
        ROLLBACKS[SettingChange.Area.WEBHOOK] = webhook_rollback
