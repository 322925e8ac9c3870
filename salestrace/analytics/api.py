from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from salestrace.analytics.selectors import vitality_dashboard
from salestrace.core import clock
from salestrace.core.api import ERRORS
from salestrace.core.errors import FieldError, PermissionDenied
from salestrace.org.models import User
from salestrace.org.selectors import can_see_dashboards

router = Router(tags=["analytics"])


def require_dashboard(user: User) -> None:
    """Dashboards are for supervisors and above; everyone else is told so."""
    if not can_see_dashboards(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Dashboards are for supervisors and directors."))])


class Counts(Schema):
    green: int
    yellow: int
    orange: int
    red: int
    total: int


class BandsOut(Schema):
    green_days: int
    yellow_days: int
    orange_days: int


class VitalityRowOut(Schema):
    key: str
    label: str
    counts: Counts


class WeekOut(Schema):
    week_start: date
    counts: Counts


class VitalityOut(Schema):
    group: str
    bands: BandsOut
    totals: Counts
    rows: list[VitalityRowOut]
    weekly: list[WeekOut]


class VitalityQuery(Schema):
    group: Literal["rep", "team", "stage"] = "rep"
    weeks: int = Field(8, ge=1, le=26)


def _counts(values: dict[str, int]) -> Counts:
    return Counts(**values, total=sum(values.values()))


@router.get("/analytics/vitality", response={200: VitalityOut, **ERRORS})
def vitality(request: HttpRequest, query: Query[VitalityQuery]) -> Any:
    """线索活力: open customers in your scope by vitality colour, per rep, team or stage, and week by week."""
    user: User = request.user  # type: ignore[assignment]
    require_dashboard(user)
    board = vitality_dashboard(user=user, group=query.group, now=clock.now(), weeks=query.weeks)
    bands = board.bands
    return VitalityOut(
        group=board.group,
        bands=BandsOut(green_days=bands.green_days, yellow_days=bands.yellow_days, orange_days=bands.orange_days),
        totals=_counts(board.totals),
        rows=[VitalityRowOut(key=r.key, label=r.label, counts=_counts(r.counts)) for r in board.rows],
        weekly=[WeekOut(week_start=start, counts=_counts(counts)) for start, counts in board.weekly],
    )
