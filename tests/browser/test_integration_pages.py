"""The integration pages in a real browser, on a phone and on a desktop: the assistant brings in her
ERP's customers with the import wizard (one header matched by hand, a preview that writes nothing,
then the import for real); the admin is refused a webhook to a local address, in Chinese, next to
the field; and the calendar address is made and shown once."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
VIEWPORTS = [("phone", PHONE), ("desktop", DESKTOP)]

# An ERP's own headers: 终端简称 (the customer's name) is one the SalesTrace preset does not know.
ROWS = [
    ["客户编号", "终端简称", "业务员"],
    ["E1", "联华超市(江宁店)", "alice"],
    ["E2", "苏果超市(河西店)", "nobody"],  # no such rep: refused, the others still go in
    ["E3", "华润万家(新街口店)", "alice"],
]


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def no_horizontal_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def looked_at(page: Any, name: str) -> None:
    """The page fits its width (nothing to scroll sideways) and is kept for a person to look at."""
    assert no_horizontal_overflow(page), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    screenshot(page, name)


def csv_file(rows: list[list[str]]) -> dict[str, Any]:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return {"name": "erp-customers.csv", "mimeType": "text/csv", "buffer": buffer.getvalue().encode("utf-8")}


class Worker:
    """The background worker, in huey's immediate mode: what a page queues runs as its request commits
    (on_commit callbacks run for real against the live server). While `held`, queued imports wait
    instead, so the page shows its progress; `release()` then runs them here, as the worker would."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.held = False
        self.waiting: list[int] = []

    def __call__(self, job_id: int) -> Any:
        if self.held:
            self.waiting.append(job_id)
            return None
        return self.run(job_id)

    def release(self) -> None:
        self.held = False
        while self.waiting:
            self.run(self.waiting.pop(0))


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    from huey.contrib.djhuey import HUEY

    from salestrace.imports import tasks

    queue = Worker(tasks.import_run_task)
    monkeypatch.setattr(tasks, "import_run_task", queue)  # imports.services._queue looks it up per call
    HUEY.immediate = True
    try:
        yield queue
    finally:
        HUEY.immediate = False


def counts(page: Any) -> dict[str, str]:
    report = page.locator("#import-job")
    return {key: report.locator(f"[data-count={key}]").inner_text() for key in ("created", "updated", "failed")}


@pytest.mark.parametrize(("name", "viewport"), VIEWPORTS)
def test_the_assistant_matches_a_column_previews_then_imports_customers(
    page_as: Any, personas: Any, worker: Worker, name: str, viewport: dict[str, int]
) -> None:
    from salestrace.customers.models import Customer
    from salestrace.imports.models import ImportJob

    page = page_as(personas.fay, viewport)
    # when the assistant uploads her ERP's file of customers
    page.goto("/imports/")
    expect(page.get_by_role("heading", name="导入", exact=True)).to_be_visible()
    looked_at(page, f"imports-wizard-{name}")
    page.locator("#i-kind").select_option("customers")
    page.locator("#i-file").set_input_files(csv_file(ROWS))
    page.locator("#upload button[type=submit]").click()
    # then each header is shown with its first values; the ones the preset knows are matched already
    expect(page).to_have_url(re.compile(r"/imports/\d+/columns/$"))
    job = ImportJob.objects.get()
    expect(page.locator("#columns")).to_contain_text("联华超市(江宁店) · 苏果超市(河西店) · 华润万家(新街口店)")
    expect(page.locator("#col-0")).to_have_value("external_id")
    expect(page.locator("#col-1")).to_have_value("")  # 终端简称: unknown to the preset
    expect(page.locator("#col-2")).to_have_value("owner")
    looked_at(page, f"imports-map-{name}")
    # when she matches 终端简称 to the name by hand, skips bad rows and previews
    page.get_by_label("终端简称").select_option("name")
    page.locator("input[name=skip_bad_rows]").check()
    worker.held = True
    page.get_by_role("button", name="预览（不写入任何数据）").click()
    # then the page waits for the worker, polling
    expect(page).to_have_url(f"/imports/{job.pk}/")
    expect(page.locator("#import-job[data-status=pending][hx-trigger]")).to_contain_text("等待中")
    expect(page.locator("#import-job")).to_contain_text("已检查 0 / 3 行")
    looked_at(page, f"imports-waiting-{name}")
    page.evaluate("window.notReloaded = true")
    # and when the worker has checked the file, the page shows the report by itself (htmx, no reload)
    worker.release()
    expect(page.locator("#import-job[data-status=done]")).to_have_count(1)
    expect(page.locator("#import-job[hx-trigger]")).to_have_count(0)  # polling stopped
    assert page.evaluate("window.notReloaded === true")
    # the preview says what it would do and lists the refused row, and wrote nothing
    expect(page.locator("#import-job h2")).to_contain_text("预览")
    assert counts(page) == {"created": "2", "updated": "0", "failed": "1"}
    expect(page.locator("#row-errors tbody tr")).to_have_count(1)
    expect(page.locator("#row-errors tbody tr")).to_contain_text("nobody")
    assert Customer.objects.count() == 0
    looked_at(page, f"imports-preview-{name}")
    # when she imports what the preview checked
    page.get_by_role("button", name="正式导入").click()
    expect(page).to_have_url(re.compile(rf"/imports/(?!{job.pk}/)\d+/$"))  # a new job, the preview kept
    done = ImportJob.objects.exclude(pk=job.pk).get()
    expect(page).to_have_url(f"/imports/{done.pk}/")
    expect(page.locator("#import-job[data-status=done]")).to_have_count(1)
    # then the report counts what went in, and the customers are there, owned by the rep the file names
    assert counts(page) == {"created": "2", "updated": "0", "failed": "1"}
    expect(page.get_by_role("button", name="正式导入")).to_have_count(0)
    looked_at(page, f"imports-done-{name}")
    done.refresh_from_db()
    assert (done.status, done.dry_run, done.created_count, done.failed_count) == ("done", False, 2, 1)
    imported = Customer.objects.order_by("name")
    assert [(c.name, c.owner.username) for c in imported] == [
        ("华润万家(新街口店)", "alice"),
        ("联华超市(江宁店)", "alice"),
    ]
    # and both runs are listed on the first page
    page.get_by_role("link", name="返回导入").click()
    expect(page.locator("#imports tbody tr")).to_have_count(2)
    looked_at(page, f"imports-recent-{name}")


