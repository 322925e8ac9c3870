"""The weekly action-health digest and the contact-quality coaching task (issue 12), as idempotent units.

Once a week (Monday 08:00 local unless SALESTRACE_HEALTH_DIGEST_WEEKDAY / _TIME say otherwise; when
that day is not a working day, the next working day of the week) for the week before:
- `handle_one_team_digest`: each rep of one team gets their own health with an 8-week chart;
- `handle_one_supervisor_digest`: one supervisor gets their team's, with a chart of the scores;
- `handle_one_team_coaching`: each rep of one team whose high-value contact ratio is under the
  template's line gets one coaching task naming their weakest pattern, the supervisors CC'd.
Every message and task carries a dedupe key of the ISO week, so a rerun (a crash, a second worker,
`run_job health_digest`) sends nothing twice; the week is marked done when every unit has run, and
later ticks of that week return at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from salestrace.analytics.charts import TrendSeries, team_png, trend_png
from salestrace.analytics.health import HealthRules, RepHealth, Share, flag_names, score_explanation
from salestrace.analytics.health_selectors import (
    HealthRow,
    QualityRow,
    WeekHealth,
    Whose,
    contact_quality_board,
    health_board,
    health_rules,
    health_trend,
    low_value_contacts,
)
from salestrace.analytics.selectors import Period
from salestrace.catalog.selectors import option_catalog
from salestrace.notify.models import InboxMessage
from salestrace.notify.selectors import ChannelConfig, team_configs
from salestrace.notify.services import Note, Recipient, notify, recipient_of
from salestrace.notify.transports import Line, Message
from salestrace.org.models import Role, User
from salestrace.todos.models import JobCursor, Task
from salestrace.todos.selectors import RepRow, absolute, supervisors_over_teams, team_reps, work_calendar
from salestrace.todos.services import task_create_once

DIGEST_SOURCE = "health_digest"
CURSOR = "health-digest"
COACHING_RULE = "coaching_contact_quality"
COACHING_LISTED = 10  # low-value contacts named in a coaching task (the link lists them all)
COACHING_DUE = timedelta(days=7)
TREND_WEEKS = 8
COMPLETENESS_COLOUR, TIMELINESS_COLOUR = "#2e9d4f", "#e8710a"


# --- when ----------------------------------------------------------------------------------------


def week_key(day: date) -> str:
    """The ISO week `day` falls in, as the dedupe keys name it: 2026-W49."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class DigestWeek:
    """The digest of the week `key`: the day it goes out and the week before it, which it reports."""

    key: str
    day: date
    period: Period


def digest_week(today: date, *, weekday: int, is_working_day: Callable[[date], bool]) -> DigestWeek | None:
    """This week's digest when its day has come (pure): the first working day on or after `weekday`
    (1 = Monday) of this week; None before that day, on a day off, or when no later day of the week
    is worked."""
    monday = today - timedelta(days=today.weekday())
    first = monday + timedelta(days=weekday - 1)
    day = next((d for d in (first + timedelta(days=i) for i in range(8 - weekday)) if is_working_day(d)), None)
    if day is None or today < day or not is_working_day(today):
        return None  # a consumer down on the day catches up on a later working day of the week
    return DigestWeek(week_key(today), day, Period(monday - timedelta(days=7), monday - timedelta(days=1)))


def due_week(now: datetime) -> DigestWeek | None:
    """The week whose digest is due at `now` (its day and time reached) and not yet done; else None."""
    local = timezone.localtime(now)
    if JobCursor.objects.filter(name=CURSOR, stamp=week_key(local.date())).exists():
        return None  # this week's is done: one query on every later tick
    week = digest_week(
        local.date(), weekday=settings.SALESTRACE_HEALTH_DIGEST_WEEKDAY, is_working_day=work_calendar().is_working_day
    )
    if week is None or (local.date() == week.day and local.time() < settings.SALESTRACE_HEALTH_DIGEST_TIME):
        return None
    return week


# --- wording -------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{round(100 * value)}%"


