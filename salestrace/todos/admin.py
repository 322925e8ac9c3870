from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.admin import ReadOnlyHere
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.todos.compute import schedule_problem_text
from salestrace.todos.models import CompanyDayOff, FollowUpRule, OfficialDay, OfficialYear, ReminderRun, Task
from salestrace.todos.services import follow_ups_recount, official_year_draft, official_year_load
from salestrace.todos.workdays import parse_schedule_csv

if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
    TabularInline = admin.TabularInline[Any, Any]
    DayFormSet = forms.BaseInlineFormSet[OfficialDay, OfficialYear, Any]
else:
    ModelAdmin = admin.ModelAdmin
    TabularInline = admin.TabularInline
    DayFormSet = forms.BaseInlineFormSet


@admin.register(Task)
class TaskAdmin(ModelAdmin):
    list_display = (
        "title",
        "assignee",
        "source",
        "status",
        "due_at",
        "due_uncertain",
        "remind_at",
        "reminded_at",
        "customer",
    )
    list_filter = ("status", "source", "due_uncertain")
    search_fields = ("title", "assignee__username", "customer__name")
    raw_id_fields = ("assignee", "customer", "action", "created_by")
    filter_horizontal = ("cc",)
    date_hierarchy = "due_at"


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(ReadOnlyHere, ModelAdmin):
    """Made and changed in Settings › Follow-ups (dropdowns, history, rollback); here only shown."""

    list_display = ("code", "title_zh", "due_working_days", "is_active", "pack")
    list_filter = ("is_active", "pack")


@admin.register(CompanyDayOff)
class CompanyDayOffAdmin(ModelAdmin):
    """Company days off on top of the official calendar: no daily reminder, not counted as working days."""

    list_display = ("date", "name")


class OfficialDayFormSet(DayFormSet):
    """Every day belongs to the schedule's year."""

    def clean(self) -> None:
        super().clean()
        year = self.instance.year
        for form in self.forms:
            day = form.cleaned_data.get("date") if hasattr(form, "cleaned_data") else None
            if day is not None and not form.cleaned_data.get("DELETE") and day.year != year:
                form.add_error("date", _("This day is not in %(year)s.") % {"year": year})


class OfficialDayInline(TabularInline):
    model = OfficialDay
    formset = OfficialDayFormSet
    fields = ("date", "kind", "name")
    extra = 3


class ScheduleUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_('UTF-8, header "date,kind,name"; kind is off or work.'))
    confirmed = forms.BooleanField(
        label=_("This is the complete official schedule of the year"), required=False, initial=True
    )
    source = forms.CharField(label=_("source"), max_length=200, required=False)


class ScheduleDraftForm(forms.Form):
    year = forms.IntegerField(label=_("year"), min_value=2000, max_value=2100)


@admin.register(OfficialYear)
class OfficialYearAdmin(ModelAdmin):
    """The official holiday schedule per year: days off and adjusted working days (调休), which the
    working-day calendar uses before the shipped packages; a CSV upload and a draft from `holidays`."""

    list_display = ("year", "confirmed", "days_off", "working_days", "source", "updated_at")
    list_filter = ("confirmed",)
    fields = ("year", "confirmed", "source")
    inlines = (OfficialDayInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OfficialYear]:
        # The two counts of the list in the same query, not two more per year shown.
        return (
            super()
            .get_queryset(request)
            .annotate(
                off_count=Count("days", filter=Q(days__kind=OfficialDay.Kind.OFF)),
                work_count=Count("days", filter=Q(days__kind=OfficialDay.Kind.WORK)),
            )
        )

    @admin.display(description=_("days off"))
    def days_off(self, obj: OfficialYear) -> int:
        return int(obj.off_count)  # type: ignore[attr-defined]  # annotated in get_queryset

    @admin.display(description=_("adjusted working days"))
    def working_days(self, obj: OfficialYear) -> int:
        return int(obj.work_count)  # type: ignore[attr-defined]  # annotated in get_queryset

    def save_model(self, request: HttpRequest, obj: OfficialYear, form: Any, change: bool) -> None:
        obj.updated_at = clock.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        follow_ups_recount(now=clock.now(), years=[form.instance.year])

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="todos_officialyear_upload"),
            path("draft/", self.admin_site.admin_view(self.draft_view), name="todos_officialyear_draft"),
        ]
        return own + super().get_urls()

    def _page(self, request: HttpRequest, form: forms.Form, title: str, intro: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "intro": intro,
            "form": form,
        }
        return TemplateResponse(request, "admin/todos/officialyear/form.html", context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = ScheduleUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read(200_000).decode("utf-8-sig")
            except UnicodeDecodeError:
                text = None
                form.add_error("file", _("The file is not UTF-8 text."))
            if text is not None:
                years, problems = parse_schedule_csv(
                    text,
                    confirmed=form.cleaned_data["confirmed"],
                    source=form.cleaned_data["source"] or form.cleaned_data["file"].name,
                )
                for p in problems[:20]:
                    form.add_error(
                        "file", ValidationError(schedule_problem_text(line=p.line, code=p.code, detail=p.detail))
                    )
                if not problems:
                    now = clock.now()
                    for year in years:
                        official_year_load(year=year, now=now)
                    messages.success(
                        request,
                        _("Loaded the schedule of %(years)s.") % {"years": ", ".join(str(y.year) for y in years)},
                    )
                    return HttpResponseRedirect(reverse("admin:todos_officialyear_changelist"))
        return self._page(
            request,
            form,
            str(_("Upload a CSV schedule")),
            str(
                _(
                    "One row per day: date (YYYY-MM-DD), kind (off = day off, work = adjusted working day), name. "
                    "Each year in the file replaces that year's days."
                )
            ),
        )

    def draft_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = ScheduleDraftForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                schedule = official_year_draft(year=form.cleaned_data["year"], now=clock.now())
            except DomainError as exc:
                for error in exc.errors:
                    form.add_error("year", str(error.message))
            else:
                messages.warning(
                    request,
                    _(
                        "Proposed %(year)s from the holidays package: the statutory days off only. Add the "
                        "adjusted working days (调休) and extra days off from the official notice, then tick "
                        "“confirmed”."
                    )
                    % {"year": schedule.year},
                )
                return HttpResponseRedirect(reverse("admin:todos_officialyear_change", args=[schedule.pk]))
        return self._page(
            request,
            form,
            str(_("Propose a year from the holidays package")),
            str(
                _(
                    "Prefills the statutory days off (and the package's guessed substitute days) of a year. "
                    "It does not include the adjusted working days (调休): the year stays unconfirmed until "
                    "you complete it from the official notice."
                )
            ),
        )


@admin.register(ReminderRun)
class ReminderRunAdmin(ModelAdmin):
    list_display = ("local_date", "team", "ran_at", "reps", "messages")
    list_filter = ("local_date",)
    readonly_fields = ("team", "local_date", "ran_at", "reps", "messages")
