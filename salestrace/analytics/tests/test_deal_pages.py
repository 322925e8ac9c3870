"""The 商机分析 pages: who may open which tab, the Excel exports, the cached analysis and its drill-down."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from salestrace.analytics.models import AnalysisResult
from salestrace.analytics.services import analysis_compute

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/deals/"


def signed_in(client: Any, user: Any, language: str = "en") -> Any:
    """The client signed in as `user`, pages in `language` (Chinese unless switched)."""
    client.force_login(user)
    if language != "zh-hans":
        client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def get(client: Any, url: str) -> Any:
    return client.get(url)


@pytest.mark.parametrize(
    ("who", "tab", "status"),
    [
        ("fay", "funnel", 403),
        ("alice", "funnel", 200),
        ("alice", "cycle", 200),
        ("alice", "top", 403),
        ("sam", "top", 200),
        ("diana", "cycle", 200),
    ],
)
def test_who_may_open_which_tab(
    personas: Any, client: Any, book: None, now: datetime, queued: list[int], who: str, tab: str, status: int
) -> None:
    # when
    response = signed_in(client, getattr(personas, who)).get(f"{PAGE}?tab={tab}")
    # then
    assert response.status_code == status


def test_a_rep_sees_their_own_funnel_beside_the_team_without_other_names(
    personas: Any, client: Any, book: None, now: datetime
) -> None:
    # when
    html = get(signed_in(client, personas.alice), PAGE).content.decode()
    # then
    assert "My deals" in html
    assert "carol" not in html
    assert "bob" not in html


def test_the_funnel_page_marks_the_stall_stage_and_links_the_nav(
    personas: Any, client: Any, book: None, now: datetime
) -> None:
    # when
    html = get(signed_in(client, personas.sam), PAGE).content.decode()
    # then
    assert 'class="stall"' in html
    assert f'href="{PAGE}"' in html


def test_the_funnel_exports_to_excel_with_chinese_headers_and_numbers_as_numbers(
    personas: Any, client: Any, book: None, now: datetime
) -> None:
    # when
    response = get(signed_in(client, personas.sam, "zh-hans"), f"{PAGE}?tab=funnel&format=xlsx")
    # then
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "阶段"
    assert rows[1][1] == "线索"
    assert rows[1][2] == 24
    conversion = sheet.cell(row=2, column=5)
    assert isinstance(conversion.value, int | float)
    assert conversion.number_format == "0%"


def test_the_cycle_tab_draws_a_chart_and_exports(personas: Any, client: Any, book: None, now: datetime) -> None:
    # given
    signed_in(client, personas.sam)
    # when
    html = get(client, f"{PAGE}?tab=cycle").content.decode()
    sheet = load_workbook(BytesIO(get(client, f"{PAGE}?tab=cycle&format=xlsx").content)).active
    # then
    assert "vendor/echarts/echarts.min.js" in html
    assert 'id="km-data"' in html
    assert sheet is not None
    assert [c.value for c in sheet[2]][:3] == ["Team", 24, 16]


def test_the_top_tab_queues_once_then_shows_when_it_was_computed(
    personas: Any, client: Any, book: None, now: datetime, queued: list[int], committed: Any
) -> None:
    # given
    signed_in(client, personas.sam)
    url = f"{PAGE}?tab=top&top_n=1"
    # when opened twice before the consumer ran
    first = committed(get, client, url).content.decode()
    committed(get, client, url)
    # then
    assert len(queued) == 1
    assert "Being computed" in first
    # when the task has run
    analysis_compute(result_id=queued[0], now=now)
    html = committed(get, client, url).content.decode()
    # then: 10:00 in Shanghai, the findings as sentences, each with its drill-down
    assert "Computed at 10:00" in html
    assert "Correlation, not causation" in html
    assert "/dashboard/deals/findings/0/" in html
    assert len(queued) == 1


def test_the_recompute_button_queues_again(
    personas: Any, client: Any, book: None, now: datetime, queued: list[int], committed: Any
) -> None:
    # given a computed analysis
    signed_in(client, personas.sam)
    committed(get, client, f"{PAGE}?tab=top")
    analysis_compute(result_id=queued[0], now=now)
    # when
    response = committed(client.post, f"{PAGE}recompute/?top_n=3&group=top_value")
    # then
    assert response.status_code == 302
    assert len(queued) == 2
    assert AnalysisResult.objects.get().status == "pending"


def test_a_finding_drills_down_to_its_deals_and_exports(
    personas: Any, client: Any, book: None, now: datetime, queued: list[int], committed: Any
) -> None:
    # given
    signed_in(client, personas.sam)
    committed(get, client, f"{PAGE}?tab=top&top_n=1")
    analysis_compute(result_id=queued[0], now=now)
    payload = AnalysisResult.objects.get().payload
    assert payload is not None
    findings = payload["findings"]
    index = next(i for i, f in enumerate(findings) if f["kind"] == "key_action" and f["code"] == "book_demo")
    # when
    html = get(client, f"{PAGE}findings/{index}/?top_n=1").content.decode()
    sheet = load_workbook(BytesIO(get(client, f"{PAGE}findings/{index}/?top_n=1&format=xlsx").content)).active
    # then: Alice's deals show the demo, Carol's do not
    assert "alice-0" in html
    assert "<mark>" in html
    assert "Book a demo" in html
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Group"
    assert len(rows) == 25
    assert {r[4] for r in rows[1:13]} == {"yes"}
    assert isinstance(rows[1][6], datetime)


def test_tiny_data_says_not_enough_on_the_page(
    personas: Any, client: Any, b2b: None, now: datetime, queued: list[int], committed: Any
) -> None:
    # given no deals at all
    signed_in(client, personas.sam)
    committed(get, client, f"{PAGE}?tab=top")
    analysis_compute(result_id=queued[0], now=now)
    # when
    html = get(client, f"{PAGE}?tab=top").content.decode()
    cycle = get(client, f"{PAGE}?tab=cycle").content.decode()
    # then
    assert "Not enough data" in html
    assert "Not enough data" in cycle
    # and in Chinese, the default language, it reads 数据不足, with when it was computed
    signed_in(client, personas.sam, language="zh-hans")
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    html = get(client, f"{PAGE}?tab=top").content.decode()
    assert "数据不足" in html
    assert "计算于 10:00" in html
    assert "相关，不代表因果" in html


def test_a_supervisor_narrows_the_funnel_to_a_team_of_their_subtree_only(
    personas: Any, client: Any, book: None, now: datetime
) -> None:
    # given
    signed_in(client, personas.sam)
    # when
    html = get(client, PAGE).content.decode()
    west = get(client, f"{PAGE}?team_id={personas.west1.pk}").content.decode()
    # then: East's teams are offered, West's are not, and asking for West counts nothing
    assert f'<option value="{personas.east1.pk}"' in html
    assert f'<option value="{personas.west1.pk}"' not in html
    assert "<strong>0 / 0 / 0</strong>" in west


@pytest.mark.parametrize("tab", ["funnel", "cycle"])
def test_a_company_too_large_for_a_request_is_computed_by_the_worker_while_the_page_waits(
    client: Any, personas: Any, book: None, now: datetime, settings: Any, queued: list[int], committed: Any, tab: str
) -> None:
    # given a company larger than what a request computes
    settings.SALESTRACE_ANALYSIS_INLINE_DEALS = 5
    director = signed_in(client, personas.diana)
    # when the director opens the tab, then it says so and looks again by itself
    waiting = committed(director.get, f"/dashboard/deals/?tab={tab}")
    assert waiting.status_code == 200
    page = waiting.content.decode()
    assert "Being computed" in page
    assert 'http-equiv="refresh"' in page
    # and once the worker has computed it, the figures are there
    assert analysis_compute(result_id=queued[0], now=now)
    done = director.get(f"/dashboard/deals/?tab={tab}").content.decode()
    assert "Being computed" not in done
    assert 'http-equiv="refresh"' not in done
    assert "Computed at" in done
