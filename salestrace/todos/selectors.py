"""Reads for tasks and reminders: scoped task lists, reminder times, and what each rep is missing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salestrace.actions.compute import summary_needed
from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.rules import evidence_values
from salestrace.catalog.packs import ACTION_FIELDS
from salestrace.core.bulk import from_stored_datetime, raw_rows
from salestrace.core.errors import FieldError, NotFound
from salestrace.customers.models import Customer
from salestrace.org.models import Role, Team, User
from salestrace.org.selectors import COMPANY_WIDE, team_chain, team_subtree_ids
from salestrace.todos.compute import ActionRow, NextStepRow, TaskRow
from salestrace.todos.ics import CalendarEntry
from salestrace.todos.models import CalendarFeed, CompanyDayOff, OfficialDay, OfficialYear, Task
from salestrace.todos.workdays import OfficialSchedule, WorkCalendar

# --- links -------------------------------------------------------------------------------------


def absolute(path: str) -> str:
    """A link that works from WeCom or an e-mail: SALESTRACE_BASE_URL + path."""
    return settings.SALESTRACE_BASE_URL + path


def _path(name: str, args: Iterable[object], fallback: str) -> str:
    try:
        return reverse(name, args=list(args))
    except NoReverseMatch:
        return fallback


def new_action_link(customer_id: int, **query: object) -> str:
    """The prefilled 新增动作日志 form for a customer."""
    path = _path("actions:new", [customer_id], f"/customers/{customer_id}/actions/new/")
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return absolute(path + (f"?{params}" if params else ""))


def new_action_links(customer_ids: Iterable[int], **query: object) -> dict[int, str]:
    """`new_action_link` for many customers, the URL resolved once (a sweep makes thousands)."""
    sentinel = 999_999_999_999
    template = new_action_link(sentinel, **query)
    return {pk: template.replace(f"/{sentinel}/", f"/{pk}/", 1) for pk in customer_ids}


def tasks_page_link() -> str:
    return absolute(_path("todos:my_tasks", [], "/tasks/"))


# --- time --------------------------------------------------------------------------------------


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of a local (Asia/Shanghai) day as aware datetimes."""
    tz = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def local_at(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=timezone.get_default_timezone())


def reminder_times() -> dict[int, time]:
    """Each team's daily reminder time: its own, else the nearest ancestor's, else the default."""
    parents: dict[int, int | None] = {}
    own: dict[int, time | None] = {}
    for pk, parent, at in Team.objects.values_list("pk", "parent_id", "reminder_time"):
        parents[pk], own[pk] = parent, at
    default: time = settings.SALESTRACE_REMINDER_TIME
    return {
        team_id: next((at for t in team_chain(team_id, parents) if (at := own[t]) is not None), default)
        for team_id in parents
    }


def company_days_off() -> frozenset[date]:
    return frozenset(CompanyDayOff.objects.values_list("date", flat=True))


def work_calendar() -> WorkCalendar:
    """The working-day calendar: the official schedules admins entered, then the packages, plus company days off."""
    off: set[date] = set()
    work: set[date] = set()
    for day, kind in OfficialDay.objects.values_list("date", "kind"):
        (work if kind == OfficialDay.Kind.WORK else off).add(day)
    schedule = OfficialSchedule(
        confirmed_years=frozenset(OfficialYear.objects.filter(confirmed=True).values_list("year", flat=True)),
        days_off=frozenset(off),
        working_days=frozenset(work),
    )
    return WorkCalendar(schedule, company_days_off())


@dataclass(frozen=True)
class CalendarGap:
    """Years in the coming days that no official schedule covers, and what decides them meanwhile."""

    years: tuple[int, ...]
    first_day: date
    fallback: str  # Basis value of the first uncovered year


CALENDAR_HORIZON_DAYS = 60


