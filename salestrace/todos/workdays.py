"""Chinese working days, and how sure we are of each one. Pure: dates in, dates out.

Sources, best first:
1. the official schedule an admin entered (admin page, CSV upload, `packs/calendar/*.yaml`);
2. the `chinesecalendar` package (the State Council notices it ships, holidays and adjusted
   working weekends (调休));
3. the `holidays` package: the statutory days by law (and its guessed 补假) for any year, but
   not the adjusted working weekends, so a day it decides is *uncertain*;
4. Monday to Friday, uncertain too (only when `holidays` cannot say either).
A company's own days off come on top of all of them. Never a silent guess: every answer can say
which source it came from (`WorkCalendar.basis`), and `WorkCalendar.add` says whether the count
crossed a day no official schedule covers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import chinese_calendar
import holidays
import yaml

# A year of official days has at most ~40 rows; a file much larger than this is not a schedule.
MAX_ROWS = 400
KINDS = ("off", "work")


class Basis(StrEnum):
    """Where the answer for one day comes from."""

    OFFICIAL = "official"  # entered by an admin, confirmed against the notice
    PACKAGE = "package"  # the chinesecalendar package
    STATUTORY = "statutory"  # the holidays package: statutory days, no 调休 (uncertain)
    WEEKDAYS = "weekdays"  # Monday to Friday (uncertain)


CERTAIN = frozenset({Basis.OFFICIAL, Basis.PACKAGE})


@dataclass(frozen=True)
class OfficialSchedule:
    """What admins entered: days off and adjusted working days, and the years confirmed complete."""

    confirmed_years: frozenset[int] = frozenset()
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Reckoned:
    """A date worked out by counting working days; `uncertain` lists the days no official schedule covered."""

    day: date
    uncertain: tuple[date, ...] = ()

    @property
    def certain(self) -> bool:
        return not self.uncertain


def package_covers(year: int) -> bool:
    """True when chinesecalendar ships the State Council schedule of `year`."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=64)
def statutory_days(year: int) -> dict[date, str]:
    """The `holidays` package's public holidays of `year` in China (statutory days and its guessed
    补假; never the adjusted working weekends), {date: Chinese name}; empty when it has none."""
    try:
        found = holidays.country_holidays("CN", years=year, language="zh_CN")
    except (NotImplementedError, KeyError, ValueError):
        return {}
    return {day: str(name) for day, name in sorted(found.items()) if day.year == year}


@dataclass(frozen=True)
class WorkCalendar:
    """The working-day calendar of the company: official schedules plus company days off."""

    official: OfficialSchedule = field(default_factory=OfficialSchedule)
    company_days_off: frozenset[date] = frozenset()

    def basis(self, day: date) -> Basis:
        """The source that decides `day`."""
        if day.year in self.official.confirmed_years:
            return Basis.OFFICIAL
        if package_covers(day.year):
            return Basis.PACKAGE
        if statutory_days(day.year):
            return Basis.STATUTORY
        return Basis.WEEKDAYS

    def is_known(self, day: date) -> bool:
        """True when an official schedule (entered or shipped) covers `day`."""
        return self.basis(day) in CERTAIN

    def is_working_day(self, day: date) -> bool:
        """A working day by the best source there is; company days off never are."""
        if day in self.company_days_off or day in self.official.days_off:
            return False
        if day in self.official.working_days:
            return True
        basis = self.basis(day)
        if basis is Basis.PACKAGE:
            return bool(chinese_calendar.is_workday(day))
        if basis is Basis.STATUTORY and day in statutory_days(day.year):
            return False
        return day.weekday() < 5

    def add(self, start: date, count: int) -> Reckoned:
        """The `count`-th working day after `start` (start not counted; 0 is `start`), and the days
        on the way that no official schedule covered."""
        day, remaining, unsure = start, count, []
        while remaining > 0:
            day += timedelta(days=1)
            if not self.is_known(day):
                unsure.append(day)
            if self.is_working_day(day):
                remaining -= 1
        return Reckoned(day, tuple(unsure))

    def unknown_years(self, start: date, days: int) -> list[int]:
        """The years met in [start, start + days] that no official schedule covers, in order."""
        years = sorted({(start + timedelta(days=n)).year for n in range(days + 1)})
        return [y for y in years if not self.is_known(date(y, 1, 1))]


def is_working_day(day: date, days_off: Collection[date] = ()) -> bool:
    """A working day with no schedule entered by an admin (see `WorkCalendar`)."""
    return WorkCalendar(company_days_off=frozenset(days_off)).is_working_day(day)


def add_working_days(start: date, count: int, days_off: Collection[date] = ()) -> date:
    """The `count`-th working day after `start` with no schedule entered by an admin."""
    return WorkCalendar(company_days_off=frozenset(days_off)).add(start, count).day


# --- schedule files: CSV (date,kind,name) and YAML (packs/calendar/*.yaml) ----------------------


@dataclass(frozen=True)
class DayDef:
    """One row of a schedule file: a day off or an adjusted working day (调休)."""

    day: date
    kind: str  # "off" | "work"
    name: str


