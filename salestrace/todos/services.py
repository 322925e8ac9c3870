"""The only writers of tasks, follow-up rules, company days off and the official holiday schedules."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.codes import free_code
from salestrace.catalog.models import Rule, SettingChange, TemplatePack
from salestrace.catalog.pack_io import current_pack, pack_codes, pack_definition
from salestrace.catalog.packs import MAX_FOLLOW_UP_DAYS, PackChange, PackDef, pack_diff, parse_pack
from salestrace.catalog.rule_builder import builder_rows
from salestrace.catalog.services import (
    LoadReport,
    condition_problems,
    refuse_unless_configurer,
    rollback_setting,
    state_fingerprint,
    switch_setting,
    template_load,
)
from salestrace.core.errors import Conflict, FieldError, NotFound, PermissionDenied, RuleViolation
from salestrace.customers.models import Customer
from salestrace.org.models import User
from salestrace.org.selectors import assignable_users, customer_scope, is_manager
from salestrace.todos.compute import schedule_problem_text
from salestrace.todos.models import (
    CalendarFeed,
    CompanyDayOff,
    FollowUpRule,
    JobCursor,
    OfficialDay,
    OfficialYear,
    Task,
)
from salestrace.todos.selectors import local_at, task_get, work_calendar
from salestrace.todos.workdays import Reckoned, WorkCalendar, YearDef, parse_schedule_csv, statutory_draft

logger = logging.getLogger(__name__)


@transaction.atomic
def task_create(
    *,
    user: User,
    title: str,
    due_at: datetime,
    now: datetime,
    assignee_id: int | None = None,
    customer_id: int | None = None,
    detail: str = "",
    link: str = "",
    cc_ids: Sequence[int] = (),
    remind_before_hours: int | None = None,
) -> Task:
    """A manual task: for oneself, or (supervisors and above) for someone in scope, with CC'd colleagues.
    The reminder comes `remind_before_hours` before it is due (SALESTRACE_TASK_REMIND_HOURS by default)."""
    errors: list[FieldError] = []
    if not title.strip():
        errors.append(FieldError("title", "required", _("The title is required.")))
    assignee_id = assignee_id if assignee_id is not None else user.pk
    if assignee_id != user.pk:
        if not is_manager(user):
            raise PermissionDenied(
                [FieldError("assignee_id", "forbidden", _("You may only create tasks for yourself."))]
            )
        if not User.objects.filter(assignable_users(user), pk=assignee_id).exists():
            errors.append(FieldError("assignee_id", "invalid", _("This user is not in your scope.")))
    if customer_id is not None and not Customer.objects.filter(customer_scope(user), pk=customer_id).exists():
        errors.append(FieldError("customer_id", "invalid", _("Customer not found.")))
    cc = sorted(set(cc_ids) - {assignee_id})
    if cc and User.objects.filter(pk__in=cc, is_active=True).count() != len(cc):
        errors.append(FieldError("cc_ids", "invalid", _("Some CC'd users do not exist.")))
    if errors:
        raise RuleViolation(errors)
    task = Task.objects.create(
        assignee_id=assignee_id,
        title=title.strip()[:200],
        detail=detail.strip(),
        due_at=due_at,
        remind_at=due_at
        - timedelta(
            hours=settings.SALESTRACE_TASK_REMIND_HOURS if remind_before_hours is None else remind_before_hours
        ),
        source=Task.Source.MANUAL,
        customer_id=customer_id,
        link=link,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    if cc:
        task.cc.set(cc)
    return task


@transaction.atomic
def task_set_status(*, user: User, task_id: int, status: str, now: datetime) -> Task:
    """Mark a task done, cancelled or open again; the assignee, its creator or a supervisor in scope may."""
    task = task_get(user=user, task_id=task_id)
    may = task.assignee_id == user.pk or task.created_by_id == user.pk
    may = may or is_manager(user)
    if not may:
        raise PermissionDenied([FieldError(None, "forbidden", _("Only the assignee may change this task."))])
    if status not in Task.Status.values:
        raise RuleViolation([FieldError("status", "invalid_choice", _("Not one of the available options."))])
    task.status = status
    task.completed_at = now if status != Task.Status.OPEN else None
    task.resolution = "" if status == Task.Status.OPEN else f"{status} by {user.username}"
    task.updated_at = now
    task.save(update_fields=["status", "completed_at", "resolution", "updated_at"])
    return task


def task_create_once(*, dedupe_key: str, defaults: dict[str, object], cc_ids: Sequence[int] = ()) -> Task | None:
    """A generated task (rule, reminder, wake-up…) unless one with this key exists; None if it did."""
    try:
        with transaction.atomic():
            task = Task.objects.create(dedupe_key=dedupe_key, **defaults)
            if cc_ids:
                task.cc.set(cc_ids)
            return task
    except IntegrityError:
        return None


def tasks_resolve_by_later_actions(*, now: datetime) -> int:
    """Close open follow-up and next-step tasks whose customer has seen an action since the trigger.

    "Unless an action was logged on that customer meanwhile": one bulk UPDATE, idempotent.
    """
    return Task.objects.filter(
        status=Task.Status.OPEN,
        source__in=[Task.Source.FOLLOW_UP, Task.Source.NEXT_STEP],
        action__isnull=False,
        customer__last_active_at__gt=F("action__occurred_at"),
    ).update(status=Task.Status.DONE, completed_at=now, updated_at=now, resolution="auto: action logged")


@transaction.atomic
def follow_up_rules_sync(*, definition: PackDef | None = None) -> int:
    """Copy the follow-up rules of the template loaded last, when that load is newer than the last copy
    (`definition`: that template as it was loaded, when it is not a shipped or uploaded one).

    Like the entry rules on a load: the template's rules are written (an admin's edits to them last
    until the template is loaded again), and follow-ups of other templates are switched off; the ones
    made in Settings (no template) stay. Returns rules written.
    """
    pack = TemplatePack.objects.order_by("-loaded_at", "-pk").first()
    if pack is None:
        return 0
    stamp = f"{pack.code}@{pack.loaded_at.isoformat()}"
    cursor, _ = JobCursor.objects.select_for_update().get_or_create(name="followups-template")
    if cursor.stamp == stamp:
        return 0
    definition = definition if definition is not None and definition.code == pack.code else pack_definition(pack.code)
    codes = set()
    for rule in definition.follow_ups:
        codes.add(rule.code)
        FollowUpRule.objects.update_or_create(
            code=rule.code,
            defaults={
                "condition": rule.condition,
                "due_working_days": rule.due_working_days,
                "title_zh": rule.title_zh,
                "title_en": rule.title_en,
                "is_active": True,
                "pack": pack.code,
            },
        )
    FollowUpRule.objects.exclude(pack="").exclude(code__in=codes).filter(is_active=True).update(is_active=False)
    cursor.stamp = stamp
    cursor.save(update_fields=["stamp"])
    return len(codes)


# --- the official holiday schedule ----------------------------------------------------------------


def follow_up_due(
    *, occurred_day: date, working_days: int, calendar: WorkCalendar, log: bool = True
) -> tuple[Reckoned, dict[str, object]]:
    """When a follow-up `working_days` after `occurred_day` is due, as Task fields (due, reminder,
    whether it was estimated over days no official schedule covers); logged when estimated."""
    reckoned = calendar.add(occurred_day, working_days)
    if log and not reckoned.certain:
        logger.warning(
            "follow-up due %s estimated: no official holiday schedule covers %s (source: %s)",
            reckoned.day,
            sorted({d.year for d in reckoned.uncertain}),
            calendar.basis(reckoned.uncertain[0]).value,
        )
    return reckoned, {
        "due_at": local_at(reckoned.day, settings.SALESTRACE_REMINDER_TIME),
        "remind_at": local_at(reckoned.day, settings.SALESTRACE_MORNING_TIME),
        "due_uncertain": not reckoned.certain,
    }


def follow_ups_recount(*, now: datetime, years: Sequence[int] = ()) -> int:
    """Count open follow-ups again on today's calendar, after a schedule was entered or corrected:
    every estimated one, and those not yet reminded that fall due in `years` or later.

    A reminder already sent is not moved; returns the tasks whose due date or certainty changed."""
    calendar = work_calendar()
    days = dict(FollowUpRule.objects.values_list("code", "due_working_days"))
    touched = Q(due_uncertain=True)
    if years:
        touched |= Q(reminded_at__isnull=True, due_at__gte=local_at(date(min(years), 1, 1), time.min))
    tasks = Task.objects.filter(
        touched, status=Task.Status.OPEN, source=Task.Source.FOLLOW_UP, action__isnull=False
    ).select_related("action")
    changed = 0
    for task in tasks:
        if task.rule_code not in days or task.action is None:
            continue
        occurred = timezone.localtime(task.action.occurred_at).date()
        _reckoned, fields = follow_up_due(
            occurred_day=occurred, working_days=days[task.rule_code], calendar=calendar, log=False
        )
        if task.reminded_at is not None:
            fields.pop("remind_at")
        if all(getattr(task, name) == value for name, value in fields.items()):
            continue
        changed += Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(**fields, updated_at=now)
    return changed


@transaction.atomic
def official_year_load(*, year: YearDef, now: datetime) -> OfficialYear:
    """Write one year of the official schedule, replacing its days; then recount estimated follow-ups."""
    schedule, _created = OfficialYear.objects.update_or_create(
        year=year.year, defaults={"confirmed": year.confirmed, "source": year.source[:200], "updated_at": now}
    )
    OfficialDay.objects.filter(schedule=schedule).delete()
    # A day filed under another year's schedule by hand moves to the year it belongs to.
    OfficialDay.objects.filter(date__in=[d.day for d in year.days]).delete()
    OfficialDay.objects.bulk_create(
        [OfficialDay(schedule=schedule, date=d.day, kind=d.kind, name=d.name[:100]) for d in year.days]
    )
    follow_ups_recount(now=now, years=[year.year])
    return schedule


@transaction.atomic
def official_year_draft(*, year: int, now: datetime) -> OfficialYear:
    """An unconfirmed schedule of `year` proposed from the holidays package (statutory days, no 调休),
    for an admin to complete from the notice; refused when the year has a schedule already."""
    if OfficialYear.objects.filter(year=year).exists():
        raise RuleViolation([FieldError("year", "exists", _("This year has a schedule already."))])
    draft = statutory_draft(year)
    if not draft.days:
        raise RuleViolation([FieldError("year", "unknown", _("The holidays package knows no holidays for this year."))])
    return official_year_load(year=draft, now=now)


# --- follow-up rules in Settings: built from dropdowns, versioned, undoable ---------------------------


@dataclass(frozen=True)
class FollowUpDraft:
    condition: dict[str, Any]
    due_working_days: int | None
    title_zh: str
    title_en: str


def follow_up_state(rule: FollowUpRule) -> dict[str, Any]:
    return {
        "condition": rule.condition,
        "due_working_days": rule.due_working_days,
        "title_zh": rule.title_zh,
        "title_en": rule.title_en,
        "is_active": rule.is_active,
    }


def follow_up_fingerprint(rule: FollowUpRule) -> str:
    return state_fingerprint(follow_up_state(rule))


def follow_up_problems(draft: FollowUpDraft) -> list[FieldError]:
    """Everything wrong with a draft follow-up rule, by the form's field."""
    errors = condition_problems(draft.condition)
    if not draft.condition:
        errors.append(FieldError("condition", "required", _("Choose after which action the follow-up is due.")))
    days = draft.due_working_days
    if days is None or not 1 <= days <= MAX_FOLLOW_UP_DAYS:
        message = _("A whole number of working days from 1 to %(most)d.") % {"most": MAX_FOLLOW_UP_DAYS}
        errors.append(FieldError("due_working_days", "invalid", message))
    if not draft.title_zh.strip():
        errors.append(FieldError("title_zh", "required", _("Write the task's title (in Chinese).")))
    for field, text in (("title_zh", draft.title_zh), ("title_en", draft.title_en)):
        if len(text.strip()) > 200:
            errors.append(FieldError(field, "too_long", _("At most 200 characters.")))
    return errors


