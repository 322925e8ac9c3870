from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.utils.translation import gettext_lazy as _

from salestrace.org.models import ApiToken, Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent")
    list_filter = ("kind",)
    search_fields = ("name",)


def _channel_choices() -> list[tuple[str, Any]]:
    from salestrace.notify.models import Channel  # org sits below notify; import where used

    return list(Channel.choices)


class UserForm(UserChangeForm):
    """Channels as checkboxes rather than raw JSON; by default the team's channels."""

    team_channels = forms.BooleanField(
        label=_("Use the team's channels"),
        required=False,
        help_text=_(
            "Every channel configured for the user's team (or the team's default list). "
            "Untick to choose below; no box ticked: the in-app inbox only."
        ),
    )
    notify_channels = forms.MultipleChoiceField(
        label=_("notification channels"), choices=_channel_choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team_channels"].initial = self.instance.notify_channels is None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("team_channels"):
            cleaned["notify_channels"] = None
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserForm
    list_display = ("username", "display_name", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    search_fields = ("username", "display_name")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Sales organisation"), {"fields": ("display_name", "role", "team")}),
        (_("Notifications"), {"fields": ("language", "team_channels", "notify_channels", "wecom_userid", "mobile")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Sales organisation"), {"fields": ("display_name", "role", "team")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
    search_fields = ("user__username", "prefix")

    def has_add_permission(self, request):
        # A token's plain text can only be shown at creation: use the API or create_api_token.
        return False
