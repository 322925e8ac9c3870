"""The working-day calendar past the end of the shipped one (2026): estimated follow-ups, the check and
notice that say so, and the official schedule an admin enters (admin page, CSV, calendar file).

Today is 3 December 2026. The 2027 "official" days below are made up for the tests."""

from __future__ import annotations

import io
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from salestrace.todos.checks import official_calendar_check
from salestrace.todos.jobs import daily_reminders, follow_ups
from salestrace.todos.models import OfficialDay, OfficialYear, ReminderRun, Task
from salestrace.todos.tests.helpers import SHANGHAI, local, log, make_customer

pytestmark = pytest.mark.django_db

TODAY = local(2026, 12, 3, 10)
# A made-up 2027 notice: 除夕 to the 5th day off (5-10 February), Saturday 13 February worked.
SCHEDULE_2027 = (
    """calendar:
  year: 2027
  confirmed: true
  source: test notice
  days:
    - {date: 2027-01-01, kind: off, name: 元旦}
"""
    + "".join(f"    - {{date: 2027-02-{d:02d}, kind: off, name: 春节}}\n" for d in range(5, 11))
    + ("    - {date: 2027-02-13, kind: work, name: 春节调休}\n")
)


def _scan(at: Any) -> None:
    with time_machine.travel(at, tick=False):
        follow_ups(now=at)


def _schedule_file(tmp_path: Path) -> str:
    path = tmp_path / "cn-2027.yaml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    return str(path)


@pytest.fixture
def quote_before_spring_festival(personas: Any) -> Task:
    """Alice sends a quote on Thursday 4 February 2027, the day before the Spring Festival days off."""
    shop = make_customer(personas.alice, "联华超市")
    log(personas.alice, shop, local(2027, 2, 4, 10), key_action="send_quote")
    _scan(local(2027, 2, 4, 10, 5))
    return Task.objects.get(source=Task.Source.FOLLOW_UP)


def test_a_quote_before_the_2027_spring_festival_is_due_after_it_and_marked_estimated(
    personas: Any, caplog: Any
) -> None:
    # given nobody entered the 2027 schedule, and the pinned chinesecalendar stops at 2026
    shop = make_customer(personas.alice, "联华超市")
    log(personas.alice, shop, local(2027, 2, 4, 10), key_action="send_quote")
    # when the follow-up job scans the quote
    with caplog.at_level(logging.WARNING, logger="salestrace.todos.services"):
        _scan(local(2027, 2, 4, 10, 5))
    # then the 3rd working day skips 除夕, the Spring Festival and its 补假 (5-10 Feb): 11, 12, 15 February
    task = Task.objects.get(source=Task.Source.FOLLOW_UP)
    assert task.due_at.astimezone(SHANGHAI).date() == date(2027, 2, 15)
    # and the task says its date is estimated, and the log says why
    assert task.due_uncertain
    assert "no official holiday schedule covers [2027]" in caplog.text


def test_a_follow_up_inside_the_known_calendar_is_not_estimated(personas: Any) -> None:
    shop = make_customer(personas.alice, "联华超市")
    log(personas.alice, shop, local(2026, 9, 30, 10), key_action="send_quote")
    _scan(local(2026, 9, 30, 10, 5))
    task = Task.objects.get(source=Task.Source.FOLLOW_UP)
    assert task.due_at.astimezone(SHANGHAI).date() == date(2026, 10, 10)
    assert not task.due_uncertain


def test_the_rep_sees_that_the_due_date_is_estimated(
    quote_before_spring_festival: Task, client: Any, api_as: Any, personas: Any
) -> None:
    # given alice's follow-up counted over the uncovered Spring Festival 2027
    with time_machine.travel(local(2027, 2, 4, 12), tick=False):
        # then the API says so
        (item,) = api_as(personas.alice).get("/tasks?status=open").json()["items"]
        assert item["due_uncertain"] is True
        # and so does her task list
        client.force_login(personas.alice)
        page = client.get("/tasks/").content.decode()
    assert 'class="estimated"' in page


