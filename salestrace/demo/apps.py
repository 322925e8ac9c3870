from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo team (`manage.py seed_demo`): above every domain app, imported by none."""

    name = "salestrace.demo"
    verbose_name = _("Demo data")
