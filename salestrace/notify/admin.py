from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from salestrace.core import clock
from salestrace.notify.models import Channel, ChannelSettings, Delivery, InboxMessage
from salestrace.notify.selectors import masked_settings
from salestrace.notify.services import (
    ENDPOINT_VENDORS,
    PLAIN_FIELDS,
    SECRET_FIELDS,
    channel_settings_update,
    delivery_retry,
    endpoint_error,
)

if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
    ChannelSettingsModelForm = forms.ModelForm[ChannelSettings]
else:
    ModelAdmin = admin.ModelAdmin
    ChannelSettingsModelForm = forms.ModelForm

_KEEP = _("Leave empty to keep the current value; enter a single '-' to remove it.")


class ChannelSettingsForm(ChannelSettingsModelForm):
    """Secrets are typed in, encrypted, and only ever shown back masked."""

    wecom_webhook_url = forms.CharField(label=_("WeCom group robot webhook URL"), required=False, help_text=_KEEP)
    wecom_corp_secret = forms.CharField(
        label=_("WeCom corp secret"), required=False, widget=forms.PasswordInput, help_text=_KEEP
    )
    dingtalk_webhook_url = forms.CharField(label=_("DingTalk robot webhook URL"), required=False, help_text=_KEEP)
    dingtalk_secret = forms.CharField(
        label=_("DingTalk signing secret"), required=False, widget=forms.PasswordInput, help_text=_KEEP
    )
    feishu_webhook_url = forms.CharField(label=_("Feishu bot webhook URL"), required=False, help_text=_KEEP)
    feishu_secret = forms.CharField(
        label=_("Feishu signing secret"), required=False, widget=forms.PasswordInput, help_text=_KEEP
    )

    default_channels = forms.MultipleChoiceField(
        label=_("default channels"),
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "For members who did not choose their own channels. None ticked: the parent team's list, "
            "else every channel configured for the team."
        ),
    )

    class Meta:
        model = ChannelSettings
        fields = ("team", *PLAIN_FIELDS, "default_channels")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            current = masked_settings(self.instance)
            for name in SECRET_FIELDS:
                if current.get(name):
                    self.fields[name].help_text = _("Current: %(value)s. %(keep)s") % {
                        "value": current[name],
                        "keep": _KEEP,
                    }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ENDPOINT_VENDORS:
            value = (cleaned.get(name) or "").strip()
            if value and value != "-" and (error := endpoint_error(name, value)):
                self.add_error(name, error)
        return cleaned

    def secret_changes(self) -> dict[str, str | None]:
        changes: dict[str, str | None] = {}
        for name in SECRET_FIELDS:
            value = (self.cleaned_data.get(name) or "").strip()
            changes[name] = None if value == "" else ("" if value == "-" else value)
        return changes


@admin.register(ChannelSettings)
class ChannelSettingsAdmin(ModelAdmin):
    form = ChannelSettingsForm
    list_display = ("team", "configured", "updated_at")

    @admin.display(description=_("configured"))
    def configured(self, obj: ChannelSettings) -> str:
        return ", ".join(f"{k}={v}" for k, v in masked_settings(obj).items())

    def save_model(self, request: HttpRequest, obj: ChannelSettings, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        channel_settings_update(team=obj.team, changes=form.secret_changes())


@admin.register(Delivery)
class DeliveryAdmin(ModelAdmin):
    """The delivery log: what went where; failures stay here for an admin to see and retry."""

    list_display = (
        "created_at",
        "channel",
        "recipient",
        "title",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "channel", "source")
    search_fields = ("recipient", "title", "dedupe_key", "user__username")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["retry"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Send the selected failed deliveries again"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = delivery_retry(delivery_ids=queryset.values_list("pk", flat=True), now=clock.now())
        self.message_user(request, _("%(count)d deliveries queued again.") % {"count": count}, messages.SUCCESS)


@admin.register(InboxMessage)
class InboxMessageAdmin(ModelAdmin):
    list_display = ("created_at", "user", "title", "source", "read_at")
    list_filter = ("source",)
    search_fields = ("title", "user__username")
    readonly_fields = [f.name for f in InboxMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
