"""Chinese working days: official holidays, adjusted working weekends, company days off. No database."""

from __future__ import annotations

from datetime import date

from salestrace.todos.workdays import add_working_days, calendar_covers, is_working_day


def test_the_2026_calendar_is_known_to_the_package() -> None:
    assert calendar_covers(date(2026, 12, 31))


def test_national_day_is_off_and_the_adjusted_saturday_is_a_working_day() -> None:
    assert not is_working_day(date(2026, 10, 1))
    assert not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))  # Saturday, worked in exchange for the holiday
    assert not is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_three_working_days_after_a_quote_skip_the_holiday_and_count_the_adjusted_saturday() -> None:
    # given a quote sent on Wednesday 30 September 2026, before the National Day week
    # then the 3rd working day is Saturday 10 October (8th, 9th, then the adjusted 10th)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_a_company_day_off_is_skipped_too() -> None:
    assert add_working_days(date(2026, 11, 25), 1, {date(2026, 11, 26)}) == date(2026, 11, 27)
    assert not is_working_day(date(2026, 11, 26), {date(2026, 11, 26)})


def test_a_year_the_package_does_not_know_falls_back_to_monday_to_friday() -> None:
    assert not calendar_covers(date(2099, 3, 2))
    assert is_working_day(date(2099, 3, 2))  # a Monday
    assert not is_working_day(date(2099, 3, 1))  # a Sunday