@dataclass(frozen=True)
class YearDef:
    """One year of a schedule file."""

    year: int
    days: tuple[DayDef, ...]
    confirmed: bool = True
    source: str = ""


@dataclass(frozen=True)
class ScheduleProblem:
    """What is wrong with a schedule file, and where (line 0 for the whole file)."""

    line: int
    code: str
    detail: str = ""


def _day_def(raw_date: Any, raw_kind: Any, raw_name: Any, line: int) -> tuple[DayDef | None, list[ScheduleProblem]]:
    problems: list[ScheduleProblem] = []
    day: date | None = None
    if isinstance(raw_date, date):
        day = raw_date
    else:
        try:
            day = date.fromisoformat(str(raw_date or "").strip())
        except ValueError:
            problems.append(ScheduleProblem(line, "bad_date", str(raw_date or "")))
    kind = str(raw_kind or "").strip().lower()
    if kind not in KINDS:
        problems.append(ScheduleProblem(line, "bad_kind", kind))
    name = str(raw_name or "").strip()
    if len(name) > 100:
        problems.append(ScheduleProblem(line, "long_name", name[:20]))
    if problems or day is None:
        return None, problems
    return DayDef(day, kind, name), []


def _group(days: Iterable[tuple[int, DayDef]], problems: list[ScheduleProblem]) -> dict[int, list[DayDef]]:
    by_year: dict[int, list[DayDef]] = {}
    seen: set[date] = set()
    for line, d in days:
        if d.day in seen:
            problems.append(ScheduleProblem(line, "duplicate", d.day.isoformat()))
            continue
        seen.add(d.day)
        by_year.setdefault(d.day.year, []).append(d)
    return by_year


def parse_schedule_csv(
    text: str, *, confirmed: bool = True, source: str = ""
) -> tuple[list[YearDef], list[ScheduleProblem]]:
    """A CSV with the header `date,kind,name` (kind off|work) into years; every problem, none raised."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "date" not in header or "kind" not in header:
        return [], [ScheduleProblem(1, "bad_header", ",".join(header))]
    reader.fieldnames = header
    problems: list[ScheduleProblem] = []
    rows: list[tuple[int, DayDef]] = []
    for number, row in enumerate(reader, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if len(rows) >= MAX_ROWS:
            problems.append(ScheduleProblem(number, "too_many_rows", str(MAX_ROWS)))
            break
        day, bad = _day_def(row.get("date"), row.get("kind"), row.get("name"), number)
        problems += bad
        if day is not None:
            rows.append((number, day))
    if not rows and not problems:
        problems.append(ScheduleProblem(0, "empty"))
    by_year = _group(rows, problems)
    return [
        YearDef(y, tuple(sorted(ds, key=lambda d: d.day)), confirmed, source) for y, ds in sorted(by_year.items())
    ], problems


def parse_schedule_yaml(data: Any) -> tuple[list[YearDef], list[ScheduleProblem]]:
    """A parsed `packs/calendar/*.yaml` file: `calendar: {year, confirmed, source, days: [{date, kind, name}]}`."""
    section = data.get("calendar") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        return [], [ScheduleProblem(0, "no_calendar_section")]
    problems: list[ScheduleProblem] = []
    year = section.get("year")
    if not isinstance(year, int) or not 1950 <= year <= 2200:
        problems.append(ScheduleProblem(0, "bad_year", str(year)))
    raw_days = section.get("days")
    if not isinstance(raw_days, list) or not raw_days:
        problems.append(ScheduleProblem(0, "empty"))
        raw_days = []
    rows: list[tuple[int, DayDef]] = []
    for number, raw in enumerate(raw_days, start=1):
        raw = raw if isinstance(raw, dict) else {}
        kind = raw.get("kind")
        # YAML 1.1 reads a bare `off` as false.
        day, bad = _day_def(raw.get("date"), "off" if kind is False else kind, raw.get("name"), number)
        problems += bad
        if day is not None:
            if isinstance(year, int) and day.day.year != year:
                problems.append(ScheduleProblem(number, "other_year", day.day.isoformat()))
            else:
                rows.append((number, day))
    by_year = _group(rows, problems)
    if problems or not isinstance(year, int):
        return [], problems
    confirmed = section.get("confirmed", True) is True
    source = str(section.get("source") or "")[:200]
    return [YearDef(year, tuple(sorted(by_year.get(year, []), key=lambda d: d.day)), confirmed, source)], []


class _DatesAsText(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so a wrong one is reported with its row, not raised."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_schedule_yaml(text: str) -> tuple[list[YearDef], list[ScheduleProblem]]:
    """The text of a `packs/calendar/*.yaml` file, checked whole (see `parse_schedule_yaml`)."""
    try:
        data = yaml.load(text, Loader=_DatesAsText)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [ScheduleProblem(mark.line + 1 if mark else 0, "bad_yaml")]
    return parse_schedule_yaml(data)


def statutory_draft(year: int) -> YearDef:
    """An unconfirmed year proposed from the `holidays` package: its days off only (no 调休)."""
    return YearDef(
        year,
        tuple(DayDef(day, "off", name) for day, name in statutory_days(year).items()),
        confirmed=False,
        source="holidays",
    )
