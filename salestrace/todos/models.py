from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Task(models.Model):
    """A to-do (待办) for one person: due time, where it came from, who is CC'd, a link to do it."""

    class Source(models.TextChoices):
        REMINDER = "reminder", _("Reminder")
        FOLLOW_UP = "follow_up", _("Follow-up rule")
        NEXT_STEP = "next_step", _("Next step")
        WAKE_UP = "wake_up", _("Wake-up")
        PLAYBOOK = "playbook", _("Playbook")
        MANUAL = "manual", _("Manual")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.CASCADE, related_name="tasks"
    )
    title = models.CharField(_("title"), max_length=200)
    detail = models.TextField(_("detail"), blank=True, max_length=2000)
    due_at = models.DateTimeField(_("due at"))
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    action = models.ForeignKey(
        "actions.ActionLog",
        verbose_name=_("triggering action"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rule_code = models.CharField(_("follow-up rule"), max_length=80, blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    cc = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("CC"), blank=True, related_name="cc_tasks")
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True, null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    due_uncertain = models.BooleanField(
        _("due date estimated"),
        default=False,
        help_text=_(
            "Counted in working days over dates no official holiday schedule covers yet; "
            "recounted when the schedule is entered."
        ),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_due_idx"),
            models.Index(fields=["status", "remind_at"], name="task_remind_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class FollowUpRule(models.Model):
    """ "After key action X, a follow-up is due N working days later unless the customer saw an action."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    condition = models.JSONField(
        _("condition"), default=dict, help_text=_('e.g. {"field": "key_action", "equals": "send_quote"}')
    )
    due_working_days = models.PositiveSmallIntegerField(_("due after working days"))
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    pack = models.SlugField(_("template pack"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("follow-up rule")
        verbose_name_plural = _("follow-up rules")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class CompanyDayOff(models.Model):
    """A company day off on top of the official calendar: no reminders, not a working day."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("company day off")
        verbose_name_plural = _("company days off")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class OfficialYear(models.Model):
    """One year of the official holiday schedule (the State Council notice), entered by an admin."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    confirmed = models.BooleanField(
        _("confirmed"),
        default=False,
        help_text=_(
            "Checked against the official notice: every day off and every adjusted working day (调休) "
            "of the year is entered. Until then the year counts as not covered."
        ),
    )
    source = models.CharField(_("source"), max_length=200, blank=True, help_text=_("e.g. the notice number or file"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("official holiday schedule")
        verbose_name_plural = _("official holiday schedules")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class OfficialDay(models.Model):
    """A day of an official schedule: a day off, or a weekend day worked in exchange (调休)."""

    class Kind(models.TextChoices):
        OFF = "off", _("Day off")
        WORK = "work", _("Adjusted working day (调休)")

    schedule = models.ForeignKey(
        OfficialYear, verbose_name=_("official holiday schedule"), on_delete=models.CASCADE, related_name="days"
    )
    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("official day")
        verbose_name_plural = _("official days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class ReminderRun(models.Model):
    """One team's daily reminder for one local date, written in the same transaction as its messages."""

    team = models.ForeignKey("org.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField(_("date"))
    ran_at = models.DateTimeField(_("ran at"))
    reps = models.PositiveIntegerField(_("reps"), default=0)
    messages = models.PositiveIntegerField(_("messages"), default=0)

    class Meta:
        verbose_name = _("daily reminder run")
        verbose_name_plural = _("daily reminder runs")
        constraints = [models.UniqueConstraint(fields=["team", "local_date"], name="reminderrun_unique_team_date")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.local_date}"


class JobCursor(models.Model):
    """How far a job has read a growing table (e.g. the last action scanned for follow-up rules)."""

    name = models.SlugField(max_length=50, unique=True)
    position = models.BigIntegerField(default=0)
    stamp = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"{self.name}={self.position}"


class CalendarFeed(models.Model):
    """A person's secret iCalendar address of their tasks and next steps, for a phone calendar to
    subscribe to; only the SHA-256 of its token is kept. A new one revokes the one before."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    prefix = models.CharField(_("prefix"), max_length=8)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(
        _("last fetched at"), null=True, blank=True, help_text=_("Noted at most once an hour.")
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