def _follow_up_record(user: User, rule: FollowUpRule, now: datetime, *, before: dict[str, Any] | None,
                      rolled_back: SettingChange | None = None) -> None:  # fmt: skip
    SettingChange.objects.create(
        area=SettingChange.Area.FOLLOW_UP,
        key=rule.code,
        before=before,
        after=follow_up_state(rule),
        changed_by=user,
        changed_at=now,
        rolled_back=rolled_back,
    )


def _follow_up_code(condition: dict[str, Any]) -> str:
    shape = builder_rows(condition)
    about = "_".join(f"{r.field}_{r.values[0] if r.values else r.op}" for r in shape[1][:2]) if shape else "after"
    base = f"{about}_follow_up"[:70]
    return free_code(base, set(FollowUpRule.objects.filter(code__startswith=base).values_list("code", flat=True)), 80)


@transaction.atomic
def follow_up_create(*, user: User, draft: FollowUpDraft, now: datetime) -> FollowUpRule:
    """A new follow-up rule, applied to actions logged from now on (the follow-up job's cursor)."""
    refuse_unless_configurer(user)
    errors = follow_up_problems(draft)
    if errors:
        raise RuleViolation(errors)
    rule = FollowUpRule.objects.create(
        code=_follow_up_code(draft.condition),
        condition=draft.condition,
        due_working_days=draft.due_working_days or 1,  # checked above
        title_zh=draft.title_zh.strip(),
        title_en=draft.title_en.strip(),
        pack="",
    )
    _follow_up_record(user, rule, now, before=None)
    return rule