def calendar_gap(
    *, today: date, days: int = CALENDAR_HORIZON_DAYS, calendar: WorkCalendar | None = None
) -> CalendarGap | None:
    """None when an official schedule covers every day from `today` to `days` later."""
    if calendar is None:  # coverage needs the confirmed years only: one query
        confirmed = frozenset(OfficialYear.objects.filter(confirmed=True).values_list("year", flat=True))
        calendar = WorkCalendar(OfficialSchedule(confirmed_years=confirmed))
    years = calendar.unknown_years(today, days)
    if not years:
        return None
    first = max(today, date(years[0], 1, 1))
    return CalendarGap(tuple(years), first, calendar.basis(first).value)


# --- what reps are missing (the 18:00 sweep) -----------------------------------------------------


@dataclass(frozen=True)
class RepRow:
    id: int
    name: str
    team_id: int | None
    channels: tuple[str, ...] | None  # None: no choice made, the team's channels apply
    wecom_userid: str
    email: str
    language: str = ""  # empty: the company default
    mobile: str = ""


def team_reps(team_id: int) -> list[RepRow]:
    """Active reps directly in a team."""
    rows = (
        User.objects.filter(team_id=team_id, role=Role.REP, is_active=True)
        .order_by("pk")
        .values_list(
            "pk",
            "display_name",
            "username",
            "team_id",
            "notify_channels",
            "wecom_userid",
            "email",
            "language",
            "mobile",
        )
    )
    return [
        RepRow(
            pk,
            display or username,
            team,
            None if channels is None else tuple(channels),
            wecom or "",
            mail or "",
            language or "",
            mobile or "",
        )
        for pk, display, username, team, channels, wecom, mail, language, mobile in rows
    ]


def team_names() -> dict[int, str]:
    """Every team's name by id (one query; teams are few)."""
    return dict(Team.objects.values_list("pk", "name"))


def actions_logged(rep_ids: list[int], day: date) -> dict[int, list[ActionRow]]:
    """Actions that happened on `day` (local), per rep, with the values the rules test."""
    start, end = local_day_bounds(day)
    fields = sorted(ACTION_FIELDS)
    out: dict[int, list[ActionRow]] = {}
    qs = (
        ActionLog.objects.filter(rep_id__in=rep_ids, occurred_at__gte=start, occurred_at__lt=end)
        .order_by("occurred_at", "pk")
        .values("pk", "rep_id", "customer_id", "customer__name", *fields)
    )
    rows = list(qs)
    files: dict[int, list[tuple[str, str, str]]] = {}
    for action_id, kind, state, text in Evidence.objects.filter(action_id__in=[row["pk"] for row in rows]).values_list(
        "action_id", "kind", "recognition", "recognised_text"
    ):
        files.setdefault(action_id, []).append((kind, state, text))
    for row in rows:
        attached = files.get(row["pk"], [])
        values = {f: row[f] for f in fields} | evidence_values([file[0] for file in attached])
        link = new_action_link(row["customer_id"], action=row["pk"])
        out.setdefault(row["rep_id"], []).append(
            ActionRow(
                row["pk"],
                row["customer__name"],
                values,
                link,
                summary_needed=summary_needed(row["summary"], attached),
                summary_link=absolute(_path("actions:summary", [row["pk"]], f"/actions/{row['pk']}/summary/")),
            )
        )
    return out


def next_steps_due(rep_ids: list[int], day: date) -> dict[int, list[NextStepRow]]:
    """Next steps planned for `day` on active customers with no action since the one that planned them.

    One line per customer (the latest plan), and none where a next-step task already covers it.
    """
    # Two plain queries rather than one join: SQLite's planner otherwise walks every active customer.
    planned = list(
        ActionLog.objects.filter(rep_id__in=rep_ids, next_step_date=day)
        .order_by("customer_id", "-occurred_at", "-pk")
        .values_list("pk", "rep_id", "customer_id", "occurred_at", "next_step_plan")
    )
    customers = {
        pk: (name, status, last_active)
        for pk, name, status, last_active in Customer.objects.filter(pk__in={r[2] for r in planned}).values_list(
            "pk", "name", "status", "last_active_at"
        )
    }
    rows = []
    for pk, rep_id, customer_id, occurred_at, plan in planned:
        name, status, last_active = customers[customer_id]
        if status == Customer.Status.ACTIVE and (last_active is None or last_active <= occurred_at):
            rows.append((pk, rep_id, customer_id, name, plan))
    tasked = set(
        Task.objects.filter(source=Task.Source.NEXT_STEP, action_id__in=[r[0] for r in rows]).values_list(
            "action_id", flat=True
        )
    )
    out: dict[int, list[NextStepRow]] = {}
    seen: set[int] = set()
    for pk, rep_id, customer_id, name, plan in rows:
        if customer_id in seen or pk in tasked:
            continue
        seen.add(customer_id)
        out.setdefault(rep_id, []).append(NextStepRow(pk, name, plan, new_action_link(customer_id, after=pk)))
    return out


