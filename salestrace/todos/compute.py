"""What a rep is missing today, and the one message that says so. Pure: rows in, lines out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from salestrace.catalog.rules import RuleSpec, evaluate
from salestrace.notify.transports import Line, Mention, Message

MAX_LINES = 20


@dataclass(frozen=True)
class ActionRow:
    """An action logged today, with the values the entry rules look at."""

    id: int
    customer_name: str
    values: Mapping[str, object]
    link: str
    # The screenshots or recordings could not be read and the summary is still empty.
    summary_needed: bool = False
    summary_link: str = ""


@dataclass(frozen=True)
class NextStepRow:
    """A next step planned for today on a customer that has seen no action since."""

    action_id: int
    customer_name: str
    plan: str
    link: str


@dataclass(frozen=True)
class TaskRow:
    """An open task due by the end of today."""

    id: int
    title: str
    customer_name: str
    link: str
    overdue: bool


def incomplete_fields(values: Mapping[str, object], rules: Sequence[RuleSpec]) -> list[str]:
    """Fields the current rules require of this action that are still empty, in rule order, once each."""
    return list(dict.fromkeys(v.field for v in evaluate(values, rules)))


def missing_lines(
    *,
    actions: Sequence[ActionRow],
    next_steps: Sequence[NextStepRow],
    tasks: Sequence[TaskRow],
    rules: Sequence[RuleSpec],
    field_labels: Mapping[str, str],
) -> list[Line]:
    """Every line of a rep's daily reminder: incomplete entries, next steps due, open tasks due."""
    lines: list[Line] = []
    for action in actions:
        missing = incomplete_fields(action.values, rules)
        if missing:
            labels = "、".join(field_labels.get(f, f) for f in missing)
            text = _("Complete the entry for %(customer)s: %(fields)s missing") % {
                "customer": action.customer_name,
                "fields": labels,
            }
            lines.append(Line(text, action.link))
        if action.summary_needed:
            text = _("Write the summary for %(customer)s: the screenshot or recording could not be read") % {
                "customer": action.customer_name
            }
            lines.append(Line(text, action.summary_link or action.link))
    for step in next_steps:
        text = _("Next step due today for %(customer)s: %(plan)s") % {
            "customer": step.customer_name,
            "plan": step.plan or "—",
        }
        lines.append(Line(text, step.link))
    for task in tasks:
        template = _("Overdue: %(title)s (%(customer)s)") if task.overdue else _("Due today: %(title)s (%(customer)s)")
        lines.append(Line(template % {"title": task.title, "customer": task.customer_name or "—"}, task.link))
    return lines


def daily_message(*, rep_name: str, rep_id_on_vendor: str, day: date, lines: Sequence[Line], page_link: str) -> Message:
    """The 18:00 message; the caller sends nothing when `lines` is empty."""
    shown = list(lines[:MAX_LINES])
    if len(lines) > MAX_LINES:
        shown.append(Line(_("… and %(count)d more") % {"count": len(lines) - MAX_LINES}, page_link))
    title = _("%(date)s: %(count)d things to finish today") % {"date": day.strftime("%m-%d"), "count": len(lines)}
    return Message(title=title, lines=tuple(shown), link=page_link, mention=rep_name, mention_id=rep_id_on_vendor)


@dataclass(frozen=True)
class DigestRow:
    """One person with something to finish today, as the team's group robot shows them."""

    name: str
    count: int
    wecom_userid: str = ""
    mobile: str = ""


def team_digest(*, team_name: str, day: date, rows: Sequence[DigestRow], page_link: str) -> tuple[Message, ...]:
    """A team's daily digest for its group robots, as pieces: a header, then one per person with gaps.

    The outbox packs pieces into as few vendor messages as fit (and a robot shared by several teams
    gets their digests together), so each piece carries the same title and link. Empty when nobody
    has anything to finish.
    """
    if not rows:
        return ()
    title = _("%(date)s: entries still to finish") % {"date": day.strftime("%m-%d")}
    header = _("%(team)s: %(people)d people, %(count)d things to finish") % {
        "team": team_name,
        "people": len(rows),
        "count": sum(r.count for r in rows),
    }
    pieces = [Message(title=title, lines=(Line(header),), link=page_link)]
    for row in rows:
        line = Line(_("%(name)s: %(count)d") % {"name": row.name, "count": row.count})
        mentions = (Mention(row.name, row.wecom_userid, row.mobile),) if row.wecom_userid or row.mobile else ()
        pieces.append(Message(title=title, lines=(line,), link=page_link, mentions=mentions))
    return tuple(pieces)


def task_reminder_message(*, rep_name: str, rep_id_on_vendor: str, lines: Sequence[Line], page_link: str) -> Message:
    """The reminder of tasks coming due (follow-ups, next steps, planned contacts)."""
    title = _("Coming up: %(count)d tasks") % {"count": len(lines)}
    return Message(
        title=title, lines=tuple(lines[:MAX_LINES]), link=page_link, mention=rep_name, mention_id=rep_id_on_vendor
    )


@dataclass(frozen=True)
class HistoryRow:
    """One past action in a wake-up digest, with labels already in the reader's language."""

    when: date
    key_action: str
    obstacle: str
    emotion: str


@dataclass(frozen=True)
class WakeupTexts:
    task_title: str
    task_detail: str


@dataclass(frozen=True)
class WakeupWording:
    """The wake-up texts' templates in the active language, translated once for a whole batch."""

    title: str
    stage: str
    option: str
    history: str