def _dimension(name: str, share: Share, line: float) -> str:
    text = _("%(name)s %(value)s (line %(line)s)") % {"name": name, "value": _pct(share.value), "line": _pct(line)}
    return text + (" ↓" if share.below(line) else "")


def _page(week: DigestWeek, **extra: str) -> str:
    query = {"since": week.period.since.isoformat(), "until": week.period.until.isoformat(), **extra}
    return absolute(f"{reverse('analytics:health')}?{urlencode(query)}")


def _span(week: DigestWeek) -> dict[str, str]:
    return {"since": week.period.since.strftime("%m-%d"), "until": week.period.until.strftime("%m-%d")}


def rep_lines(health: RepHealth, rules: HealthRules) -> list[str]:
    """A rep's week in lines: the score and its inputs, the three dimensions against their lines."""
    lines = rules.lines
    score = health.score
    return [
        _("Score %(score)s: effective actions %(effective)s / expected actions %(expected)s")
        % {
            "score": "–" if score.score is None else score.score,
            "effective": score.effective,
            "expected": score.expected,
        },
        _dimension(_("Completeness"), health.completeness, lines.completeness),
        _dimension(_("Timeliness"), health.timeliness, lines.timeliness),
        _dimension(_("Effectiveness"), health.effectiveness, lines.effectiveness)
        + " · "
        + _("moved to a later stage within %(days)s days: %(value)s")
        % {"days": rules.moved_within_days, "value": _pct(health.moved.value)},
        _dimension(_("High-value contacts"), health.contact_quality, lines.contact_quality),
        score_explanation(score),
    ]


def _trend_chart(name: str, trend: Sequence[WeekHealth], rules: HealthRules, period: Period) -> bytes:
    monday = period.until - timedelta(days=period.until.weekday())
    weeks = [monday - timedelta(weeks=TREND_WEEKS - 1 - i) for i in range(TREND_WEEKS)]
    by_week = {w.week_start: w.health for w in trend}

    def values(pick: Callable[[RepHealth], float | None]) -> tuple[float | None, ...]:
        return tuple(pick(by_week[w]) if w in by_week else None for w in weeks)

    def pct(share: Share) -> float | None:
        return None if share.value is None else 100 * share.value

    return trend_png(
        title=_("%(name)s's action health, the last 8 weeks") % {"name": name},
        weeks=[w.strftime("%m-%d") for w in weeks],
        series=[
            TrendSeries(_("Health score"), values(lambda h: h.score.score)),
            TrendSeries(
                _("Completeness"),
                values(lambda h: pct(h.completeness)),
                100 * rules.lines.completeness,
                COMPLETENESS_COLOUR,
            ),
            TrendSeries(
                _("Timeliness"), values(lambda h: pct(h.timeliness)), 100 * rules.lines.timeliness, TIMELINESS_COLOUR
            ),
        ],
        line_label=_("Line"),
    )


DIGEST_DIR = "health-digest"
# The digest's chart images are kept this long (a delivery retried for days still finds its image).
KEEP_IMAGES_WEEKS = 8


def digest_images_purge(*, now: datetime) -> int:
    """Delete the chart images of digests older than KEEP_IMAGES_WEEKS weeks; how many files went."""
    oldest_kept = timezone.localdate(now) - timedelta(weeks=KEEP_IMAGES_WEEKS)
    try:
        weeks, _files = default_storage.listdir(DIGEST_DIR)
    except FileNotFoundError:
        return 0
    deleted = 0
    for key in weeks:
        try:
            year, week = key.split("-W")
            monday = date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            continue  # not a week's folder: not ours to delete
        if monday >= oldest_kept:
            continue
        _dirs, files = default_storage.listdir(f"{DIGEST_DIR}/{key}")
        for name in files:
            default_storage.delete(f"{DIGEST_DIR}/{key}/{name}")
            deleted += 1
        with contextlib.suppress(NotImplementedError, OSError):  # storage without folders, or not empty
            Path(default_storage.path(f"{DIGEST_DIR}/{key}")).rmdir()
    return deleted


