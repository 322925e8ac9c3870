"""The 动作健康度 pages: who sees what, the explanation, the heatmap drill-down, the audit, the weekly
meeting's anonymized screen, and the Excel exports (Chinese headers, numbers as numbers)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from salestrace.actions.models import ActionLog
from salestrace.analytics.tests.factories import at, generated_team, logged, make_customers

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/health/"
NOV = "since=2026-11-01&until=2026-11-26"


def signed_in(client: Any, user: Any, language: str = "zh-hans") -> Any:
    client.force_login(user)
    if language != "zh-hans":
        client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def sheet_rows(response: Any) -> list[tuple[Any, ...]]:
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


@pytest.fixture
def team(personas: Any, now: datetime) -> dict[str, Any]:
    return generated_team(personas)


@pytest.fixture
def two_reps(personas: Any, now: datetime) -> None:
    """Alice: 3 actions, one logged 5 h late; Bob (West-1): 2 in time."""
    shop, other = make_customers(personas.alice, 1)[0], make_customers(personas.bob, 1)[0]
    ActionLog.objects.bulk_create(
        [
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 20)), response_strength="active_question"),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 21)), late=timedelta(hours=5)),
            logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 22)), response_strength="request_delay"),
            logged(other, rep=personas.bob, occurred=at(date(2026, 11, 20))),
            logged(other, rep=personas.bob, occurred=at(date(2026, 11, 21))),
        ]
    )


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("fay", PAGE, 403),
        ("fay", f"{PAGE}meeting/", 403),
        ("alice", PAGE, 200),
        ("alice", f"{PAGE}?tab=quality", 200),
        ("alice", f"{PAGE}?tab=heatmap", 403),
        ("alice", f"{PAGE}?tab=audit", 403),
        ("alice", f"{PAGE}meeting/", 403),
        ("alice", f"{PAGE}cell/?stage=lead&obstacle=budget_shortage", 403),
        ("sam", f"{PAGE}?tab=heatmap", 200),
        ("sam", f"{PAGE}?tab=audit", 200),
        ("sam", f"{PAGE}meeting/", 200),
        ("diana", f"{PAGE}?tab=quality", 200),
        ("diana", f"{PAGE}cell/?stage=nowhere&obstacle=budget_shortage", 404),
    ],
)
def test_who_may_open_which_health_page(
    personas: Any, client: Any, two_reps: None, who: str, url: str, status: int
) -> None:
    assert signed_in(client, getattr(personas, who)).get(url).status_code == status


def test_signed_out_people_are_sent_to_sign_in(client: Any, personas: Any) -> None:
    assert client.get(PAGE).status_code == 302


def test_a_rep_sees_only_their_own_health_with_the_why_and_late_entries_flagged(
    personas: Any, client: Any, two_reps: None
) -> None:
    # when Alice opens the page, even asking for Bob's row
    html = signed_in(client, personas.alice).get(f"{PAGE}?{NOV}&rep_id={personas.bob.pk}").content.decode()
    # then her own row, the formula with her numbers, her late entry flagged; nothing of Bob
    assert "alice" in html
    assert "bob" not in html
    assert "有效动作数 3 / 应完成动作数 4 = 75%" in html
    assert html.count('class="late-row"') == 1
    assert all(line in html for line in ("≥95%", "≥80%", "≥68%"))
    assert 'id="trend-data"' in html


def test_the_nav_links_the_health_page_for_reps_and_managers(personas: Any, client: Any, two_reps: None) -> None:
    assert f'href="{PAGE}"' in signed_in(client, personas.alice).get("/dashboard/deals/").content.decode()
    assert f'href="{PAGE}"' in signed_in(client, personas.sam).get("/dashboard/deals/").content.decode()


def test_a_supervisor_sees_the_team_and_opens_one_rep(personas: Any, client: Any, team: dict[str, Any]) -> None:
    # given
    signed_in(client, personas.sam, "en")
    # when
    html = client.get(f"{PAGE}?{NOV}").content.decode()
    lily = client.get(f"{PAGE}?{NOV}&rep_id={team['lily'].pk}").content.decode()
    # then every rep of East-1, Lily's late entries only when she is opened
    for name in ("alice", "carol", "lily", "sid"):
        assert f">{name}</a>" in html
    assert "Open a rep to see their late entries." in html
    assert lily.count('class="late-row"') == 50
    assert "Why is lily's score" in lily.replace("&#x27;", "'").replace("&#39;", "'")


def test_the_health_table_exports_with_chinese_headers_and_numbers(
    personas: Any, client: Any, team: dict[str, Any]
) -> None:
    # when
    rows = sheet_rows(signed_in(client, personas.sam).get(f"{PAGE}?{NOV}&format=xlsx&table=health"))
    late = sheet_rows(client.get(f"{PAGE}?{NOV}&rep_id={team['lily'].pk}&format=xlsx&table=late"))
    # then
    assert rows[0][:3] == ("业务员", "健康度得分", "有效动作数")
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"alice", "carol", "lily", "sid"}
    assert by_name["lily"][6] == 0.5  # timeliness as a number, shown as 0%
    assert isinstance(by_name["sid"][1], int)
    assert by_name["lily"][10] == "录入不及时"
    assert late[0] == ("客户", "发生时间", "录入时间", "延迟小时数")
    assert len(late) == 51
    assert late[1][3] == 3.0
    assert isinstance(late[1][1], datetime)


def test_the_heatmap_tab_states_the_finding_and_drills_down(personas: Any, client: Any, team: dict[str, Any]) -> None:
    # given
    signed_in(client, personas.sam)
    # when
    html = client.get(f"{PAGE}?{NOV}&tab=heatmap").content.decode()
    cell = client.get(
        f"{PAGE}cell/?{NOV}&stage=solution_compare&obstacle=complex_decision_chain", HTTP_HX_REQUEST="true"
    ).content.decode()
    # then the seed's sentence, the marked cell, and the 37 customers behind it, misfits first
    assert all(words in html for words in ("方案对比阶段", "37%", "等待客户回复"))
    assert 'class="marked"' in html
    assert 'id="heat-data"' in html
    assert "<html" not in cell
    assert cell.count("<li>") == 37
    assert cell.index("不匹配") < cell.index("约见采购总监")


def test_the_heatmap_and_its_cell_export(personas: Any, client: Any, team: dict[str, Any]) -> None:
    signed_in(client, personas.sam)
    rows = sheet_rows(client.get(f"{PAGE}?{NOV}&tab=heatmap&format=xlsx&table=heatmap"))
    assert rows[0][:3] == ("阶段", "障碍类型", "动作数")
    marked = [r for r in rows[1:] if r[8] == "是"]
    assert [(r[0], r[1], r[2], r[4]) for r in marked] == [("方案对比", "决策链复杂", 37, 0.37)]
    cell = sheet_rows(
        client.get(f"{PAGE}cell/?{NOV}&stage=solution_compare&obstacle=complex_decision_chain&format=xlsx")
    )
    assert len(cell) == 38
    assert sum(1 for r in cell[1:] if r[4] == "是") == 21


def test_contact_quality_shows_the_line_and_the_reps_low_value_contacts(
    personas: Any, client: Any, two_reps: None
) -> None:
    # when Alice opens her contact quality
    html = signed_in(client, personas.alice).get(f"{PAGE}?{NOV}&tab=quality").content.decode()
    rows = sheet_rows(client.get(f"{PAGE}?{NOV}&tab=quality&format=xlsx&table=quality"))
    # then her ratio 50% is under the 60% line, her one low-value contact listed
    assert "60%" in html
    assert 'class="num below">50%' in html
    assert html.count('<li class="card">') == 1
    assert "要求延期" in html
    assert rows[1][:5] == ("alice", 3, 2, 1, 0.5)


def test_the_audit_shows_its_seed_and_draws_the_same_reps_again(
    personas: Any, client: Any, team: dict[str, Any]
) -> None:
    signed_in(client, personas.diana)
    first = client.get(f"{PAGE}?tab=audit&seed=42").content.decode()
    again = client.get(f"{PAGE}?tab=audit&seed=42").content.decode()
    assert "<strong>42</strong>" in first
    assert "seed=42" in first
    table = first.split('class="grid audit-table"', 1)[1].split("</table>", 1)[0]
    assert table == again.split('class="grid audit-table"', 1)[1].split("</table>", 1)[0]
    rows = sheet_rows(client.get(f"{PAGE}?tab=audit&seed=42&format=xlsx&table=audit"))
    assert rows[0] == ("业务员", "完整动作数", "动作数", "完整性")
    assert all(isinstance(r[2], int) for r in rows[1:])


def test_the_weekly_meeting_shows_three_codes_and_no_names(personas: Any, client: Any, team: dict[str, Any]) -> None:
    # when
    html = signed_in(client, personas.sam).get(f"{PAGE}meeting/?{NOV}").content.decode()
    # then codes A, B and C with completeness and timeliness only: no names, no scores
    assert [c in html for c in ("代号 A", "代号 B", "代号 C")] == [True, True, True]
    assert "代号 D" not in html
    for name in ("alice", "carol", "lily", "sid"):
        assert name not in html.split('<main id="main"', 1)[1]
    assert html.count('class="meeting-figure') == 6
    assert "有效性" not in html.split('<main id="main"', 1)[1]


def test_the_health_page_keeps_a_query_budget(
    personas: Any, client: Any, team: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    signed_in(client, personas.sam)
    client.get(PAGE)
    with django_assert_max_num_queries(30):
        client.get(f"{PAGE}?{NOV}")
    with django_assert_max_num_queries(30):
        client.get(f"{PAGE}?{NOV}&tab=heatmap")
    with django_assert_max_num_queries(30):
        client.get(f"{PAGE}?{NOV}&tab=quality&rep_id={team['lily'].pk}")
    with django_assert_max_num_queries(30):
        client.get(f"{PAGE}?tab=audit&seed=7")
    with django_assert_max_num_queries(30):
        client.get(f"{PAGE}meeting/?{NOV}")
    with django_assert_max_num_queries(30):
        client.get(f"{PAGE}cell/?{NOV}&stage=solution_compare&obstacle=complex_decision_chain")


def test_a_managers_trend_is_the_scope_as_a_whole_and_a_reps_their_own(
    personas: Any, client: Any, team: dict[str, Any]
) -> None:
    import json
    import re

    def trend(html: str) -> dict[str, Any]:
        found = re.search(r'<script id="trend-data" type="application/json">(.*?)</script>', html, re.S)
        assert found is not None
        return json.loads(found.group(1))

    # when Sam opens the page, then Lily's row, then Lily opens her own
    team_trend = trend(signed_in(client, personas.sam).get(PAGE).content.decode())
    lily_by_sam = trend(client.get(f"{PAGE}?rep_id={team['lily'].pk}").content.decode())
    own = trend(signed_in(client, team["lily"]).get(PAGE).content.decode())
    # then three lines each (score, completeness, timeliness); Lily's timeliness is 50% every week
    assert [len(t["series"]) for t in (team_trend, lily_by_sam, own)] == [3, 3, 3]
    assert set(own["series"][2]["data"]) == {50}
    assert own == lily_by_sam
    assert set(team_trend["series"][2]["data"]) != {50}


def test_the_weekly_meeting_defaults_to_last_week(personas: Any, client: Any, team: dict[str, Any]) -> None:
    # given Thursday 2026-11-26: last week is 11-16 to 11-22, when East-1 logged on six days
    html = signed_in(client, personas.diana).get(f"{PAGE}meeting/").content.decode()
    # then
    assert "2026-11-16 至 2026-11-22" in html
    assert html.count('class="meeting-row"') == 3


def test_a_large_scope_is_shown_a_page_of_reps_at_a_time_and_exported_whole(
    client: Any, personas: Any, now: datetime, monkeypatch: Any
) -> None:
    # given the generated team (four reps) and pages of two rows
    generated_team(personas)
    monkeypatch.setattr("salestrace.analytics.views.HEALTH_PAGE_ROWS", 2)
    signed_in(client, personas.diana)
    # when the director opens the first page and then the second
    first = client.get(f"{PAGE}?{NOV}")
    second = client.get(f"{PAGE}?{NOV}&page=2")
    # then each shows two reps, links the other, and the export has every row
    assert [r["row"].name for r in first.context["rows"]] == [r.name for r in first.context["board"].rows[:2]]
    assert [r["row"].name for r in second.context["rows"]] == [r.name for r in second.context["board"].rows[2:4]]
    assert 'rel="next"' in first.content.decode()
    assert 'rel="prev"' in second.content.decode()
    pages = first.context["page"].paginator.num_pages
    assert f"第 1 页，共 {pages} 页" in first.content.decode()
    everything = client.get(f"{PAGE}?{NOV}&format=xlsx&table=health")
    assert len(sheet_rows(everything)) - 1 == len(first.context["board"].rows) == 4
    # and a page out of range shows the last one
    assert client.get(f"{PAGE}?{NOV}&page=99").context["page"].number == pages == 2
