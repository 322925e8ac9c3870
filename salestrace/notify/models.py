from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from salestrace.org.models import Channel  # users and teams choose channels; delivering is ours


class ChannelSettings(models.Model):
    """A team's own webhooks and WeCom application, overriding the environment; secrets are encrypted.

    Child teams inherit from the nearest ancestor that sets a field.
    """

    team = models.OneToOneField(
        "org.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="channel_settings"
    )
    wecom_webhook_url_enc = models.TextField(_("WeCom group robot webhook URL (encrypted)"), blank=True)
    wecom_api_base = models.CharField(_("WeCom API base URL"), max_length=200, blank=True)
    wecom_corp_id = models.CharField(_("WeCom corp id"), max_length=64, blank=True)
    wecom_corp_secret_enc = models.TextField(_("WeCom corp secret (encrypted)"), blank=True)
    wecom_agent_id = models.CharField(_("WeCom agent id"), max_length=32, blank=True)
    dingtalk_webhook_url_enc = models.TextField(_("DingTalk robot webhook URL (encrypted)"), blank=True)
    dingtalk_secret_enc = models.TextField(_("DingTalk signing secret (encrypted)"), blank=True)
    feishu_webhook_url_enc = models.TextField(_("Feishu bot webhook URL (encrypted)"), blank=True)
    feishu_secret_enc = models.TextField(_("Feishu signing secret (encrypted)"), blank=True)
    default_channels = models.JSONField(
        _("default channels"),
        default=list,
        blank=True,
        help_text=_(
            "Channels for members who did not choose their own; empty: the parent team's list, "
            "else every channel configured for the team."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("team channel settings")
        verbose_name_plural = _("team channel settings")

    def __str__(self) -> str:
        return str(self.team)


class InboxMessage(models.Model):
    """A message in a user's in-app inbox; every notification lands here whatever else is configured."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="inbox"
    )
    title = models.CharField(_("title"), max_length=200)
    payload = models.JSONField(_("content"), default=dict)
    link = models.CharField(_("link"), max_length=500, blank=True)
    source = models.CharField(_("source"), max_length=32, blank=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbox message")
        verbose_name_plural = _("inbox messages")
        indexes = [models.Index(fields=["user", "created_at"], name="inbox_user_created_idx")]

    def __str__(self) -> str:
        return self.title


class Delivery(models.Model):
    """One message to one channel and recipient: the outbox and the delivery log in one row."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    team = models.ForeignKey(
        "org.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recipient = models.CharField(_("recipient"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=200)
    payload = models.JSONField(_("content"), default=dict)
    source = models.CharField(_("source"), max_length=32, blank=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    rate_key = models.CharField(_("rate limit key"), max_length=64, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # A group robot's daily digests of several teams go out as one vendor message: the others
    # point at the delivery that led it, so the robot's rate limit counts messages, not rows.
    sent_with = models.ForeignKey(
        "self",
        verbose_name=_("sent in one message with"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("delivery log")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["rate_key", "last_attempt_at"], name="delivery_rate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.recipient}: {self.title}"


class WebhookEvent(models.TextChoices):
    """What an outgoing webhook can be told; the value is the `event` of the JSON body."""

    ACTION_LOGGED = "action.logged", _("An action was logged")
    STAGE_CHANGED = "customer.stage_changed", _("A customer's stage changed")
    DEAL_WON = "deal.won", _("A deal was won")
    DEAL_LOST = "deal.lost", _("A deal was lost")
    CUSTOMER_DORMANT = "customer.dormant", _("Leads went into the dormant pool")
    PING = "ping", _("Test message")


class WebhookEndpoint(models.Model):
    """Another system's URL that is POSTed our events, signed with its own secret (HMAC-SHA256)."""

    name = models.CharField(_("name"), max_length=100)
    # May carry the receiver's own token in its path or query: shown masked, never in an error text.
    url = models.CharField(_("URL"), max_length=500)
    secret_enc = models.TextField(_("signing secret (encrypted)"))
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one endpoint: written in the transaction that made the event (the outbox),
    sent by the worker, retried with backoff; its log row afterwards."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(_("event"), max_length=40, choices=WebhookEvent.choices)
    # The event's id, the same in every retry: receivers use it to drop a repeat.
    event_id = models.UUIDField(_("event id"))
    payload = models.JSONField(_("content"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    response_status = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due_idx"),
            models.Index(fields=["endpoint", "created_at"], name="webhookdelivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"