def _follow_up_for_change(code: str, seen: str | None) -> FollowUpRule:
    rule = FollowUpRule.objects.select_for_update().filter(code=code).first()
    if rule is None:
        raise NotFound([FieldError(None, "not_found", _("No such follow-up rule."))])
    if seen is not None and follow_up_fingerprint(rule) != seen:
        message = _("Someone else changed this rule meanwhile. Reload to see it.")
        raise Conflict([FieldError(None, "changed_meanwhile", message)])
    return rule


@transaction.atomic
def follow_up_update(*, user: User, code: str, draft: FollowUpDraft, seen: str | None, now: datetime) -> bool:
    """Change a follow-up rule (its code stays); refused when it changed since the editor was shown."""
    refuse_unless_configurer(user)
    rule = _follow_up_for_change(code, seen)
    errors = follow_up_problems(draft)
    if errors:
        raise RuleViolation(errors)
    before = follow_up_state(rule)
    rule.condition, rule.due_working_days = draft.condition, draft.due_working_days or rule.due_working_days
    rule.title_zh, rule.title_en = draft.title_zh.strip(), draft.title_en.strip()
    if follow_up_state(rule) == before:
        return False
    rule.save(update_fields=["condition", "due_working_days", "title_zh", "title_en"])
    _follow_up_record(user, rule, now, before=before)
    return True


