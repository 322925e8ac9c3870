from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin

from salestrace.catalog.admin import checked_condition
from salestrace.todos.models import CompanyDayOff, FollowUpRule, ReminderRun, Task

if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
    FollowUpRuleModelForm = forms.ModelForm[FollowUpRule]
else:
    ModelAdmin = admin.ModelAdmin
    FollowUpRuleModelForm = forms.ModelForm


@admin.register(Task)
class TaskAdmin(ModelAdmin):
    list_display = ("title", "assignee", "source", "status", "due_at", "remind_at", "reminded_at", "customer")
    list_filter = ("status", "source")
    search_fields = ("title", "assignee__username", "customer__name")
    raw_id_fields = ("assignee", "customer", "action", "created_by")
    filter_horizontal = ("cc",)
    date_hierarchy = "due_at"


class FollowUpRuleForm(FollowUpRuleModelForm):
    """The condition is checked with the same parser as the template packs."""

    class Meta:
        model = FollowUpRule
        fields = ("code", "condition", "due_working_days", "title_zh", "title_en", "is_active", "pack")

    def clean_condition(self) -> Any:
        return checked_condition(self.cleaned_data["condition"])


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(ModelAdmin):
    form = FollowUpRuleForm
    list_display = ("code", "title_zh", "due_working_days", "is_active", "pack")
    list_filter = ("is_active", "pack")
    list_editable = ("due_working_days", "is_active")


@admin.register(CompanyDayOff)
class CompanyDayOffAdmin(ModelAdmin):
    """Company days off on top of the official calendar: no daily reminder, not counted as working days."""

    list_display = ("date", "name")


@admin.register(ReminderRun)
class ReminderRunAdmin(ModelAdmin):
    list_display = ("local_date", "team", "ran_at", "reps", "messages")
    list_filter = ("local_date",)
    readonly_fields = ("team", "local_date", "ran_at", "reps", "messages")
