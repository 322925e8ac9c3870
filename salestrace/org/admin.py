from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from salestrace.core import clock
from salestrace.org.models import ApiToken, Channel, Team, User
from salestrace.org.services import api_token_revoke


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent")
    list_filter = ("kind",)
    search_fields = ("name",)


def _channel_choices() -> list[tuple[str, Any]]:
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
    """Who holds which tokens and when each was last used; revoke is the only change. Neither the
    token nor its hash is ever shown (the hash would let anyone test guesses offline)."""

    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("user__username", "prefix", "name")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's plain text can only be shown at creation: use the API, the page or create_api_token.
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # Revoked, not deleted: the row keeps who had access and until when.
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("org.change_apitoken")

    @admin.action(description=_("Revoke selected tokens"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        now = clock.now()
        revoked = sum(api_token_revoke(token=token, now=now) for token in queryset)
        message = ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", revoked) % {"count": revoked}
        self.message_user(request, message, messages.SUCCESS)