@transaction.atomic
def follow_up_set_active(*, user: User, code: str, active: bool, now: datetime) -> bool:
    refuse_unless_configurer(user)
    rule = _follow_up_for_change(code, None)
    return switch_setting(
        row=rule,
        active=active,
        state=follow_up_state,
        record=lambda b, rb: _follow_up_record(user, rule, now, before=b),
    )


def follow_up_rollback(user: User, change: SettingChange, now: datetime) -> None:
    """Registered with catalog's setting_rollback (todos sits above catalog)."""
    rule = FollowUpRule.objects.select_for_update().filter(code=change.key).first()
    rollback_setting(
        change=change,
        row=rule,
        state=follow_up_state,
        record=lambda b, rb: _follow_up_record(user, rule, now, before=b, rolled_back=rb),  # type: ignore[arg-type]
    )


# --- template packs applied from Settings ------------------------------------------------------------


def follow_up_entries(*, pack_code: str | None = None) -> list[dict[str, Any]]:
    """The follow-up rules in force, as pack entries (for an export, or a preview's comparison)."""
    rows = FollowUpRule.objects.filter(is_active=True).order_by("code")
    if pack_code is not None:
        rows = rows.filter(pack=pack_code)
    return [
        {
            "code": r.code,
            "after": r.condition,
            "due_working_days": r.due_working_days,
            "title": {"zh": r.title_zh, "en": r.title_en},
        }
        for r in rows
    ]


def pack_preview(*, code: str) -> tuple[PackDef, list[PackChange]]:
    """The pack and what applying it would change now. Rules and follow-ups made in Settings (or
    loaded by another pack) stay in force, so they are not listed as retired."""
    pack = pack_definition(code)
    return pack, _pack_changes(pack)