def _save_chart(png: bytes, week: DigestWeek, name: str) -> str:
    return default_storage.save(f"{DIGEST_DIR}/{week.key}/{name}.png", ContentFile(png))


# --- units ---------------------------------------------------------------------------------------


def _unsent(keys: Sequence[str]) -> set[str]:
    return set(keys) - set(InboxMessage.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))


def rep_key(week: DigestWeek, user_id: int) -> str:
    return f"health-digest:{week.key}:{user_id}"


def handle_one_team_digest(
    *, team_id: int, week: DigestWeek, now: datetime, configs: dict[int, ChannelConfig] | None = None
) -> int:
    """Each active rep directly in the team who has not had this week's digest gets it; returns how many.
    The team is read as a whole (one board, one trend), then each rep's message in their language."""
    everyone = team_reps(team_id)
    unsent = _unsent([rep_key(week, r.id) for r in everyone])
    reps = [r for r in everyone if rep_key(week, r.id) in unsent]
    if not reps:
        return 0
    reader = User.objects.get(pk=reps[0].id)  # the scope below decides whose health is read
    scope = Whose(teams=frozenset({team_id}))
    board = health_board(user=reader, period=week.period, scope=scope, weeks=False)
    trend = health_trend(user=reader, today=week.period.until, weeks=TREND_WEEKS, scope=scope)
    rows = {r.key: r for r in board.rows}
    notes = [_rep_note(rep, rows.get(rep.id), trend.get(rep.id, []), board.rules, week) for rep in reps]
    notify(
        notes=notes,
        configs=configs if configs is not None else team_configs(),
        source=DIGEST_SOURCE,
        now=now,
        personal_only=True,
    )
    return len(notes)


def _rep_note(
    rep: RepRow, row: HealthRow | None, trend: Sequence[WeekHealth], rules: HealthRules, week: DigestWeek
) -> Note:
    with override(rep.language or settings.LANGUAGE_CODE):
        if row is None or row.health.score.score is None:
            title = _("Your action health, %(since)s to %(until)s") % _span(week)
            lines = [Line(_("No actions logged and none expected last week."))]
            image = ""
        else:
            title = _("Your action health, %(since)s to %(until)s: %(score)s") % {
                **_span(week),
                "score": row.health.score.score,
            }
            lines = [Line(text) for text in rep_lines(row.health, rules)]
            image = _save_chart(_trend_chart(rep.name, trend, rules, week.period), week, str(rep.id))
        message = Message(title=title, lines=tuple(lines), link=_page(week), mention=rep.name, image=image)
    recipient = Recipient(rep.id, rep.team_id, rep.channels, rep.wecom_userid, rep.email)
    return Note(recipient, message, rep_key(week, rep.id))


def supervisor_key(week: DigestWeek, user_id: int) -> str:
    return f"health-digest:{week.key}:{user_id}:team"


