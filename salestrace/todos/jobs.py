"""Scheduled work for tasks and reminders, as idempotent `handle_one_*` units.

- `handle_one_team_reminder`: one team's 18:00 message per rep. The team's ReminderRun row is
  written in the same transaction as the inbox messages and queued deliveries, so a crash rolls the
  team back whole and a rerun skips finished teams; dedupe keys make a second copy impossible.
- `handle_one_follow_up`: one new action, checked against the follow-up rules and its next step.
- `handle_one_task_reminder`: one person's tasks that have come up for a reminder.
- `handle_one_wakeup_batch`: wake-up tasks for leads idle past their limit, once per idle spell.
The runners at the bottom are what huey (todos/tasks.py) and `manage.py run_job` call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import override

from salestrace.actions.models import ActionLog
from salestrace.catalog.models import pick_language
from salestrace.catalog.packs import ACTION_FIELDS
from salestrace.catalog.rules import RuleSpec, parse_condition
from salestrace.catalog.selectors import OptionCatalog, catalog_snapshot, option_catalog, threshold_values
from salestrace.core.bulk import (
    WriterTurns,
    from_stored_datetime,
    insert_ignoring_conflicts,
    raw_rows,
    stored_datetime,
    sweep_batch,
)
from salestrace.customers.jobs import idle_groups, sweep_dormant
from salestrace.customers.models import Customer
from salestrace.customers.rules import IdleLimits
from salestrace.customers.selectors import active_at
from salestrace.notify.selectors import ChannelConfig, team_configs
from salestrace.notify.services import Note, Recipient, TeamDigest, notify, notify_teams, recipient_of
from salestrace.notify.transports import Line
from salestrace.org.models import User
from salestrace.todos import compute
from salestrace.todos.models import FollowUpRule, JobCursor, ReminderRun, Task
from salestrace.todos.selectors import (
    RepRow,
    absolute,
    action_field_labels,
    actions_logged,
    local_at,
    new_action_link,
    new_action_links,
    next_steps_due,
    open_tasks_due,
    reminder_times,
    supervisors_over_teams,
    tasks_page_link,
    team_names,
    team_reps,
    wakeup_history,
    work_calendar,
)
from salestrace.todos.services import (
    follow_up_due,
    follow_up_rules_sync,
    task_create_once,
    tasks_resolve_by_later_actions,
)
from salestrace.todos.workdays import WorkCalendar

# Higher apps add lines to each rep's 18:00 message (field: planned stores not visited, visits not
# logged): name -> provider(rep ids, local date), which reads once for the team and returns a
# function giving one rep's lines, rendered in the language active when it is called.
DailyLines = Callable[[list[int], date], Callable[[int], list[Line]]]
DAILY_LINE_PROVIDERS: dict[str, DailyLines] = {}

DAILY_SOURCE = "daily_reminder"
TASK_SOURCE = "task_reminder"
# Actions older than this when first scanned (an upgrade over an old log) get no follow-up tasks.
FOLLOW_UP_LOOKBACK = timedelta(days=14)


def _language(code: str = "") -> override:
    """Render in `code` (a recipient's language), else the company default (zh-hans)."""
    return override(code or settings.LANGUAGE_CODE)


# --- the daily reminder ------------------------------------------------------------------------


@dataclass
class SweepContext:
    """What every team of one sweep shares, read once: the date, due teams, rules and channels."""

    local_date: date
    due_team_ids: list[int]
    configs: dict[int, ChannelConfig]
    rules: tuple[RuleSpec, ...]
    team_names: dict[int, str] = field(default_factory=dict)
    tried: set[int] = field(default_factory=set)
    _labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def field_labels(self, language: str) -> dict[str, str]:
        """The action fields' names in `language` (read once per language and sweep)."""
        if language not in self._labels:
            with _language(language):
                self._labels[language] = action_field_labels()
        return self._labels[language]


def sweep_context(*, now: datetime) -> SweepContext | None:
    """None on a day off (weekend, official holiday, company day off); else the teams now due."""
    local = timezone.localtime(now)
    day = local.date()
    if not work_calendar().is_working_day(day):
        return None
    done = set(ReminderRun.objects.filter(local_date=day).values_list("team_id", flat=True))
    due = [team for team, at in sorted(reminder_times().items()) if at <= local.time() and team not in done]
    if not due:
        return SweepContext(day, [], {}, ())
    return SweepContext(day, due, team_configs(), catalog_snapshot().rules, team_names())


def handle_one_team_reminder(*, now: datetime, context: SweepContext | None = None) -> bool:
    """Queue one due team's daily messages; False when no team is due."""
    ctx = context or sweep_context(now=now)
    if ctx is None:
        return False
    team_id = next((t for t in ctx.due_team_ids if t not in ctx.tried), None)
    if team_id is None:
        return False
    ctx.tried.add(team_id)
    try:
        with transaction.atomic():
            run = ReminderRun.objects.create(team_id=team_id, local_date=ctx.local_date, ran_at=now)
            reps = team_reps(team_id)
            notes, digest = _daily_notes(team_id, reps, ctx) if reps else ([], None)
            # Each rep's own list goes to the inbox and their personal channels; the team's group
            # robots get one digest instead of one message per rep (20 a minute per robot).
            notify(notes=notes, configs=ctx.configs, source=DAILY_SOURCE, now=now, personal_only=True)
            if digest is not None:
                notify_teams(digests=[digest], configs=ctx.configs, source=DAILY_SOURCE, now=now)
            ReminderRun.objects.filter(pk=run.pk).update(reps=len(reps), messages=len(notes))
    except IntegrityError:
        pass  # this team's reminder was already queued today (an earlier run, or another worker)
    return True


def _daily_notes(team_id: int, reps: list[RepRow], ctx: SweepContext) -> tuple[list[Note], TeamDigest | None]:
    """Each rep's own message, in their language, and the team's digest for its group robots."""
    ids = [r.id for r in reps]
    actions = actions_logged(ids, ctx.local_date)
    steps = next_steps_due(ids, ctx.local_date)
    tasks = open_tasks_due(ids, ctx.local_date)
    extra = [provider(ids, ctx.local_date) for provider in DAILY_LINE_PROVIDERS.values()]
    page = tasks_page_link()
    notes: list[Note] = []
    rows: list[compute.DigestRow] = []
    for rep in reps:
        with _language(rep.language):
            lines = compute.missing_lines(
                actions=actions.get(rep.id, []),
                next_steps=steps.get(rep.id, []),
                tasks=tasks.get(rep.id, []),
                rules=ctx.rules,
                field_labels=ctx.field_labels(rep.language or settings.LANGUAGE_CODE),
            )
            lines += [line for lines_of in extra for line in lines_of(rep.id)]
            if not lines:
                continue
            message = compute.daily_message(
                rep_name=rep.name, rep_id_on_vendor=rep.wecom_userid, day=ctx.local_date, lines=lines, page_link=page
            )
        recipient = Recipient(rep.id, rep.team_id, rep.channels, rep.wecom_userid, rep.email)
        notes.append(Note(recipient, message, f"daily:{rep.id}:{ctx.local_date.isoformat()}"))
        rows.append(compute.DigestRow(rep.name, len(lines), rep.wecom_userid, rep.mobile))
    with _language():  # the team's digest: the company's language
        pieces = compute.team_digest(
            team_name=ctx.team_names.get(team_id, ""), day=ctx.local_date, rows=rows, page_link=page
        )
    digest = TeamDigest(team_id, pieces, f"daily-digest:{team_id}:{ctx.local_date.isoformat()}") if pieces else None
    return notes, digest


def daily_reminders(*, now: datetime) -> int:
    """The 18:00 sweep (each team at its own time): teams handled; nothing on days off.

    Checked every minute, so nothing is written until a team is due: then tasks a later action
    made moot are closed first, so the message does not list them."""
    ctx = sweep_context(now=now)
    if ctx is None or not ctx.due_team_ids:
        return 0
    tasks_resolve_by_later_actions(now=now)
    handled = 0
    while handle_one_team_reminder(now=now, context=ctx):
        handled += 1
    return handled


# --- follow-up rules and next steps ---------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    code: str
    spec: RuleSpec
    days: int
    title_zh: str
    title_en: str


def _active_follow_up_rules() -> list[_Rule]:
    return [
        _Rule(
            r.code,
            RuleSpec(r.code, parse_condition(r.condition), (), "", ""),
            r.due_working_days,
            r.title_zh,
            r.title_en,
        )
        for r in FollowUpRule.objects.filter(is_active=True).order_by("code")
    ]


def _end_of_day(day: date) -> datetime:
    return local_at(day, settings.SALESTRACE_REMINDER_TIME)


def handle_one_follow_up(
    *, now: datetime, rules: list[_Rule] | None = None, calendar: WorkCalendar | None = None
) -> bool:
    """Scan the next action not yet scanned: follow-up tasks for the rules it matches, a next-step task."""
    rules = rules if rules is not None else _active_follow_up_rules()
    calendar = calendar if calendar is not None else work_calendar()
    fields = sorted(ACTION_FIELDS)
    with transaction.atomic():
        cursor, _ = JobCursor.objects.select_for_update().get_or_create(name="follow-up-actions")
        row = (
            ActionLog.objects.filter(pk__gt=cursor.position)
            .order_by("pk")
            .values("pk", "rep_id", "customer_id", "customer__name", "occurred_at", "logged_at", *fields)
            .first()
        )
        if row is None:
            return False
        if row["logged_at"] >= now - FOLLOW_UP_LOOKBACK:
            _tasks_for_action(row, rules, calendar, now)
        cursor.position = row["pk"]
        cursor.save(update_fields=["position"])
    return True


def _tasks_for_action(row: dict, rules: list[_Rule], calendar: WorkCalendar, now: datetime) -> None:
    occurred_day = timezone.localtime(row["occurred_at"]).date()
    today = timezone.localtime(now).date()
    morning = settings.SALESTRACE_MORNING_TIME
    common = {
        "assignee_id": row["rep_id"],
        "customer_id": row["customer_id"],
        "action_id": row["pk"],
        "created_at": now,
        "updated_at": now,
    }
    for rule in rules:
        if not rule.spec.condition.holds(row):
            continue
        # Over days no official schedule covers the date is estimated, marked and logged (never silent).
        _reckoned, due = follow_up_due(occurred_day=occurred_day, working_days=rule.days, calendar=calendar)
        with _language():
            title = pick_language(rule.title_zh, rule.title_en)
        task_create_once(
            dedupe_key=f"followup:{rule.code}:{row['pk']}",
            defaults={
                **common,
                "title": title[:200],
                "detail": row["customer__name"],
                "source": Task.Source.FOLLOW_UP,
                "rule_code": rule.code,
                **due,
                "link": new_action_link(row["customer_id"], after=row["pk"]),
            },
        )
    step_day: date | None = row.get("next_step_date")
    if step_day is not None and step_day >= today:
        remind_at = local_at(step_day, morning)
        task_create_once(
            dedupe_key=f"nextstep:{row['pk']}",
            defaults={
                **common,
                "title": (row["next_step_plan"] or row["next_step_deliverable"] or row["customer__name"])[:200],
                "detail": row["customer__name"],
                "source": Task.Source.NEXT_STEP,
                "due_at": _end_of_day(step_day),
                "remind_at": remind_at,
                # Planned for today: the rep just wrote it down, no need to remind them of it this morning.
                "reminded_at": now if remind_at <= now else None,
                "link": new_action_link(row["customer_id"], after=row["pk"]),
            },
        )


def follow_ups(*, now: datetime, budget: int | None = None) -> int:
    """Copy new pack rules, scan new actions, close tasks that a later action made moot."""
    follow_up_rules_sync()
    rules = _active_follow_up_rules()
    calendar = work_calendar()
    handled = 0
    while (budget is None or handled < budget) and handle_one_follow_up(now=now, rules=rules, calendar=calendar):
        handled += 1
    tasks_resolve_by_later_actions(now=now)
    return handled


# --- task reminders (morning of the due day, N hours before a planned time) ----------------------


def handle_one_task_reminder(*, now: datetime, configs: dict[int, ChannelConfig] | None = None) -> bool:
    """Remind one person of all their tasks that have come up; False when none has.
    `configs`: every team's channel settings, when the caller has read them already."""
    due = Task.objects.filter(status=Task.Status.OPEN, reminded_at=None, remind_at__lte=now)
    assignee_id = due.order_by("remind_at", "pk").values_list("assignee_id", flat=True).first()
    if assignee_id is None:
        return False
    with transaction.atomic():
        rows = list(
            due.filter(assignee_id=assignee_id)
            .select_related("customer", "assignee")
            .order_by("due_at", "pk")
            .select_for_update(of=("self",))
        )
        claimed = Task.objects.filter(pk__in=[t.pk for t in rows], reminded_at=None).update(reminded_at=now)
        if claimed != len(rows) or not rows:
            return True  # another worker got there first; its transaction sends the message
        user = rows[0].assignee
        with _language(user.message_language):
            lines = [
                Line(
                    f"{timezone.localtime(t.due_at):%m-%d %H:%M} {t.title}"
                    + (f"（{t.customer.name}）" if t.customer else ""),
                    t.link or tasks_page_link(),
                )
                for t in rows
            ]
            message = compute.task_reminder_message(
                rep_name=str(user), rep_id_on_vendor=user.wecom_userid, lines=lines, page_link=tasks_page_link()
            )
        digest = hashlib.sha256(",".join(str(t.pk) for t in rows).encode()).hexdigest()[:16]
        notify(
            notes=[Note(recipient_of(user), message, f"tasks:{user.pk}:{digest}")],
            configs=configs if configs is not None else team_configs(),
            source=TASK_SOURCE,
            now=now,
        )
    return True


def task_reminders(*, now: datetime) -> int:
    """Every person whose tasks have come up gets one message; returns people handled."""
    handled, configs = 0, team_configs()
    while handle_one_task_reminder(now=now, configs=configs):
        handled += 1
    return handled


# --- lead wake-ups (线索唤醒) ---------------------------------------------------------------------

WAKEUP_SOURCE = "wakeup"
# The seed's three moves to wake a quiet lead up, each a prefilled action form.
WAKEUP_MOVES = ("send_industry_report", "share_customer_case", "quick_diagnosis")


class WakeupBatch(NamedTuple):
    handled: int
    last_pk: int  # the next batch starts after this customer


def handle_one_wakeup_batch(*, now: datetime, size: int | None = None, after: int = 0) -> WakeupBatch:
    """Wake-up tasks for up to `size` active leads idle past their wake-up limit (customer ids above
    `after`), in one transaction of its own; `handled` is 0 when none is due.

    The owner gets the task (three moves, its link opening the first one's prefilled form) and the
    supervisors over the owner's team are CC'd on it; its detail carries a digest of the lead's
    history. `Customer.wakeup_for` records the idle spell (its last action time) in the same
    transaction, so one spell wakes one task however often the sweep runs; an action starts a new
    spell. Nobody is messaged here: `handle_one_wakeup_notice` tells each owner once for all.
    """
    size = size or settings.SALESTRACE_SWEEP_BATCH
    limits = IdleLimits.from_thresholds(threshold_values())
    due = Q()
    for group in idle_groups(limits, "vitality_wakeup_days", now):
        due |= group
    with sweep_batch(), _language():
        # Read under the row locks (PostgreSQL) or the write lock (SQLite, IMMEDIATE): the spell
        # recorded below is the one read here, an action cannot slip in between.
        due_now = Customer.objects.filter(due, status=Customer.Status.ACTIVE, owner__is_active=True).filter(
            Q(wakeup_for__isnull=True) | ~Q(wakeup_for=active_at())
        )
        candidates = [
            (pk, name, stage, owner_id, team_id, from_stored_datetime(spell))
            for pk, name, stage, owner_id, team_id, spell in raw_rows(
                due_now.filter(pk__gt=after)
                .annotate(spell=active_at())
                .order_by("pk")
                .select_for_update(of=("self",))
                .values_list("pk", "name", "stage", "owner_id", "owner__team_id", "spell")[:size]
            )
        ]
        if not candidates:
            return WakeupBatch(0, after)
        ids = [row[0] for row in candidates]
        history = wakeup_history(ids)
        supervisors = supervisors_over_teams({team for *_, team, _ in candidates if team})
        catalog = option_catalog()
        stages, key_actions = catalog.labels.get("stage", {}), catalog.labels.get("key_action", {})
        obstacles, emotions = catalog.labels.get("obstacle", {}), catalog.labels.get("emotion", {})
        moves = [key_actions.get(m, m) for m in WAKEUP_MOVES]
        links = new_action_links(ids, key_action=WAKEUP_MOVES[0])
        tasks: list[dict[str, object]] = []
        cc: dict[str, list[int]] = {}
        stored_now, due_at = stored_datetime(now), stored_datetime(now + timedelta(days=1))
        source = Task.Source.WAKE_UP.value
        wording, zone = compute.wakeup_wording(), timezone.get_current_timezone()
        for pk, name, stage, owner_id, team_id, spell in candidates:
            text = compute.wakeup_texts(
                customer_name=name,
                idle_days=max(0, (now - spell).days),
                stage=stages.get(stage, stage),
                history=[
                    compute.HistoryRow(
                        when=occurred_at.astimezone(zone).date(),
                        key_action=key_actions.get(key_action, key_action),
                        obstacle=obstacles.get(obstacle, obstacle),
                        emotion=emotions.get(emotion, emotion),
                    )
                    for occurred_at, key_action, obstacle, emotion in history.get(pk, [])
                ],
                moves=moves,
                wording=wording,
            )
            key = f"wakeup:{pk}:{spell:%Y%m%dT%H%M%S}"
            cc[key] = [user for user in supervisors.get(team_id or 0, ()) if user != owner_id]
            tasks.append(
                {
                    "dedupe_key": key,
                    "assignee_id": owner_id,
                    "title": text.task_title[:200],
                    "detail": text.task_detail[:2000],
                    "due_at": due_at,
                    "source": source,
                    "customer_id": pk,
                    "link": links[pk],
                    "created_at": stored_now,
                    "updated_at": stored_now,
                }
            )
        # A task already there for a spell (another worker, or a run cut short) is not made again.
        insert_ignoring_conflicts(Task, tasks)
        # The tasks made just now (one made by an earlier run for the same spell already has its CCs).
        task_ids = dict(
            Task.objects.filter(
                source=Task.Source.WAKE_UP, created_at=now, customer_id__gt=after, customer_id__lte=ids[-1]
            ).values_list("dedupe_key", "pk")
        )
        insert_ignoring_conflicts(
            Task.cc.through,
            [
                {"task_id": task_ids[key], "user_id": user}
                for key, users in cc.items()
                for user in users
                if key in task_ids
            ],
        )
        Customer.objects.filter(pk__in=ids).update(wakeup_for=active_at())
    return WakeupBatch(len(candidates), ids[-1])


NOTICE_OWNERS = 100  # owners told per transaction


def handle_one_wakeup_notice_batch(
    *,
    now: datetime,
    assignee_ids: list[int],
    configs: dict[int, ChannelConfig] | None = None,
    catalog: OptionCatalog | None = None,
) -> int:
    """For each of these owners, one message about all their wake-up tasks not announced yet, and
    one to each supervisor CC'd on them; returns the owners told.

    Claimed like a task reminder (`reminded_at` set in the same transaction as the messages are
    queued), so a rerun, or a second worker, announces nothing twice."""
    # Option labels per reader's language (the caller's catalog is the company default's).
    catalogs: dict[str, OptionCatalog] = {settings.LANGUAGE_CODE: catalog} if catalog is not None else {}

    def labels(language: str, option_set: str, code: str) -> str:
        if language not in catalogs:
            with _language(language):
                catalogs[language] = option_catalog()
        return catalogs[language].labels.get(option_set, {}).get(code, code)

    with transaction.atomic():
        # Plain values, not model instances: a catch-up night announces a quarter of a million tasks.
        waiting = Task.objects.filter(
            assignee_id__in=assignee_ids,
            source=Task.Source.WAKE_UP,
            status=Task.Status.OPEN,
            reminded_at=None,
            customer__isnull=False,
        )
        rows = list(
            waiting.order_by("assignee_id", "pk")
            .select_for_update(of=("self",))
            .values_list("pk", "assignee_id", "link", "customer_id")
        )
        if not rows:
            return 0
        copies: dict[int, list[int]] = {}
        for task_id, user_id in Task.cc.through.objects.filter(
            task__in=waiting.values("pk"), user__is_active=True
        ).values_list("task_id", "user_id"):
            copies.setdefault(task_id, []).append(user_id)
        if waiting.update(reminded_at=now) != len(rows):
            return 0  # another worker got there first; its transaction sends the messages
        # Who reads about which task; each message lists its first MAX_LINES leads and counts the rest.
        readers: dict[tuple[int, int], list[tuple[int, str, int]]] = {}
        for task_id, owner_id, link, customer_id in rows:
            for reader in (owner_id, *copies.get(task_id, ())):
                readers.setdefault((owner_id, reader), []).append((task_id, link, customer_id))
        shown = {c for listed in readers.values() for _, _, c in listed[: compute.MAX_LINES]}
        customers = {
            pk: (name, stage, last_active_at or created_at)
            for pk, name, stage, last_active_at, created_at in Customer.objects.filter(pk__in=shown).values_list(
                "pk", "name", "stage", "last_active_at", "created_at"
            )
        }
        latest = wakeup_history(shown, per_customer=1)
        people = {u.pk: u for u in User.objects.filter(pk__in={r for _, r in readers} | set(assignee_ids))}
        page, zone = tasks_page_link(), timezone.get_current_timezone()

        def lead(customer_id: int, link: str, language: str) -> compute.WakeupLead:
            name, stage, active = customers[customer_id]
            last = latest.get(customer_id)
            return compute.WakeupLead(
                customer_name=name,
                idle_days=max(0, (now - active).days),
                stage=labels(language, "stage", stage),
                latest=compute.HistoryRow(
                    when=last[0][0].astimezone(zone).date(),
                    key_action=labels(language, "key_action", last[0][1]),
                    obstacle=labels(language, "obstacle", last[0][2]),
                    emotion=labels(language, "emotion", last[0][3]),
                )
                if last
                else None,
                link=link or absolute(f"/customers/{customer_id}/"),
            )

        notes: list[Note] = []
        for (owner_id, reader_id), listed in sorted(readers.items(), key=lambda kv: (kv[0][0], kv[0][0] != kv[0][1])):
            owner, reader = people.get(owner_id), people.get(reader_id)
            if owner is None or reader is None or not owner.is_active or not reader.is_active:
                continue  # left the company since: the tasks stay for whoever takes the leads over
            language = reader.message_language  # each reader's own language, owner or CC'd supervisor
            leads = [lead(customer_id, link, language) for _, link, customer_id in listed[: compute.MAX_LINES]]
            digest = hashlib.sha256(",".join(str(t) for t, _, _ in listed).encode()).hexdigest()[:16]
            with _language(language):
                if reader_id == owner_id:
                    message = compute.wakeup_owner_message(
                        rep_name=str(owner),
                        rep_id_on_vendor=owner.wecom_userid,
                        leads=leads,
                        count=len(listed),
                        page_link=page,
                    )
                    note = Note(recipient_of(owner), message, f"wakeup:{owner_id}:{digest}:owner")
                else:
                    message = compute.wakeup_cc_message(
                        rep_name=str(owner), leads=leads, count=len(listed), page_link=page
                    )
                    note = Note(recipient_of(reader), message, f"wakeup:{owner_id}:{digest}:cc:{reader_id}")
            notes.append(note)
        notify(notes=notes, configs=configs if configs is not None else team_configs(), source=WAKEUP_SOURCE, now=now)
    return len({owner for owner, _ in readers})


def wakeups(*, now: datetime, size: int | None = None) -> int:
    """Every due wake-up, batch by batch (each committed on its own), then one notice per owner;
    returns leads handled. A run cut short between batches is finished by the next one."""
    handled, after, turns = 0, 0, WriterTurns()
    while (batch := handle_one_wakeup_batch(now=now, size=size, after=after)).handled:
        handled += batch.handled
        after = batch.last_pk
        turns.after_batch()
    configs, catalog = team_configs(), option_catalog()
    waiting = list(
        Task.objects.filter(source=Task.Source.WAKE_UP, status=Task.Status.OPEN, reminded_at=None)
        .order_by("assignee_id")
        .values_list("assignee_id", flat=True)
        .distinct()
    )
    for start in range(0, len(waiting), NOTICE_OWNERS):
        handle_one_wakeup_notice_batch(
            now=now, assignee_ids=waiting[start : start + NOTICE_OWNERS], configs=configs, catalog=catalog
        )
        turns.after_batch()
    return handled


def vitality_sweep(*, now: datetime) -> int:
    """The nightly lead aging: idle leads into the dormant pool first, then wake-ups for the quiet ones."""
    return sweep_dormant(now=now) + wakeups(now=now)