def open_tasks_due(rep_ids: list[int], day: date) -> dict[int, list[TaskRow]]:
    """Open tasks due by the end of `day`, per assignee, oldest first."""
    start, end = local_day_bounds(day)
    qs = (
        Task.objects.filter(assignee_id__in=rep_ids, status=Task.Status.OPEN, due_at__lt=end)
        .order_by("due_at", "pk")
        .values_list("pk", "assignee_id", "title", "customer__name", "link", "due_at")
    )
    out: dict[int, list[TaskRow]] = {}
    for pk, assignee_id, title, customer_name, link, due_at in qs:
        out.setdefault(assignee_id, []).append(
            TaskRow(pk, title, customer_name or "", link or tasks_page_link(), due_at < start)
        )
    return out


def action_field_labels() -> dict[str, str]:
    labels = {f: str(getattr(ActionLog._meta.get_field(f), "verbose_name", f)) for f in ACTION_FIELDS}
    return labels | {f"evidence_{kind.value}": str(kind.label) for kind in Evidence.Kind}


# --- tasks for people ----------------------------------------------------------------------------


def task_scope(user: User) -> Q:
    """The tasks `user` may see: their own, those they are CC'd on, and their team subtree's as supervisor."""
    if not user.is_active:
        return Q(pk__in=[])
    if user.role in COMPANY_WIDE or user.is_superuser:
        return Q()
    scope = Q(assignee=user) | Q(cc=user)
    if user.role == Role.SUPERVISOR and user.team_id is not None:
        scope |= Q(assignee__team_id__in=team_subtree_ids(user.team_id))
    return scope


@dataclass(frozen=True)
class TaskFilters:
    status: str | None = None
    source: str | None = None
    assignee_id: int | None = None
    mine: bool = False


def task_list(*, user: User, filters: TaskFilters | None = None) -> QuerySet[Task]:
    """Tasks in scope, soonest due first."""
    f = filters or TaskFilters()
    ids = Task.objects.filter(task_scope(user)).values("pk")
    qs = Task.objects.filter(pk__in=ids).select_related("assignee", "customer").prefetch_related("cc")
    if f.mine:
        qs = qs.filter(assignee=user)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.source:
        qs = qs.filter(source=f.source)
    if f.assignee_id is not None:
        qs = qs.filter(assignee_id=f.assignee_id)
    return qs.order_by("due_at", "pk")


def task_get(*, user: User, task_id: int) -> Task:
    """One task in scope, or NotFound."""
    ids = Task.objects.filter(task_scope(user)).values("pk")
    task = Task.objects.filter(pk__in=ids, pk=task_id).select_related("assignee", "customer").first()
    if task is None:
        raise NotFound([FieldError(None, "not_found", _("Task not found."))])
    return task


# --- wake-ups ----------------------------------------------------------------------------------

WAKEUP_HISTORY = 3


def wakeup_history(
    customer_ids: Iterable[int], *, per_customer: int = WAKEUP_HISTORY
) -> dict[int, list[tuple[datetime, str, str, str]]]:
    """The latest actions of each customer, newest first: (occurred_at, key_action, obstacle, emotion); one query."""
    rows = (
        ActionLog.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", "-occurred_at", "-id")
        .values_list("customer_id", "occurred_at", "key_action", "obstacle", "emotion")
    )
    history: dict[int, list[tuple[datetime, str, str, str]]] = {}
    for customer_id, occurred_at, key_action, obstacle, emotion in raw_rows(rows):
        kept = history.setdefault(customer_id, [])
        if len(kept) < per_customer:
            kept.append((from_stored_datetime(occurred_at), key_action, obstacle, emotion))
    return history


