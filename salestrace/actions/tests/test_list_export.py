"""The customer list as a spreadsheet: the rows in the user's scope as filtered, Chinese headers, and
text that Excel shows rather than runs."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from salestrace.actions.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def sheet_of(response: Any) -> Any:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.content)).active


def test_my_customers_download_as_xlsx_with_formulas_made_text(personas, client):
    make_customer(owner=personas.alice, name="联华超市(江宁店)", phones="13800138000")
    make_customer(owner=personas.alice, name='=HYPERLINK("http://evil","点我")')
    make_customer(owner=personas.bob, name="苏果超市")
    client.force_login(personas.alice)
    sheet = sheet_of(client.get("/customers/", {"format": "xlsx"}))
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("客户", "类型", "阶段", "负责人")
    names = sorted(r[0] for r in rows[1:])
    assert names == sorted(['=HYPERLINK("http://evil","点我")', "联华超市(江宁店)"])  # bob's is not hers
    formula = next(c for c in sheet["A"] if str(c.value).startswith("="))
    assert formula.data_type == "s"  # shown as text, never run
    # and the filters of the page apply
    sheet = sheet_of(client.get("/customers/", {"format": "xlsx", "q": "联华"}))
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["联华超市(江宁店)"]