def handle_one_supervisor_digest(
    *, supervisor: User, week: DigestWeek, now: datetime, configs: dict[int, ChannelConfig] | None = None
) -> bool:
    """The supervisor's team (their subtree) as one message with each rep's score and flags and a
    chart of the scores; False when it was sent already."""
    key = supervisor_key(week, supervisor.pk)
    if not _unsent([key]):
        return False
    board = health_board(user=supervisor, period=week.period, weeks=False)
    reps = set(User.objects.filter(pk__in=[r.key for r in board.rows], role=Role.REP).values_list("pk", flat=True))
    rows = sorted(
        (r for r in board.rows if r.key in reps),
        key=lambda r: (r.health.score.score is None, -(r.health.score.score or 0)),
    )
    rules = board.rules
    with override(supervisor.message_language):
        names = flag_names()
        total = board.total
        lines = [
            Line(
                _("Team: %(completeness)s, %(timeliness)s, %(effectiveness)s")
                % {
                    "completeness": _dimension(_("Completeness"), total.completeness, rules.lines.completeness),
                    "timeliness": _dimension(_("Timeliness"), total.timeliness, rules.lines.timeliness),
                    "effectiveness": _dimension(_("Effectiveness"), total.effectiveness, rules.lines.effectiveness),
                }
            )
        ]
        for r in rows:
            h = r.health
            text = _("%(name)s: score %(score)s · completeness %(completeness)s · timeliness %(timeliness)s") % {
                "name": r.name,
                "score": "–" if h.score.score is None else h.score.score,
                "completeness": _pct(h.completeness.value),
                "timeliness": _pct(h.timeliness.value),
            }
            if h.flags:
                text += " · " + "、".join(names[f] for f in h.flags)
            lines.append(Line(text, _page(week, rep_id=str(r.key))))
        if not rows:
            lines.append(Line(_("No actions logged in your team last week.")))
        image = ""
        if rows:
            png = team_png(
                title=_("Team action health, %(since)s to %(until)s") % _span(week),
                names=[r.name for r in rows],
                scores=[r.health.score.score for r in rows],
                low=[bool(r.health.flags) for r in rows],
            )
            image = _save_chart(png, week, f"{supervisor.pk}-team")
        message = Message(
            title=_("Team action health, %(since)s to %(until)s") % _span(week),
            lines=tuple(lines),
            link=_page(week),
            mention=str(supervisor),
            image=image,
        )
    # Personal channels only: the team's group robot would show every rep's score to the whole group.
    notify(
        notes=[Note(recipient_of(supervisor), message, key)],
        configs=configs if configs is not None else team_configs(),
        source=DIGEST_SOURCE,
        now=now,
        personal_only=True,
    )
    return True


def coaching_key(week: DigestWeek, rep_id: int) -> str:
    return f"coaching:{rep_id}:{week.key}"


def weakest_pattern(row: QualityRow, high_value: frozenset[str]) -> tuple[str, int] | None:
    """The low-value response recorded most often (the first code on a tie), with its count."""
    low = sorted(((-n, code) for code, n in row.by_response.items() if code not in high_value))
    return (low[0][1], -low[0][0]) if low else None


def handle_one_team_coaching(*, team_id: int, week: DigestWeek, now: datetime) -> int:
    """A coaching task for each active rep directly in the team whose high-value contact ratio over
    the week is under the template's line (at least `analysis_min_sample` responses recorded), once a
    week, the supervisors over the team CC'd and told in one message; returns tasks made."""
    reps = {r.id: r for r in team_reps(team_id)}
    if not reps:
        return 0
    done = set(
        Task.objects.filter(dedupe_key__in=[coaching_key(week, r) for r in reps]).values_list("dedupe_key", flat=True)
    )
    reader = User.objects.get(pk=next(iter(reps)))
    scope = Whose(teams=frozenset({team_id}))
    board = contact_quality_board(user=reader, period=week.period, scope=scope)
    rules = health_rules()
    due = [
        r
        for r in board.rows
        if r.rep_id in reps
        and r.below_line
        and r.responses >= rules.min_sample
        and coaching_key(week, r.rep_id) not in done
    ]
    made = 0
    coached: list[tuple[str, float | None, str]] = []
    cc = supervisors_over_teams([team_id]).get(team_id, [])
    for row in due:
        rep = reps[row.rep_id]
        contacts = low_value_contacts(
            user=reader, period=week.period, rep_id=row.rep_id, limit=COACHING_LISTED, scope=scope
        )
        with override(rep.language or settings.LANGUAGE_CODE):
            fields = _coaching_fields(row, board.labels, board.high_value_responses, board.line, contacts, week)
        task = task_create_once(
            dedupe_key=coaching_key(week, row.rep_id),
            defaults={
                **fields,
                "assignee_id": row.rep_id,
                "source": Task.Source.PLAYBOOK,
                "rule_code": COACHING_RULE,
                "due_at": now + COACHING_DUE,
                "remind_at": now,  # the task reminder tells the rep at its next run
                "created_at": now,
                "updated_at": now,
            },
            cc_ids=[u for u in cc if u != row.rep_id],
        )
        if task is not None:
            made += 1
            coached.append((rep.name, row.ratio, task.link))
    if coached:
        _tell_supervisors(cc, coached, team_id=team_id, week=week, now=now)
    return made