def _pack_changes(pack: PackDef) -> list[PackChange]:
    current = parse_pack(current_pack(follow_ups=follow_up_entries()), where="current settings")
    kept_rules = frozenset(Rule.objects.exclude(pack=pack.code).filter(pack="").values_list("code", flat=True))
    kept_follow_ups = frozenset(FollowUpRule.objects.filter(pack="").values_list("code", flat=True))
    return pack_diff(current, pack, kept_rules=kept_rules, kept_follow_ups=kept_follow_ups)


@transaction.atomic
def pack_apply(*, user: User, code: str, now: datetime) -> LoadReport:
    """Load a pack (shipped or uploaded) over the current settings and copy its follow-ups at once;
    recorded in the settings history with what it changed."""
    refuse_unless_configurer(user)
    if code not in pack_codes():
        raise NotFound([FieldError(None, "not_found", _("No such template."))])
    return pack_apply_definition(user=user, pack=pack_definition(code), now=now)


@transaction.atomic
def pack_apply_definition(*, user: User, pack: PackDef, now: datetime) -> LoadReport:
    """`pack_apply` for a pack read from a file that is not kept as an upload (a full export's
    settings, whose code is that of the template they came from)."""
    refuse_unless_configurer(user)
    code = pack.code
    changes = _pack_changes(pack)
    before = TemplatePack.objects.order_by("-loaded_at").values_list("code", "version").first()
    report = template_load(code=code, now=now, pack=pack)
    follow_up_rules_sync(definition=pack)
    SettingChange.objects.create(
        area=SettingChange.Area.PACK,
        key=code,
        before={"pack": before[0], "version": before[1]} if before else None,
        after={"pack": pack.code, "version": pack.version, "changes": len(changes)},
        changed_by=user,
        changed_at=now,
    )
    return report


def pack_rollback(user: User, change: SettingChange, now: datetime) -> None:
    """Registered with catalog's setting_rollback: a pack is undone by applying the earlier one."""
    message = _("A template is undone by applying the earlier template again (Settings › Templates).")
    raise Conflict([FieldError(change.key, "apply_earlier", message)])


# --- the calendar in Settings: official days off and adjusted working days, company days off ---------


def _calendar_record(user: User, key: str, before: Any, after: Any, now: datetime) -> None:
    SettingChange.objects.create(
        area=SettingChange.Area.CALENDAR, key=key, before=before, after=after, changed_by=user, changed_at=now
    )


@transaction.atomic
def calendar_upload(*, user: User, text: str, source: str, now: datetime) -> list[int]:
    """The official schedule of one or more years from a CSV (date,kind,name; kind off|work), each
    year replacing its days; every problem by row, nothing written when there is one. Returns the years."""
    refuse_unless_configurer(user)
    years, problems = parse_schedule_csv(text, confirmed=True, source=source)
    if problems:
        raise RuleViolation(
            [
                FieldError("file", p.code, schedule_problem_text(line=p.line, code=p.code, detail=p.detail))
                for p in problems
            ]
        )
    for year in years:
        before = OfficialYear.objects.filter(year=year.year).first()
        official_year_load(year=year, now=now)
        _calendar_record(user, str(year.year), {"days": before.days.count()} if before else None,
                         {"days": len(year.days), "confirmed": True, "source": source}, now)  # fmt: skip
    return [y.year for y in years]


@transaction.atomic
def calendar_draft(*, user: User, year: int, now: datetime) -> OfficialYear:
    """A draft of `year` from the holidays package (statutory days only, unconfirmed), to complete."""
    refuse_unless_configurer(user)
    if not 2000 <= year <= 2100:
        raise RuleViolation([FieldError("year", "invalid", _("Choose a year."))])
    schedule = official_year_draft(year=year, now=now)
    _calendar_record(user, str(year), None, {"days": schedule.days.count(), "confirmed": False}, now)
    return schedule


