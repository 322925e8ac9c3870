"""我的待办: the signed-in person's open tasks, and the ones done lately."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salestrace.core import clock
from salestrace.core.errors import NotFound, PermissionDenied
from salestrace.core.xlsx import xlsx_response
from salestrace.notify.selectors import inbox_list
from salestrace.notify.services import inbox_mark_read
from salestrace.org.models import User
from salestrace.todos.models import Task
from salestrace.todos.selectors import TaskFilters, local_day_bounds, task_list
from salestrace.todos.services import task_set_status


def _tasks_xlsx(tasks: list[Task]) -> HttpResponse:
    """My open tasks and those done in the last 7 days, as the page lists them, for Excel."""
    headers = [_("Task"), _("Customer"), _("Due"), _("Status"), _("Source"), _("Completed")]
    zone = timezone.get_default_timezone()

    def local(at: datetime | None) -> datetime | None:
        return at.astimezone(zone).replace(tzinfo=None) if at else None

    rows = [
        [
            t.title,
            t.customer.name if t.customer else "",
            local(t.due_at),
            t.get_status_display(),
            t.get_source_display(),
            local(t.completed_at),
        ]
        for t in tasks
    ]
    return xlsx_response(
        "my-tasks.xlsx", str(_("My tasks")), headers, rows, formats={2: "yyyy-mm-dd hh:mm", 5: "yyyy-mm-dd hh:mm"}
    )


@login_required
@require_GET
def my_tasks_page(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    now = clock.now()
    _start, end_of_today = local_day_bounds(timezone.localtime(now).date())
    open_tasks = list(task_list(user=user, filters=TaskFilters(status=Task.Status.OPEN, mine=True))[:200])
    done = list(
        task_list(user=user, filters=TaskFilters(status=Task.Status.DONE, mine=True))
        .filter(completed_at__gte=now - timedelta(days=7))
        .order_by("-completed_at")[:20]
    )
    cc = list(task_list(user=user, filters=TaskFilters(status=Task.Status.OPEN)).filter(cc=user)[:50])
    if request.GET.get("format") == "xlsx":
        return _tasks_xlsx(open_tasks + done)
    inbox = list(inbox_list(user=user)[:10])
    context = {
        "overdue": [t for t in open_tasks if t.due_at < now],
        "today": [t for t in open_tasks if now <= t.due_at < end_of_today],
        "later": [t for t in open_tasks if t.due_at >= end_of_today],
        "done": done,
        "cc": cc,
        "inbox": inbox,
    }
    response = render(request, "todos/my_tasks.html", context)
    # Shown once as new (the page above still marks them); read from the next visit on.
    inbox_mark_read(user_id=user.pk, message_ids=[m.pk for m in inbox if not m.read_at], now=now)
    return response


@login_required
@require_POST
def task_status_action(request: HttpRequest, task_id: int) -> HttpResponse:
    status = request.POST.get("status", "")
    if status not in Task.Status.values:
        status = Task.Status.DONE
    try:
        task_set_status(user=request.user, task_id=task_id, status=status, now=clock.now())  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied from exc
    messages.success(request, _("Task updated."))
    return redirect("todos:my_tasks")
