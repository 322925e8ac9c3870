from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from salestrace.notify.tests.vendors import VendorServer


@pytest.fixture
def vendor(settings: Any) -> Iterator[VendorServer]:
    """WeCom, DingTalk and Feishu as documented, on 127.0.0.1 (allowed as a self-hosted gateway)."""
    cache.clear()
    with VendorServer() as server:
        settings.NOTIFY_ALLOWED_HOSTS = [server.base]
        yield server


@pytest.fixture
def no_env_channels(settings: Any) -> None:
    """No channel configured from the environment: each test sets exactly what it needs."""
    for name in (
        "WECOM_WEBHOOK_URL",
        "WECOM_CORP_ID",
        "WECOM_CORP_SECRET",
        "WECOM_AGENT_ID",
        "DINGTALK_WEBHOOK_URL",
        "DINGTALK_SECRET",
        "FEISHU_WEBHOOK_URL",
        "FEISHU_SECRET",
    ):
        setattr(settings, name, "")
    settings.NOTIFY_EMAIL_ENABLED = False
