"""The writers of field execution: route plans and check-ins (check-outs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salestrace.actions.evidence_services import Upload, evidence_upload
from salestrace.actions.models import Evidence
from salestrace.catalog.selectors import threshold_values
from salestrace.core.errors import Conflict, FieldError, NotFound, PermissionDenied, RuleViolation
from salestrace.customers.selectors import customer_get
from salestrace.customers.services import coordinate_errors, coordinates_rounded
from salestrace.field import compute
from salestrace.field.models import CheckIn, RouteStop
from salestrace.field.selectors import (
    checkin_radius_m,
    field_rep_get,
    field_reps,
    plannable_store_ids,
    plannable_stores,
    same_spot_elsewhere,
)
from salestrace.org.models import User
from salestrace.org.selectors import can_import, can_log_actions, is_manager

# A fix vaguer than this (metres) is no position at all.
MAX_ACCURACY_M = 1_000_000
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)


def _refuse_unless_planner(user: User) -> None:
    if not is_manager(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only supervisors plan routes."))])


def _plan_errors(problems: Sequence[compute.PlanProblem], names: dict[int, str]) -> list[FieldError]:
    errors = []
    for problem in problems:
        name = names.get(problem.customer_id or 0, f"#{problem.customer_id}")
        if problem.code == "too_many":
            message = _("A day's route has at most %(count)d stores.") % {"count": compute.MAX_STOPS}
        elif problem.code == "repeated":
            message = _("%(store)s is on the route twice.") % {"store": name}
        else:
            message = _("Store #%(id)s is not one this rep may visit.") % {"id": problem.customer_id}
        errors.append(FieldError("customer_ids", problem.code, message))
    return errors


@transaction.atomic
def route_plan_set(
    *,
    by: User,
    rep_id: int,
    day: date,
    customer_ids: Sequence[int],
    now: datetime,
    source: str = RouteStop.Source.PLANNED,
) -> list[RouteStop]:
    """Replace a rep's route for a day (today or later) with these stores, in this order.

    Supervisors plan for the reps in their teams; each store must be one the rep may log actions
    on. An empty list clears the day.
    """
    _refuse_unless_planner(by)
    rep = field_rep_get(user=by, rep_id=rep_id)
    if day < timezone.localtime(now).date():
        raise RuleViolation([FieldError("day", "past", _("A past day's route is history: plan today or later."))])
    allowed = dict(plannable_stores(rep).filter(pk__in=list(customer_ids)).values_list("pk", "name"))
    check = compute.check_plan(list(customer_ids), allowed=allowed.keys())
    if check:
        raise RuleViolation(_plan_errors(check.problems, allowed))
    RouteStop.objects.filter(rep=rep, day=day).delete()
    stops = [
        RouteStop(rep=rep, day=day, customer_id=c, position=n, source=source, planned_by=by, created_at=now)
        for n, c in enumerate(customer_ids, start=1)
    ]
    RouteStop.objects.bulk_create(stops)
    return stops


@transaction.atomic
def route_plan_copy_week(*, by: User, from_monday: date, to_monday: date, now: datetime) -> int:
    """Copy each rep's routes of one week into another (the weekly pattern), for the reps `by` plans
    for: days already planned, and past days, are left alone; stores no longer the rep's are dropped.
    Returns the stops written."""
    _refuse_unless_planner(by)
    if from_monday.weekday() != 0 or to_monday.weekday() != 0:
        raise RuleViolation([FieldError("from_monday", "not_monday", _("Weeks are copied Monday to Monday."))])
    if from_monday == to_monday:
        raise RuleViolation([FieldError("to_monday", "same_week", _("Choose another week to copy into."))])
    today = timezone.localtime(now).date()
    shift = to_monday - from_monday
    reps = {r.pk: r for r in field_reps(by)}
    source = list(
        RouteStop.objects.filter(
            rep_id__in=reps, day__gte=from_monday, day__lt=from_monday + timedelta(days=7)
        ).order_by("rep_id", "day", "position")
    )
    taken = set(
        RouteStop.objects.filter(rep_id__in=reps, day__gte=to_monday, day__lt=to_monday + timedelta(days=7))
        .values_list("rep_id", "day")
        .distinct()
    )
    allowed = plannable_store_ids(list(reps.values()))
    new = [
        RouteStop(
            rep_id=stop.rep_id,
            day=stop.day + shift,
            customer_id=stop.customer_id,
            position=stop.position,
            source=RouteStop.Source.COPIED,
            planned_by=by,
            created_at=now,
        )
        for stop in source
        if stop.day + shift >= today
        and (stop.rep_id, stop.day + shift) not in taken
        and stop.customer_id in allowed[stop.rep_id]
    ]
    RouteStop.objects.bulk_create(new)
    return len(new)


def _coordinates(
    latitude: Decimal | None, longitude: Decimal | None, accuracy_m: int | None
) -> tuple[Decimal | None, Decimal | None]:
    errors = coordinate_errors(latitude, longitude)
    if accuracy_m is not None and not 0 <= accuracy_m <= MAX_ACCURACY_M:
        errors.append(FieldError("accuracy_m", "out_of_range", _("The accuracy is a distance in metres.")))
    if errors:
        raise RuleViolation(errors)
    return coordinates_rounded(latitude, longitude)


def _check_time(occurred_at: datetime, now: datetime, thresholds: dict[str, Decimal]) -> None:
    if occurred_at > now + CLOCK_SKEW:
        raise RuleViolation([FieldError("occurred_at", "future", _("A check-in cannot be in the future."))])
    days = int(thresholds.get("action_backdate_days", 30))
    if occurred_at < now - timedelta(days=days):
        message = _("A check-in may be at most %(days)d days old.") % {"days": days}
        raise RuleViolation([FieldError("occurred_at", "too_old", message)])


def check_in(
    *,
    rep: User,
    customer_id: int,
    now: datetime,
    occurred_at: datetime | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    accuracy_m: int | None = None,
    photo: Upload | None = None,
    key: str | None = None,
) -> tuple[CheckIn, bool]:
    """Check in at a store: the distance to it, the flags, an optional stamped photo.

    `occurred_at` is the phone's time (a check-in queued offline keeps it); `key` makes a retry or
    a re-sync the same check-in: (check_in, created) with created False for a replay.
    The photo is kept (not swept) so that the visit can be logged with it afterwards.
    """
    if not can_log_actions(rep):
        raise PermissionDenied([FieldError(None, "forbidden", _("Your role may not log sales actions."))])
    if key and (earlier := CheckIn.objects.filter(rep=rep, key=key).first()) is not None:
        if earlier.customer_id != customer_id:
            raise Conflict([FieldError(None, "key_reused", _("This Idempotency-Key was used for another store."))])
        return earlier, False
    customer = customer_get(user=rep, customer_id=customer_id, for_write=True)
    thresholds = threshold_values()
    at = occurred_at or now
    _check_time(at, now, thresholds)
    lat, lng = _coordinates(latitude, longitude, accuracy_m)
    evidence: Evidence | None = None
    if photo is not None:
        evidence = evidence_upload(
            user=rep,
            customer_id=customer.pk,
            kind=Evidence.Kind.PHOTO,
            upload=photo,
            now=now,
            latitude=lat,
            longitude=lng,
            kept=True,
        )
    judged = compute.judge_check_in(
        at=compute.Point.of(lat, lng),
        store=compute.Point.of(customer.latitude, customer.longitude),
        radius_m=checkin_radius_m(thresholds),
        accuracy_m=accuracy_m,
        same_spot_elsewhere=lat is not None
        and lng is not None
        and same_spot_elsewhere(latitude=lat, longitude=lng, customer_id=customer.pk, now=now),
        sync_delay_s=(now - at).total_seconds(),
    )
    try:
        with transaction.atomic():
            made = CheckIn.objects.create(
                rep=rep,
                customer=customer,
                key=key or "",
                occurred_at=at,
                received_at=now,
                latitude=lat,
                longitude=lng,
                accuracy_m=accuracy_m,
                distance_m=judged.distance_m,
                flags=list(judged.flags),
                photo=evidence,
            )
    except IntegrityError:
        # The same key raced in from a second tab or a re-sync: that one stands, and this photo
        # goes back to the unattached sweep instead of being kept with nothing pointing to it.
        earlier = CheckIn.objects.filter(rep=rep, key=key).first()
        if earlier is None:
            raise
        if evidence is not None:
            Evidence.objects.filter(pk=evidence.pk).update(kept=False)
        return earlier, False
    return made, True


@transaction.atomic
def check_out(
    *,
    rep: User,
    check_in_id: int,
    now: datetime,
    occurred_at: datetime | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> CheckIn:
    """Check out of a store the rep checked in at; a second check-out changes nothing."""
    made = CheckIn.objects.select_for_update().select_related("customer").filter(pk=check_in_id, rep=rep).first()
    if made is None:
        raise NotFound([FieldError(None, "not_found", _("Check-in not found."))])
    if made.checked_out_at is not None:
        return made
    at = occurred_at or now
    _check_time(at, now, threshold_values())
    if at < made.occurred_at:
        raise RuleViolation([FieldError("occurred_at", "before_check_in", _("A check-out comes after the check-in."))])
    lat, lng = _coordinates(latitude, longitude, None)
    made.checked_out_at = at
    made.out_latitude, made.out_longitude = lat, lng
    store = compute.Point.of(made.customer.latitude, made.customer.longitude)
    here = compute.Point.of(lat, lng)
    made.out_distance_m = round(compute.distance_m(here, store)) if here and store else None
    made.save(update_fields=["checked_out_at", "out_latitude", "out_longitude", "out_distance_m"])
    return made


@transaction.atomic
def route_plans_import(*, user: User, plans: dict[tuple[int, date], list[int]], now: datetime) -> int:
    """Routes from a file (the import wizard; admins and assistants): each (rep, day) named is
    replaced by the file's stores in order, past days included (history brought in). The caller
    checked each store is one the rep may visit. Returns the stops written."""
    if not can_import(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins and assistants may import data."))])
    stops = []
    for (rep_id, day), customer_ids in plans.items():
        RouteStop.objects.filter(rep_id=rep_id, day=day).delete()
        stops += [
            RouteStop(
                rep_id=rep_id,
                day=day,
                customer_id=c,
                position=n,
                source=RouteStop.Source.IMPORTED,
                planned_by=user,
                created_at=now,
            )
            for n, c in enumerate(dict.fromkeys(customer_ids), start=1)
        ]
    RouteStop.objects.bulk_create(stops, batch_size=2000)
    return len(stops)
