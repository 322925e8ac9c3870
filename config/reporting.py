"""What an error report (the DEBUG page, the admins' error e-mail) may show of the settings."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's filter, plus the settings whose value is a URL with a key or password in it: the
    vendors' webhooks (their key is the URL), DATABASE_URL and REDIS_URL."""

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|WEBHOOK|DATABASE_URL|REDIS_URL", flags=re.IGNORECASE
    )
