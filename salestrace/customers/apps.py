from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "salestrace.customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        # A person's change in the settings history is rolled back here (catalog sits below customers).
        from salestrace.catalog.models import SettingChange
        from salestrace.catalog.services import ROLLBACKS
        from salestrace.customers.people import person_rollback, team_rollback

        ROLLBACKS[SettingChange.Area.PERSON] = person_rollback
        ROLLBACKS[SettingChange.Area.TEAM] = team_rollback