@pytest.mark.parametrize(("name", "viewport"), VIEWPORTS)
def test_the_admin_is_refused_a_local_webhook_and_makes_a_calendar_address(
    page_as: Any, personas: Any, name: str, viewport: dict[str, int]
) -> None:
    from salestrace.notify.models import WebhookEndpoint
    from salestrace.todos.models import CalendarFeed

    page = page_as(personas.admin, viewport)
    # when the admin adds an endpoint on this machine
    page.goto("/settings/webhooks/")
    expect(page.get_by_role("heading", name="添加接收地址")).to_be_visible()
    looked_at(page, f"settings-webhooks-{name}")
    page.locator("#w-name").fill("ERP")
    page.locator("#w-url").fill("https://127.0.0.1/x")
    page.get_by_role("button", name="新增").click()
    # then it is refused next to the URL, in Chinese, and what was typed is kept
    error = page.locator(".settings-field.has-error", has=page.locator("#w-url")).locator(".field-error")
    expect(page.locator(".field-error")).to_have_count(1)
    expect(error).to_have_text("此主机位于私有或本地网络，需由运维允许（WEBHOOK_ALLOWED_HOSTS）。")
    expect(page.locator("#w-url")).to_have_value("https://127.0.0.1/x")
    assert WebhookEndpoint.objects.count() == 0
    looked_at(page, f"settings-webhooks-refused-{name}")

    # when the admin makes a calendar address
    page.goto("/account/calendar/")
    expect(page.get_by_role("heading", name="日历订阅")).to_be_visible()
    looked_at(page, f"calendar-feed-{name}")
    page.get_by_role("button", name="生成我的日历订阅地址").click()
    # then it is shown, once
    shown = page.locator("#new-feed input#feed-url")
    expect(shown).to_have_value(re.compile(r"/calendar/cal_.+\.ics$"))
    address = shown.input_value()
    assert address.endswith(".ics")
    feed = CalendarFeed.objects.get(user=personas.admin)
    assert feed.prefix in address
    looked_at(page, f"calendar-feed-new-{name}")
    page.reload()
    expect(page.locator("#new-feed")).to_have_count(0)
    expect(page.locator("#feed")).to_contain_text(feed.prefix)
    assert address not in page.content()
    looked_at(page, f"calendar-feed-live-{name}")

    # and a rep finds the page from her tasks
    rep = page_as(personas.alice, viewport)
    rep.goto("/tasks/")
    rep.get_by_role("link", name="在手机日历中查看").click()
    expect(rep).to_have_url("/account/calendar/")
    expect(rep.get_by_role("button", name="生成我的日历订阅地址")).to_be_visible()
    assert no_horizontal_overflow(rep)
