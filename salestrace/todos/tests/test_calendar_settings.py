"""设置 · 日历: the official schedule entered from the product (a CSV, a draft from the holidays
package, single days, confirmation) and the company's own days off; each change recorded, follow-ups
counted again."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salestrace.catalog.models import SettingChange
from salestrace.todos.models import CompanyDayOff, OfficialDay, OfficialYear
from salestrace.todos.selectors import work_calendar

pytestmark = pytest.mark.django_db

CSV_2027 = "date,kind,name\n2027-02-05,off,春节\n2027-02-06,off,春节\n2027-02-07,work,春节调休\n"


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_years_schedule_is_uploaded_and_used(personas: Any) -> None:
    admin = as_user(personas.admin)
    assert as_user(personas.diana).get("/settings/calendar/").status_code == 403
    upload = SimpleUploadedFile("cn-2027.csv", CSV_2027.encode(), "text/csv")
    assert admin.post("/settings/calendar/", {"do": "upload", "file": upload}).status_code == 302
    schedule = OfficialYear.objects.get(year=2027)
    assert schedule.confirmed
    assert OfficialDay.objects.filter(schedule=schedule).count() == 3
    calendar = work_calendar()
    assert not calendar.is_working_day(date(2027, 2, 5))
    assert calendar.is_working_day(date(2027, 2, 7))  # a Sunday worked in exchange (调休)
    assert SettingChange.objects.get(area="calendar", key="2027").changed_by == personas.admin


def test_a_bad_file_says_which_row_and_writes_nothing(personas: Any) -> None:
    bad = SimpleUploadedFile("x.csv", b"date,kind,name\n2027-02-30,off,x\n2027-03-01,holiday,y\n", "text/csv")
    page = as_user(personas.admin).post("/settings/calendar/", {"do": "upload", "file": bad})
    html = page.content.decode()
    assert page.status_code == 422
    assert "第 2 行" in html
    assert "第 3 行" in html
    assert not OfficialYear.objects.filter(year=2027).exists()


def test_company_days_off_and_single_days_are_set_from_the_page(personas: Any) -> None:
    admin = as_user(personas.admin)
    admin.post("/settings/calendar/", {"do": "company", "date": "2027-03-15", "name": "公司团建"})
    assert CompanyDayOff.objects.get(date=date(2027, 3, 15)).name == "公司团建"
    assert not work_calendar().is_working_day(date(2027, 3, 15))
    admin.post("/settings/calendar/", {"do": "company_remove", "date": "2027-03-15"})
    assert not CompanyDayOff.objects.exists()
    admin.post("/settings/calendar/", {"do": "official", "date": "2027-04-05", "kind": "off", "name": "清明节"})
    assert OfficialDay.objects.get(date=date(2027, 4, 5)).name == "清明节"
    assert not OfficialYear.objects.get(year=2027).confirmed  # a single day is not the whole notice
    admin.post("/settings/calendar/", {"do": "confirm", "year": "2027"})
    assert OfficialYear.objects.get(year=2027).confirmed
    refused = admin.post("/settings/calendar/", {"do": "official", "date": "soon", "kind": "off"})
    assert refused.status_code == 422
    assert "请输入日期" in refused.content.decode()
    assert SettingChange.objects.filter(area="calendar").count() == 4
