"""我的待办: the signed-in person's open tasks, and the ones done lately."""

from __future__ import annotations

from datetime import timedelta

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
from salestrace.notify.selectors import inbox_list
from salestrace.notify.services import inbox_mark_read
from salestrace.org.models import User
from salestrace.todos.models import Task
from salestrace.todos.selectors import TaskFilters, local_day_bounds, task_list
from salestrace.todos.services import task_set_status


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