def test_loading_the_official_schedule_recounts_the_estimated_follow_up(
    quote_before_spring_festival: Task, tmp_path: Path
) -> None:
    # given the estimated follow-up due Monday 15 February
    # when the admin loads the 2027 notice, where Saturday 13 February is worked
    with time_machine.travel(local(2027, 2, 4, 12), tick=False):
        call_command("load_calendar", _schedule_file(tmp_path), stdout=io.StringIO())
    # then the follow-up is due on the adjusted Saturday (11, 12, 13 February), no longer estimated
    task = Task.objects.get(pk=quote_before_spring_festival.pk)
    assert task.due_at.astimezone(SHANGHAI).date() == date(2027, 2, 13)
    assert task.remind_at == local(2027, 2, 13, 8, 30)
    assert not task.due_uncertain


def test_correcting_a_confirmed_schedule_moves_a_follow_up_not_yet_reminded(personas: Any, tmp_path: Path) -> None:
    # given the 2027 schedule with Saturday 13 February worked, and a quote on 4 February due that Saturday
    with time_machine.travel(local(2027, 1, 4, 12), tick=False):
        call_command("load_calendar", _schedule_file(tmp_path), stdout=io.StringIO())
    shop = make_customer(personas.alice, "联华超市")
    log(personas.alice, shop, local(2027, 2, 4, 10), key_action="send_quote")
    _scan(local(2027, 2, 4, 10, 5))
    task = Task.objects.get(source=Task.Source.FOLLOW_UP)
    assert task.due_at.astimezone(SHANGHAI).date() == date(2027, 2, 13)
    assert not task.due_uncertain
    # when the admin corrects the year: the Saturday is not worked after all
    corrected = tmp_path / "corrected.csv"
    corrected.write_text("date,kind,name\n" + "".join(f"2027-02-{d:02d},off,春节\n" for d in range(5, 11)))
    with time_machine.travel(local(2027, 2, 4, 12), tick=False):
        call_command("load_calendar", str(corrected), stdout=io.StringIO())
    # then the follow-up moves to Monday 15 February, with its reminder
    task.refresh_from_db()
    assert task.due_at.astimezone(SHANGHAI).date() == date(2027, 2, 15)
    assert task.remind_at == local(2027, 2, 15, 8, 30)


def test_the_daily_reminder_skips_the_2027_spring_festival_monday_before_the_schedule_is_entered(
    personas: Any, settings: Any
) -> None:
    settings.NOTIFY_EMAIL_ENABLED = False
    # when the 18:00 sweep runs on Monday 8 February 2027 (春节)
    at = local(2027, 2, 8, 18)
    with time_machine.travel(at, tick=False):
        handled = daily_reminders(now=at)
    # then nobody is reminded, as on any public holiday
    assert handled == 0
    assert not ReminderRun.objects.exists()


def test_the_system_check_warns_while_the_next_60_days_are_not_covered(tmp_path: Path) -> None:
    # given today, 3 December 2026: the next 60 days reach into 2027
    with time_machine.travel(TODAY, tick=False):
        (warning,) = official_calendar_check()
    assert warning.id == "todos.W001"
    assert "2027" in warning.msg
    # and in October 2026 they do not
    with time_machine.travel(local(2026, 10, 1, 10), tick=False):
        assert official_calendar_check() == []
    # when the 2027 schedule is loaded, the warning is gone
    with time_machine.travel(TODAY, tick=False):
        call_command("load_calendar", _schedule_file(tmp_path), stdout=io.StringIO())
        assert official_calendar_check() == []


def test_directors_and_admins_see_the_calendar_notice_and_reps_do_not(client: Any, personas: Any) -> None:
    with time_machine.travel(TODAY, tick=False):
        for user, sees in ((personas.diana, True), (personas.admin, True), (personas.alice, False)):
            client.force_login(user)
            page = client.get("/tasks/").content.decode()
            assert ("calendar-notice" in page) is sees, user
        # and the Django admin index shows it too, with the way to fix it
        client.force_login(personas.admin)
        admin_index = client.get("/admin/").content.decode()
    assert "calendar-notice" in admin_index
    assert "/admin/todos/officialyear/" in admin_index


