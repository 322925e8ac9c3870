"""Chinese working days: official holidays, adjusted working weekends, company days off, and how sure
we are of each day. No database.

The 2027 "official" days below are made up for the tests (the real notice is entered by an admin)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from salestrace.catalog.packs import PACKS_DIR
from salestrace.todos.workdays import (
    Basis,
    OfficialSchedule,
    WorkCalendar,
    add_working_days,
    is_working_day,
    parse_schedule_csv,
    parse_schedule_yaml,
    read_schedule_yaml,
    statutory_draft,
)

PACKAGE_ONLY = WorkCalendar()


def test_the_2026_calendar_is_known_to_the_package() -> None:
    assert PACKAGE_ONLY.basis(date(2026, 12, 31)) is Basis.PACKAGE
    assert PACKAGE_ONLY.is_known(date(2026, 12, 31))


def test_national_day_is_off_and_the_adjusted_saturday_is_a_working_day() -> None:
    assert not is_working_day(date(2026, 10, 1))
    assert not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))  # Saturday, worked in exchange for the holiday
    assert not is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_three_working_days_after_a_quote_skip_the_holiday_and_count_the_adjusted_saturday() -> None:
    # given a quote sent on Wednesday 30 September 2026, before the National Day week
    # then the 3rd working day is Saturday 10 October (8th, 9th, then the adjusted 10th), and it is certain
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert PACKAGE_ONLY.add(date(2026, 9, 30), 3).certain


def test_a_company_day_off_is_skipped_too() -> None:
    assert add_working_days(date(2026, 11, 25), 1, {date(2026, 11, 26)}) == date(2026, 11, 27)
    assert not is_working_day(date(2026, 11, 26), {date(2026, 11, 26)})


def test_the_2027_spring_festival_is_not_a_working_day_before_anyone_enters_the_schedule() -> None:
    # given nobody entered 2027 and the pinned chinesecalendar stops at 2026
    # then Monday 8 February 2027 (春节) is a day off by the statutory days of the holidays package,
    # and the calendar says that this is not an official schedule
    assert not is_working_day(date(2027, 2, 8))
    assert PACKAGE_ONLY.basis(date(2027, 2, 8)) is Basis.STATUTORY
    assert not PACKAGE_ONLY.is_known(date(2027, 2, 8))


def test_counting_into_an_uncovered_year_says_which_days_were_estimated() -> None:
    # given a quote on Wednesday 3 February 2027, the day before the Spring Festival days off
    reckoned = PACKAGE_ONLY.add(date(2027, 2, 3), 3)
    # then the 3rd working day skips 除夕 to the 补假 (5-10 February): 4, 11, 12 February
    assert reckoned.day == date(2027, 2, 12)
    # and the count is marked estimated, naming the uncovered days it crossed
    assert not reckoned.certain
    assert reckoned.uncertain[0] == date(2027, 2, 4)


def test_counting_across_new_year_is_uncertain_only_from_the_first_uncovered_day() -> None:
    reckoned = PACKAGE_ONLY.add(date(2026, 12, 30), 2)
    assert reckoned.day == date(2027, 1, 4)  # 31 Dec, then 1 Jan (元旦) and the weekend are off
    assert reckoned.uncertain == (date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3), date(2027, 1, 4))


def test_a_confirmed_schedule_decides_its_year_with_its_adjusted_saturday() -> None:
    # given an admin entered a (test) 2027 schedule: 5-11 Feb off, Saturday 13 Feb worked
    off = frozenset(date(2027, 2, d) for d in range(5, 12))
    calendar = WorkCalendar(OfficialSchedule(frozenset({2027}), off, frozenset({date(2027, 2, 13)})))
    # then the Saturday counts, the days the package would guess are not used, and it is certain
    assert calendar.is_working_day(date(2027, 2, 13))
    assert not calendar.is_working_day(date(2027, 2, 11))
    reckoned = calendar.add(date(2027, 2, 4), 2)
    assert reckoned.day == date(2027, 2, 13)  # Friday 12, then the adjusted Saturday 13
    assert reckoned.certain
    assert calendar.unknown_years(date(2026, 12, 3), 60) == []


def test_an_unconfirmed_draft_is_used_but_the_year_stays_uncertain() -> None:
    calendar = WorkCalendar(OfficialSchedule(frozenset(), frozenset(), frozenset({date(2027, 2, 20)})))
    assert calendar.is_working_day(date(2027, 2, 20))  # a Saturday entered as worked
    assert not calendar.is_known(date(2027, 2, 20))
    assert calendar.unknown_years(date(2026, 12, 3), 60) == [2027]


def test_a_company_day_off_wins_over_an_adjusted_working_day() -> None:
    calendar = WorkCalendar(company_days_off=frozenset({date(2026, 10, 10)}))
    assert not calendar.is_working_day(date(2026, 10, 10))


def test_the_next_60_days_from_3_december_2026_reach_the_uncovered_2027() -> None:
    assert PACKAGE_ONLY.unknown_years(date(2026, 12, 3), 60) == [2027]
    assert PACKAGE_ONLY.unknown_years(date(2026, 10, 1), 60) == []


def test_a_year_without_any_source_counts_monday_to_friday_and_says_so() -> None:
    assert PACKAGE_ONLY.basis(date(2999, 3, 4)) is Basis.WEEKDAYS
    assert is_working_day(date(2999, 3, 4))  # a Monday
    assert not PACKAGE_ONLY.add(date(2999, 3, 1), 1).certain


# --- schedule files ------------------------------------------------------------------------------


def test_a_csv_schedule_is_read_into_years() -> None:
    text = "date,kind,name\n2027-02-05,off,春节\n2027-02-13,WORK,春节调休\n\n"
    years, problems = parse_schedule_csv(text, source="notice.csv")
    assert problems == []
    (year,) = years
    assert (year.year, year.confirmed, year.source) == (2027, True, "notice.csv")
    assert [(d.day, d.kind, d.name) for d in year.days] == [
        (date(2027, 2, 5), "off", "春节"),
        (date(2027, 2, 13), "work", "春节调休"),
    ]


def test_a_bad_csv_reports_every_problem_with_its_line() -> None:
    text = "date,kind,name\n2027-02-30,off,x\n2027-02-05,holiday,y\n2027-02-06,off,a\n2027-02-06,work,b\n"
    _years, problems = parse_schedule_csv(text)
    assert [(p.line, p.code) for p in problems] == [(2, "bad_date"), (3, "bad_kind"), (5, "duplicate")]


def test_a_csv_without_the_header_is_refused() -> None:
    _years, problems = parse_schedule_csv("2027-02-05,off,春节\n")
    assert [p.code for p in problems] == ["bad_header"]


def test_the_shipped_2026_calendar_file_matches_the_official_2026_schedule() -> None:
    # given the calendar file shipped in packs/calendar (the format admins copy for a new year)
    years, problems = read_schedule_yaml((PACKS_DIR / "calendar" / "cn-2026.yaml").read_text(encoding="utf-8"))
    assert problems == []
    (year,) = years
    kinds = {d.day: d.kind for d in year.days}
    calendar = WorkCalendar(
        OfficialSchedule(
            frozenset({2026}),
            frozenset(d for d, k in kinds.items() if k == "off"),
            frozenset(d for d, k in kinds.items() if k == "work"),
        )
    )
    # then every day of 2026 is what the State Council notice (as chinesecalendar ships it) says
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_a_yaml_day_of_another_year_is_refused() -> None:
    data = {"calendar": {"year": 2027, "days": [{"date": date(2028, 1, 1), "kind": "off", "name": "元旦"}]}}
    _years, problems = parse_schedule_yaml(data)
    assert [(p.line, p.code) for p in problems] == [(1, "other_year")]


def test_the_holidays_draft_proposes_the_statutory_days_off_only_and_is_unconfirmed() -> None:
    draft = statutory_draft(2027)
    assert not draft.confirmed
    days = {d.day: d for d in draft.days}
    assert days[date(2027, 2, 6)].name == "春节"
    assert {d.kind for d in draft.days} == {"off"}  # the package has no 调休 for 2027
