"""/api/v1/tasks: to-dos (待办) of the caller and, for supervisors, of their team."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from salestrace.core import clock
from salestrace.core.api import ERRORS, MAX_ID, BodyInt, IdPath, IsoDateTime, Pagination
from salestrace.todos.models import Task
from salestrace.todos.selectors import TaskFilters, task_get, task_list
from salestrace.todos.services import task_create, task_set_status

router = Router(tags=["tasks"])

StatusCode = Literal["open", "done", "cancelled"]
SourceCode = Literal["reminder", "follow_up", "next_step", "wake_up", "playbook", "manual"]


class TaskOut(Schema):
    id: int
    title: str
    detail: str
    assignee_id: int
    due_at: datetime
    due_uncertain: bool = Field(
        ...,
        description="The due date was counted in working days over dates no official holiday schedule covers yet "
        "(estimated); it is recounted when an admin enters the schedule.",
    )
    remind_at: datetime | None
    source: str
    status: str
    customer_id: int | None
    action_id: int | None
    rule_code: str
    link: str = Field(..., description="Where to do it: the prefilled action form or the customer page.")
    cc_ids: list[int]
    created_at: datetime
    completed_at: datetime | None
    resolution: str

    @staticmethod
    def resolve_cc_ids(obj: Task) -> list[int]:
        return [u.pk for u in obj.cc.all()]


class TaskIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    due_at: IsoDateTime = Field(..., description="No offset means Asia/Shanghai time.")
    detail: str = Field("", max_length=2000)
    assignee_id: BodyInt | None = Field(None, ge=1, le=MAX_ID, description="Default: yourself.")
    customer_id: BodyInt | None = Field(None, ge=1, le=MAX_ID)
    cc_ids: list[Annotated[BodyInt, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list, max_length=50)
    remind_before_hours: BodyInt | None = Field(
        None, ge=0, le=24 * 14, description="Remind this many hours before due (default SALESTRACE_TASK_REMIND_HOURS)."
    )

    model_config = {"extra": "forbid"}


class TaskPatch(Schema):
    status: StatusCode

    model_config = {"extra": "forbid"}


class TaskQuery(Schema):
    status: StatusCode | None = None
    source: SourceCode | None = None
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID)
    mine: bool = False


@router.get("/tasks", response={200: list[TaskOut], **ERRORS})
@paginate(Pagination)
def list_tasks(request: HttpRequest, filters: Query[TaskQuery]) -> Any:
    """Tasks you may see (yours, those you are CC'd on, your team's as supervisor), soonest due first."""
    return task_list(user=request.user, filters=TaskFilters(**filters.dict()))  # type: ignore[arg-type]


@router.post("/tasks", response={201: TaskOut, **ERRORS})
def create_task(request: HttpRequest, payload: TaskIn) -> tuple[int, Task]:
    """A task for yourself, or (supervisors and above) for someone in your scope, reminded before it is due."""
    task = task_create(
        user=request.user,  # type: ignore[arg-type]
        title=payload.title,
        due_at=payload.due_at,
        now=clock.now(),
        assignee_id=payload.assignee_id,
        customer_id=payload.customer_id,
        detail=payload.detail,
        cc_ids=payload.cc_ids,
        remind_before_hours=payload.remind_before_hours,
    )
    return 201, task


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS})
def get_task(request: HttpRequest, task_id: IdPath) -> Task:
    return task_get(user=request.user, task_id=task_id)  # type: ignore[arg-type]


@router.patch("/tasks/{task_id}", response={200: TaskOut, **ERRORS})
def patch_task(request: HttpRequest, task_id: IdPath, payload: TaskPatch) -> Task:
    """Mark a task done or cancelled, or open it again."""
    return task_set_status(user=request.user, task_id=task_id, status=payload.status, now=clock.now())  # type: ignore[arg-type]