def _tell_supervisors(
    supervisor_ids: Sequence[int],
    coached: Sequence[tuple[str, float | None, str]],
    *,
    team_id: int,
    week: DigestWeek,
    now: datetime,
) -> None:
    """Each CC'd supervisor hears once which reps of the team were given a coaching task this week."""
    notes = []
    for supervisor in User.objects.filter(pk__in=list(supervisor_ids), is_active=True).order_by("pk"):
        with override(supervisor.message_language):
            message = Message(
                title=_("Contact-quality coaching assigned, %(since)s to %(until)s") % _span(week),
                lines=tuple(
                    Line(_("%(name)s: high-value contacts %(ratio)s") % {"name": name, "ratio": _pct(ratio)}, link)
                    for name, ratio, link in coached
                ),
                link=_page(week, tab="quality"),
                mention=str(supervisor),
            )
        notes.append(Note(recipient_of(supervisor), message, f"coaching-cc:{week.key}:{team_id}:{supervisor.pk}"))
    notify(notes=notes, configs=team_configs(), source=DIGEST_SOURCE, now=now, personal_only=True)


def _coaching_fields(
    row: QualityRow,
    labels: dict[str, str],
    high_value: frozenset[str],
    line: float,
    contacts: Sequence[Any],
    week: DigestWeek,
) -> dict[str, str]:
    catalog = option_catalog().labels
    weakest = weakest_pattern(row, high_value)
    title = _("Contact quality coaching: high-value contacts %(ratio)s, under the %(line)s line") % {
        "ratio": _pct(row.ratio),
        "line": _pct(line),
    }
    detail = [
        _("%(since)s to %(until)s: %(high)s of %(responses)s customer responses were high-value (%(kinds)s).")
        % {
            **_span(week),
            "high": row.high_value,
            "responses": row.responses,
            "kinds": "、".join(labels.get(c, c) for c in sorted(high_value)),
        }
    ]
    if weakest is not None:
        detail.append(
            _("Weakest pattern: %(pattern)s, %(n)s times.")
            % {"pattern": labels.get(weakest[0], weakest[0]), "n": weakest[1]}
        )
    detail.append(_("Low-value contacts to go through:"))
    for c in contacts:
        detail.append(
            f"- {timezone.localtime(c.occurred_at):%m-%d} {c.customer} · "
            f"{catalog.get('response_strength', {}).get(c.response_strength, c.response_strength)} "
            f"{absolute(reverse('customers:detail', args=[c.customer_id]))}"
        )
    detail.append(_("Plan how each of these could have drawn a question or a confirmation from the customer."))
    text = "\n".join(detail)
    return {
        "title": title[:200],
        "detail": text[:2000],
        "link": _page(week, tab="quality", rep_id=str(row.rep_id))[:480] + "#low-value",
    }


# --- the run -------------------------------------------------------------------------------------


def health_digest(*, now: datetime) -> int:
    """This week's digests and coaching tasks when they are due: every team's reps, every supervisor,
    then the coaching; returns messages and tasks made (0 on every other tick)."""
    week = due_week(now)
    if week is None:
        return 0
    configs = team_configs()
    team_ids = sorted(
        set(User.objects.filter(role=Role.REP, is_active=True, team__isnull=False).values_list("team_id", flat=True))
    )
    handled = 0
    for team_id in team_ids:
        handled += handle_one_team_digest(team_id=team_id, week=week, now=now, configs=configs)
    for supervisor in User.objects.filter(role=Role.SUPERVISOR, is_active=True, team__isnull=False).order_by("pk"):
        handled += handle_one_supervisor_digest(supervisor=supervisor, week=week, now=now, configs=configs)
    for team_id in team_ids:
        handled += handle_one_team_coaching(team_id=team_id, week=week, now=now)
    with transaction.atomic():
        cursor, _created = JobCursor.objects.select_for_update().get_or_create(name=CURSOR)
        cursor.stamp = week.key
        cursor.save(update_fields=["stamp"])
    return handled
