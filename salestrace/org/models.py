from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REP = "rep", _("Sales rep")
    SUPERVISOR = "supervisor", _("Supervisor")
    DIRECTOR = "director", _("Sales director")
    ASSISTANT = "assistant", _("Sales assistant / finance")
    ADMIN = "admin", _("Administrator")
    STORE_STAFF = "store_staff", _("Store staff")


class Channel(models.TextChoices):
    """Where a message can go (users and teams choose; notify delivers); the in-app inbox always gets a copy and is not a delivery."""

    WECOM_GROUP = "wecom_group", _("WeCom group robot")
    WECOM_APP = "wecom_app", _("WeCom application message")
    DINGTALK = "dingtalk", _("DingTalk robot")
    FEISHU = "feishu", _("Feishu bot")
    EMAIL = "email", _("E-mail")


class Team(models.Model):
    """A node of the sales organisation: a region holds teams, a team holds reps."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        REGION = "region", _("Region")
        TEAM = "team", _("Team")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TEAM)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    reminder_time = models.TimeField(
        _("daily reminder time"),
        null=True,
        blank=True,
        help_text=_("Local time (Asia/Shanghai) of the daily reminder; empty: the parent team's, else 18:00."),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="team_unique_name_in_parent"),
        ]

    def __str__(self) -> str:
        return self.name


def default_notify_channels() -> list[str]:
    """Kept for migration 0002, which names it; new users get None: their team's channels."""
    return ["wecom_group", "wecom_app"]


class User(AbstractUser):
    """A person who signs in; `role` and `team` decide which rows they may see."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    notify_channels = models.JSONField(
        _("notification channels"),
        null=True,
        blank=True,
        default=None,
        help_text=_(
            "Where reminders go besides the in-app inbox: wecom_group, wecom_app, dingtalk, feishu, email. "
            "Empty (null): every channel configured for the user's team, or the team's own default list."
        ),
    )
    wecom_userid = models.CharField(
        _("WeCom user id"), max_length=64, blank=True, help_text=_("For WeCom application messages to this person.")
    )
    mobile = models.CharField(
        _("mobile number"),
        max_length=20,
        blank=True,
        help_text=_("Lets a DingTalk robot @-mention this person in the team's daily digest."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The language of this person's messages; empty: the company default (简体中文)."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def message_language(self) -> str:
        """The language code this person's messages are written in."""
        return self.language or settings.LANGUAGE_CODE


class ApiToken(models.Model):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=8)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(
        _("last used at"), null=True, blank=True, help_text=_("Noted at most once a minute.")
    )
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: valid until revoked.")
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
