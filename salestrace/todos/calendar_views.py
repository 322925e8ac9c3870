"""设置 · 日历: the official days off and adjusted working days (调休) by year, whether each year is
confirmed against the State Council's notice, a draft from the holidays package, a CSV upload, and the
company's own days off. Reminders and follow-up due dates count working days on this calendar."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from salestrace.catalog.views import settings_user
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.todos.models import CompanyDayOff, OfficialDay, OfficialYear
from salestrace.todos.services import (
    calendar_confirm,
    calendar_draft,
    calendar_upload,
    company_day_off_set,
    official_day_remove,
    official_day_set,
)

MAX_CSV_BYTES = 64 * 1024


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _year(text: str) -> int:
    """A year from the form; 0 (which no schedule has) for anything else."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) == 4 else 0


@login_required
@require_http_methods(["GET", "POST"])
def calendar_page(request: HttpRequest) -> HttpResponse:
    user = settings_user(request)
    today = timezone.localdate(clock.now())
    errors: dict[str, str] = {}
    if request.method == "POST":
        post, now, what = request.POST, clock.now(), request.POST.get("do", "")
        try:
            if what == "upload":
                upload = request.FILES.get("file")
                if upload is None or upload.size is None or upload.size > MAX_CSV_BYTES:
                    errors = {"file": _("Choose a CSV file (at most 64 KB).")}
                else:
                    try:
                        text = upload.read().decode("utf-8-sig")
                    except UnicodeDecodeError:
                        errors = {"file": _("Save the file as UTF-8.")}
                    else:
                        loaded = calendar_upload(user=user, text=text, source=upload.name or "", now=now)
                        messages.success(request, _("Loaded: %(years)s.") % {"years": ", ".join(map(str, loaded))})
            elif what == "draft":
                calendar_draft(user=user, year=_year(post.get("year", "")), now=now)
                messages.success(request, _("Draft made: add the adjusted working days from the notice, then confirm."))
            elif what == "confirm":
                calendar_confirm(user=user, year=_year(post.get("year", "")), now=now)
                messages.success(request, _("Saved."))
            elif what in {"official", "official_remove", "company", "company_remove"}:
                day = _day(post.get("date", ""))
                if day is None:
                    errors = {f"{what.split('_')[0]}:date": _("Enter a date (YYYY-MM-DD).")}
                elif what == "official":
                    official_day_set(user=user, day=day, kind=post.get("kind", ""), name=post.get("name", ""), now=now)
                elif what == "official_remove":
                    official_day_remove(user=user, day=day, now=now)
                else:
                    company_day_off_set(
                        user=user, day=day, name=post.get("name", ""), remove=what == "company_remove", now=now
                    )
        except DomainError as exc:
            for e in exc.errors:  # a file's problems all belong to it: every row is said
                errors[e.field or ""] = " ".join(filter(None, [errors.get(e.field or ""), str(e.message)]))
        if not errors:
            if what in {"official", "official_remove", "company", "company_remove"}:
                messages.success(request, _("Saved."))
            return redirect("todos:calendar")
    schedules = {s.year: s for s in OfficialYear.objects.all()}
    years: list[dict[str, object]] = []
    for year in (today.year, today.year + 1):
        schedule = schedules.get(year)
        days = list(OfficialDay.objects.filter(date__year=year).order_by("date"))
        years.append({"year": year, "schedule": schedule, "days": days})
    context = {
        "years": years,
        "company": CompanyDayOff.objects.filter(date__gte=date(today.year, 1, 1)).order_by("date"),
        "kinds": OfficialDay.Kind.choices,
        "errors": errors,
        "error_text": " ".join(errors.values()),
    }
    return render(request, "todos/settings_calendar.html", context, status=422 if errors else 200)