def wakeup_wording() -> WakeupWording:
    return WakeupWording(
        title=_("Wake up %(customer)s: %(days)d days without an action"),
        stage=_("Stage: %(stage)s"),
        option=_("Option: %(move)s"),
        history=_("%(date)s %(action)s · obstacle: %(obstacle)s · emotion: %(emotion)s"),
    )


def _history_text(row: HistoryRow, template: str) -> str:
    return template % {
        "date": f"{row.when.month:02d}-{row.when.day:02d}",
        "action": row.key_action or "—",
        "obstacle": row.obstacle or "—",
        "emotion": row.emotion or "—",
    }


def wakeup_texts(
    *,
    customer_name: str,
    idle_days: int,
    stage: str,
    history: Sequence[HistoryRow],
    moves: Sequence[str],
    wording: WakeupWording | None = None,
) -> WakeupTexts:
    """The wake-up task of one lead: its stage, the three moves to choose from, a digest of its history."""
    w = wording or wakeup_wording()
    title = w.title % {"customer": customer_name, "days": idle_days}
    lines = [
        w.stage % {"stage": stage},
        *(w.option % {"move": label} for label in moves),
        *(_history_text(row, w.history) for row in history),
    ]
    return WakeupTexts(title, "\n".join(lines))


@dataclass(frozen=True)
class WakeupLead:
    """One lead in a wake-up notice, labels already in the reader's language."""

    customer_name: str
    idle_days: int
    stage: str
    latest: HistoryRow | None
    link: str


def _capped(lines: list[Line], count: int, page_link: str) -> tuple[Line, ...]:
    """The first MAX_LINES lines, then "… and N more" when `count` is larger."""
    shown = lines[:MAX_LINES]
    if count <= len(shown):
        return tuple(shown)
    return (*shown, Line(_("… and %(count)d more") % {"count": count - len(shown)}, page_link))


def wakeup_owner_message(
    *, rep_name: str, rep_id_on_vendor: str, leads: Sequence[WakeupLead], count: int, page_link: str
) -> Message:
    """One message to the owner for all `count` wake-up tasks of a night, the first `leads` listed
    (never one message per lead: a group robot takes 20 messages a minute, and a catch-up night
    wakes hundreds of leads per rep)."""
    title = _("%(count)d quiet leads to wake up") % {"count": count}
    lines = [
        Line(
            _("%(customer)s: %(days)d days without an action")
            % {"customer": lead.customer_name, "days": lead.idle_days},
            lead.link,
        )
        for lead in leads
    ]
    return Message(
        title=title,
        lines=_capped(lines, count, page_link),
        link=page_link,
        mention=rep_name,
        mention_id=rep_id_on_vendor,
    )


def wakeup_cc_message(*, rep_name: str, leads: Sequence[WakeupLead], count: int, page_link: str) -> Message:
    """The supervisor's copy: each quiet lead with its stage and its latest action (the history digest)."""
    history = wakeup_wording().history
    title = _("CC: %(count)d of %(rep)s's leads have had no action for a while") % {
        "rep": rep_name,
        "count": count,
    }
    lines = [
        Line(
            _("%(customer)s (%(stage)s, %(days)d days): %(latest)s")
            % {
                "customer": lead.customer_name,
                "stage": lead.stage,
                "days": lead.idle_days,
                "latest": _history_text(lead.latest, history) if lead.latest else "—",
            },
            lead.link,
        )
        for lead in leads
    ]
    return Message(title=title, lines=_capped(lines, count, page_link), link=page_link)


def calendar_gap_text(*, years: Sequence[int], first_day: date, fallback: str) -> str:
    """The warning shown while the coming days are not covered by an official holiday schedule.

    `fallback` is the `workdays.Basis` value deciding those days meanwhile ("statutory" or "weekdays")."""
    if fallback == "statutory":
        source = _("the statutory holidays of the holidays package, without the adjusted working days (调休)")
    else:
        source = _("Monday to Friday")
    return _(
        "No official holiday schedule covers %(years)s yet (from %(day)s). Until one is entered, reminders "
        "and follow-up due dates on those days are estimated from %(source)s and marked as estimated. Enter "
        "the year's days off and adjusted working days under Settings › Calendar, or load a calendar file "
        "with manage.py load_calendar."
    ) % {"years": ", ".join(str(y) for y in years), "day": first_day.isoformat(), "source": source}


def schedule_problem_text(*, line: int, code: str, detail: str) -> str:
    """One problem of a schedule file (CSV or YAML), in the reader's language, with its line or entry."""
    texts = {
        "bad_header": _('The first line must be the header "date,kind,name".'),
        "bad_date": _("%(detail)s is not a date (YYYY-MM-DD)."),
        "bad_kind": _('The kind must be "off" (day off) or "work" (adjusted working day), not "%(detail)s".'),
        "long_name": _("The name is longer than 100 characters."),
        "duplicate": _("%(detail)s is listed twice."),
        "too_many_rows": _("More than %(detail)s rows: this is not one year's schedule."),
        "empty": _("No days in the file."),
        "no_calendar_section": _('The file has no "calendar" section.'),
        "bad_yaml": _("This is not valid YAML."),
        "bad_year": _("%(detail)s is not a year."),
        "other_year": _("%(detail)s is not in the year of the file."),
    }
    text = texts.get(code, code) % {"detail": detail}
    if line <= 0:
        return text
    return _("Row %(line)s: %(text)s") % {"line": line, "text": text}
