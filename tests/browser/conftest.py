"""Playwright (Python) driving Debian's /usr/bin/chromium against pytest-django's live_server.

Never `playwright install`: the browser is the distribution's `chromium` package (see the Makefile).
Screenshots land in artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the test itself
# (fixtures, assertions) are ordinary synchronous code and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@dataclass
class Shop:
    """The data every browser test starts from: alice's customers in three situations."""

    negotiating: Any  # at 价格谈判, with one earlier action
    comparing: Any  # at 方案对比
    other: Any  # bob's, never visible to alice
    now: datetime
    names: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def shop(personas: Any) -> Shop:
    from django.utils import timezone

    from salestrace.actions.rules import ActionDraft
    from salestrace.actions.services import action_log
    from salestrace.core import clock
    from salestrace.customers.services import CustomerInput, customer_create

    now = clock.now()
    start = now - timedelta(days=12)

    def customer(owner: Any, name: str, stage: str) -> Any:
        return customer_create(user=owner, data=CustomerInput(name=name, kind="store", stage=stage), now=start)

    negotiating = customer(personas.alice, "联华超市(浦东3号店)", "solution_compare")
    comparing = customer(personas.alice, "好德便利店(张江店)", "solution_compare")
    customer(personas.alice, "罗森(徐汇店)", "lead")
    other = customer(personas.bob, "联华超市(西湖店)", "lead")
    action_log(
        user=personas.alice,
        customer_id=negotiating.pk,
        draft=ActionDraft(
            occurred_at=now - timedelta(days=3),
            contact_method="email",
            stage="price_negotiation",
            key_action="send_quote",
            obstacle="competitor_interference",
            next_step_plan="约老板确认最终价格",
            next_step_date=timezone.localdate(now),
            next_step_deliverable="价格确认单",
            emotion="neutral",
            summary="店长认为竞品返点更高",
        ),
        now=now - timedelta(days=3),
    )
    return Shop(negotiating=negotiating, comparing=comparing, other=other, now=now)


@pytest.fixture
def page_as(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """page_as(user or None, viewport=PHONE, **context options) -> a Playwright page; with a user, already signed in."""
    from django.conf import settings
    from django.test import Client

    contexts: list[Any] = []

    def make(user: Any | None, viewport: dict[str, int] | None = None, **options: Any) -> Any:
        # An English phone: pages must still answer in Chinese until the person switches.
        # `options` go to the browser context (geolocation, permissions).
        context = browser.new_context(viewport=viewport or PHONE, locale="en-US", base_url=live_server.url, **options)
        context.set_default_timeout(5000)
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            host = live_server.url.split("//", 1)[1].split(":", 1)[0]
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "domain": host, "path": "/"}])
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class Interactions:
    """Counts what a person does besides typing: clicks (taps) and selections."""

    def __init__(self) -> None:
        self.count = 0
        self.log: list[str] = []

    def click(self, locator: Any, what: str) -> None:
        locator.click()
        self.count += 1
        self.log.append(what)

    def select(self, locator: Any, value: str, what: str) -> None:
        locator.select_option(value)
        self.count += 1
        self.log.append(what)