@transaction.atomic
def official_day_set(*, user: User, day: date, kind: str, name: str, now: datetime) -> None:
    """One official day off or adjusted working day (调休上班) in its year's schedule (made if none)."""
    refuse_unless_configurer(user)
    if kind not in OfficialDay.Kind.values:
        raise RuleViolation([FieldError("kind", "invalid", _("Choose day off or working day."))])
    schedule, _created = OfficialYear.objects.get_or_create(
        year=day.year, defaults={"confirmed": False, "source": "Settings", "updated_at": now}
    )
    before = OfficialDay.objects.filter(date=day).values_list("kind", "name").first()
    OfficialDay.objects.update_or_create(
        date=day, defaults={"schedule": schedule, "kind": kind, "name": name.strip()[:100]}
    )
    OfficialYear.objects.filter(pk=schedule.pk).update(updated_at=now)
    _calendar_record(user, day.isoformat(), list(before) if before else None, [kind, name.strip()], now)
    follow_ups_recount(now=now, years=[day.year])


@transaction.atomic
def official_day_remove(*, user: User, day: date, now: datetime) -> bool:
    refuse_unless_configurer(user)
    before = OfficialDay.objects.filter(date=day).values_list("kind", "name").first()
    if before is None:
        return False
    OfficialDay.objects.filter(date=day).delete()
    _calendar_record(user, day.isoformat(), list(before), None, now)
    follow_ups_recount(now=now, years=[day.year])
    return True


@transaction.atomic
def calendar_confirm(*, user: User, year: int, now: datetime) -> bool:
    """Mark a year's schedule as checked against the official notice: no longer an estimate."""
    refuse_unless_configurer(user)
    changed = OfficialYear.objects.filter(year=year, confirmed=False).update(confirmed=True, updated_at=now)
    if changed:
        _calendar_record(user, str(year), {"confirmed": False}, {"confirmed": True}, now)
        follow_ups_recount(now=now, years=[year])
    return bool(changed)


@transaction.atomic
def company_day_off_set(*, user: User, day: date, name: str, remove: bool = False, now: datetime) -> bool:
    """Add (or with `remove`, take back) a company day off: no reminders, not a working day."""
    refuse_unless_configurer(user)
    before = CompanyDayOff.objects.filter(date=day).values_list("name", flat=True).first()
    if remove:
        if before is None:
            return False
        CompanyDayOff.objects.filter(date=day).delete()
    else:
        CompanyDayOff.objects.update_or_create(date=day, defaults={"name": name.strip()[:100]})
    _calendar_record(user, f"company:{day.isoformat()}", before, None if remove else name.strip(), now)
    follow_ups_recount(now=now, years=[day.year])
    return True


def calendar_rollback(user: User, change: SettingChange, now: datetime) -> None:
    """Registered with catalog's setting_rollback: a calendar change is undone on the calendar page."""
    message = _("Change the day back on Settings › Calendar (the official notice decides what it should be).")
    raise Conflict([FieldError(change.key, "on_calendar_page", message)])


def leaver_tasks_hand_on(person: User, to_user_id: int | None, now: datetime) -> None:
    """Registered with customers' leaver handoff: a leaver's open tasks go to the colleague taking
    their customers over (with the pool instead, they stay: the leads' next owner sees their history)."""
    if to_user_id is not None:
        Task.objects.filter(assignee=person, status=Task.Status.OPEN).update(assignee_id=to_user_id, updated_at=now)


# --- calendar feeds (iCalendar subscriptions) -----------------------------------------------------

FEED_PREFIX = "cal_"


def feed_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, user: User, now: datetime) -> tuple[CalendarFeed, str]:
    """A new secret calendar address for `user`; the token is returned once and never stored. The
    address before it stops working at once (one live feed per person)."""
    if not user.is_active:
        raise PermissionDenied([FieldError(None, "forbidden", _("This account is switched off."))])
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    raw = FEED_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(user=user, prefix=raw[:8], digest=feed_digest(raw), created_at=now)
    return feed, raw


def calendar_feed_revoke(*, user: User, now: datetime) -> int:
    """Stop the person's calendar address; calendars subscribed to it get nothing more."""
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)


def calendar_feed_used(*, feed: CalendarFeed, now: datetime) -> None:
    """Note a fetch, at most once an hour (calendars poll every few minutes)."""
    if feed.last_used_at is None or now - feed.last_used_at > timedelta(hours=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