def test_an_admin_uploads_the_schedule_as_csv_and_the_notice_goes(client: Any, personas: Any) -> None:
    client.force_login(personas.admin)
    csv_text = "date,kind,name\n2027-02-05,off,除夕\n2027-02-08,off,春节\n2027-02-13,work,春节调休\n"
    with time_machine.travel(TODAY, tick=False):
        # when the admin uploads the year's CSV
        response = client.post(
            "/admin/todos/officialyear/upload/",
            {"file": SimpleUploadedFile("2027.csv", csv_text.encode()), "confirmed": "on", "source": "国办通知"},
        )
        assert response.status_code == 302
        # then the year is covered, with its days off and its adjusted working day
        schedule = OfficialYear.objects.get(year=2027)
        assert (schedule.confirmed, schedule.source) == (True, "国办通知")
        assert dict(OfficialDay.objects.values_list("date", "kind")) == {
            date(2027, 2, 5): "off",
            date(2027, 2, 8): "off",
            date(2027, 2, 13): "work",
        }
        assert "calendar-notice" not in client.get("/admin/").content.decode()


def test_a_bad_csv_upload_says_what_is_wrong_and_writes_nothing(client: Any, personas: Any) -> None:
    client.force_login(personas.admin)
    csv_text = "date,kind,name\n2027-02-30,off,x\n2027-02-08,holiday,春节\n"
    response = client.post(
        "/admin/todos/officialyear/upload/",
        {"file": SimpleUploadedFile("2027.csv", csv_text.encode()), "confirmed": "on"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "2027-02-30" in page
    assert "holiday" in page
    assert not OfficialYear.objects.exists()


def test_a_year_proposed_from_the_holidays_package_is_a_draft_without_adjusted_working_days(
    client: Any, personas: Any
) -> None:
    client.force_login(personas.admin)
    with time_machine.travel(TODAY, tick=False):
        # when the admin asks for a 2027 proposal from the holidays package
        response = client.post("/admin/todos/officialyear/draft/", {"year": "2027"})
        assert response.status_code == 302
        # then the statutory days are prefilled, no 调休, and the year is still not covered
        schedule = OfficialYear.objects.get(year=2027)
        assert not schedule.confirmed
        days = dict(schedule.days.values_list("date", "kind"))
        assert days[date(2027, 2, 6)] == "off"
        assert set(days.values()) == {"off"}
        assert official_calendar_check() != []
        # and asking again does not overwrite what the admin has entered since
        again = client.post("/admin/todos/officialyear/draft/", {"year": "2027"})
    assert again.status_code == 200
    assert OfficialYear.objects.count() == 1
    # and the list of years counts its days off and adjusted working days
    offs = schedule.days.filter(kind="off").count()
    listing = client.get("/admin/todos/officialyear/").content.decode()
    assert f'<td class="field-days_off">{offs}</td>' in listing
    assert '<td class="field-working_days">0</td>' in listing


def test_the_admin_refuses_a_day_of_another_year_in_a_schedule(client: Any, personas: Any) -> None:
    client.force_login(personas.admin)
    response = client.post(
        "/admin/todos/officialyear/add/",
        {
            "year": "2027",
            "confirmed": "on",
            "source": "",
            "days-TOTAL_FORMS": "1",
            "days-INITIAL_FORMS": "0",
            "days-0-date": "2028-01-01",
            "days-0-kind": "off",
            "days-0-name": "元旦",
        },
    )
    assert response.status_code == 200
    assert not OfficialYear.objects.exists()


def test_the_shipped_2026_calendar_file_loads(personas: Any) -> None:
    call_command("load_calendar", "cn-2026", stdout=io.StringIO())
    schedule = OfficialYear.objects.get(year=2026)
    assert schedule.confirmed
    assert schedule.days.filter(kind="work").count() == 6
    assert schedule.days.get(date=date(2026, 10, 10)).kind == "work"


def test_a_calendar_file_with_mistakes_is_refused_whole(tmp_path: Path, db: None) -> None:
    path = tmp_path / "cn-2027.yaml"
    path.write_text(
        "calendar:\n  year: 2027\n  days:\n    - {date: 2027-02-31, kind: off}\n    - {date: 2027-02-08, kind: x}\n"
    )
    with pytest.raises(CommandError) as error:
        call_command("load_calendar", str(path))
    assert "2027-02-31" in str(error.value)
    assert '"x"' in str(error.value)
    assert not OfficialYear.objects.exists()
