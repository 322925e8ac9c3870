"""A person's tasks and next steps as an iCalendar feed (RFC 5545) that phone calendars subscribe to.
Pure: entries in, bytes out, written by the maintained `icalendar` package."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event

PRODID = "-//SalesTrace//Tasks and next steps//ZH"
UID_DOMAIN = "salestrace"
# A task is due at a time; the calendar shows it as a half-hour slot ending nowhere in particular.
TASK_LENGTH = timedelta(minutes=30)


@dataclass(frozen=True)
class CalendarEntry:
    uid: str  # stable across fetches: "task-12", "next-step-34"
    title: str
    customer: str
    detail: str
    at: datetime | None  # a task's due time (aware), or
    day: date | None  # a next step's planned day (an all-day event)
    link: str
    changed_at: datetime


def feed_bytes(entries: Iterable[CalendarEntry], *, name: str, now: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for entry in entries:
        event = Event()
        event.add("uid", f"{entry.uid}@{UID_DOMAIN}")
        event.add("dtstamp", now)
        event.add("last-modified", entry.changed_at)
        event.add("summary", f"{entry.title} · {entry.customer}" if entry.customer else entry.title)
        if entry.at is not None:
            event.add("dtstart", entry.at)
            event.add("dtend", entry.at + TASK_LENGTH)
        elif entry.day is not None:
            event.add("dtstart", entry.day)
            event.add("dtend", entry.day + timedelta(days=1))
            event.add("transp", "TRANSPARENT")  # a plan for the day does not block the day
        description = "\n".join(part for part in (entry.detail, entry.link) if part)
        if description:
            event.add("description", description)
        if entry.link:
            event.add("url", entry.link)
        calendar.add_component(event)
    return calendar.to_ical()