def supervisors_over_teams(team_ids: Iterable[int]) -> dict[int, list[int]]:
    """For each team, the active supervisors of the nearest team at or above it that has any."""
    parents = dict(Team.objects.values_list("pk", "parent_id"))
    by_team: dict[int, list[int]] = {}
    for pk, team_id in User.objects.filter(role=Role.SUPERVISOR, is_active=True, team__isnull=False).values_list(
        "pk", "team_id"
    ):
        by_team.setdefault(team_id, []).append(pk)
    result: dict[int, list[int]] = {}
    for team_id in team_ids:
        nearest = next((t for t in team_chain(team_id, parents) if t in by_team), None)
        result[team_id] = sorted(by_team[nearest]) if nearest is not None else []
    return result


# --- calendar feeds -------------------------------------------------------------------------------

FEED_TASKS_MAX = 500


def calendar_feed_get(raw: str) -> CalendarFeed | None:
    """The live feed of an active person this token opens, or None (unknown, revoked, switched off)."""
    if not raw.startswith("cal_") or len(raw) > 100:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return (
        CalendarFeed.objects.select_related("user")
        .filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def calendar_feed_live(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at").first()


def calendar_entries(*, user: User, now: datetime) -> list[CalendarEntry]:
    """What a person's calendar shows: their open tasks due from a month ago to a year ahead, and
    the next steps they planned (from a week ago on) on active customers with nothing logged since,
    where no task already stands for them."""
    today = timezone.localdate(now)
    tasks = (
        Task.objects.filter(
            assignee=user,
            status=Task.Status.OPEN,
            due_at__gte=now - timedelta(days=30),
            due_at__lte=now + timedelta(days=366),
        )
        .select_related("customer")
        .order_by("due_at", "pk")[:FEED_TASKS_MAX]
    )
    entries = [
        CalendarEntry(
            uid=f"task-{t.pk}",
            title=t.title,
            customer=t.customer.name if t.customer_id and t.customer else "",
            detail=t.detail,
            at=t.due_at,
            day=None,
            link=absolute(t.link) if t.link.startswith("/") else (t.link or tasks_page_link()),
            changed_at=t.updated_at,
        )
        for t in tasks
    ]
    planned = (
        ActionLog.objects.filter(
            rep=user, next_step_date__gte=today - timedelta(days=7), next_step_date__lte=today + timedelta(days=183)
        )
        .order_by("customer_id", "-occurred_at", "-pk")
        .values_list("pk", "customer_id", "occurred_at", "next_step_date", "next_step_plan", "updated_at")
    )
    latest: dict[int, tuple[int, datetime, date | None, str, datetime]] = {}
    for pk, customer_id, occurred_at, day, plan, updated_at in planned:
        latest.setdefault(customer_id, (pk, occurred_at, day, plan, updated_at))
    customers = {
        pk: (name, last_active)
        for pk, name, last_active in Customer.objects.filter(
            pk__in=list(latest), status=Customer.Status.ACTIVE
        ).values_list("pk", "name", "last_active_at")
    }
    tasked = set(
        Task.objects.filter(source=Task.Source.NEXT_STEP, action_id__in=[v[0] for v in latest.values()]).values_list(
            "action_id", flat=True
        )
    )
    for customer_id, (pk, occurred_at, day, plan, updated_at) in latest.items():
        if customer_id not in customers or pk in tasked:
            continue
        name, last_active = customers[customer_id]
        if last_active is not None and last_active > occurred_at:
            continue  # something was logged since: the plan was acted on (or replaced)
        entries.append(
            CalendarEntry(
                uid=f"next-step-{pk}",
                title=str(_("Next step: %(plan)s") % {"plan": plan}) if plan else str(_("Next step")),
                customer=name,
                detail="",
                at=None,
                day=day,
                link=absolute(new_action_link(customer_id, after=pk)),
                changed_at=updated_at,
            )
        )
    return entries
