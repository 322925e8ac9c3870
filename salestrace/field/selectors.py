"""Reads for field execution: routes, check-ins, and planned vs visited vs logged per rep and day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from salestrace.actions.models import ActionLog
from salestrace.core.errors import FieldError, NotFound
from salestrace.customers.models import Customer
from salestrace.field import compute
from salestrace.field.models import CheckIn, RouteStop
from salestrace.notify.transports import Line
from salestrace.org.models import Role, User
from salestrace.org.selectors import assignable_users, customer_scope, team_subtree_ids
from salestrace.todos.selectors import absolute, local_day_bounds

# The contact methods that count as a store visit being logged.
VISIT_METHODS = ("visit",)
# How far back an identical location at another store counts as suspicious.
SAME_SPOT_WINDOW = timedelta(days=90)
DEFAULT_RADIUS_M = 300
# The longest span a compliance report covers (a quarter): the page and the API hold to it.
REPORT_DAYS_MAX = 92


def checkin_radius_m(thresholds: dict[str, Decimal]) -> int:
    """The template's `field_checkin_radius_meters` (300 m when a template has none)."""
    return int(thresholds.get("field_checkin_radius_meters", DEFAULT_RADIUS_M))


def field_reps(user: User) -> QuerySet[User]:
    """The reps whose routes `user` may plan and whose field figures they may see (their own for a rep)."""
    if user.role == Role.REP:
        return User.objects.filter(pk=user.pk, is_active=True)
    return User.objects.filter(assignable_users(user), role=Role.REP)


def field_rep_get(*, user: User, rep_id: int) -> User:
    """One rep `user` may plan for, or NotFound."""
    rep = field_reps(user).filter(pk=rep_id).first()
    if rep is None:
        raise NotFound([FieldError("rep_id", "not_found", _("No such rep in your team."))])
    return rep


def plannable_stores(rep: User) -> QuerySet[Customer]:
    """The customers a route of `rep` may include: those the rep may log actions on, not lost."""
    return (
        Customer.objects.filter(customer_scope(rep, for_write=True))
        .exclude(status=Customer.Status.LOST)
        .order_by("name", "pk")
    )


def plannable_store_ids(reps: Sequence[User]) -> dict[int, set[int]]:
    """`plannable_stores` of many reps (role rep, as `field_reps` gives) at once, one query: for a rep,
    customer_scope(for_write) is the customers they own; lost ones are left out as there."""
    if any(rep.role != Role.REP for rep in reps):
        raise ValueError("plannable_store_ids is for reps; use plannable_stores for other roles")
    allowed: dict[int, set[int]] = {rep.pk: set() for rep in reps}
    for owner_id, pk in (
        Customer.objects.filter(owner_id__in=list(allowed))
        .exclude(status=Customer.Status.LOST)
        .values_list("owner_id", "pk")
    ):
        allowed[owner_id].add(pk)
    return allowed


def route_of(*, rep_id: int, day: date) -> list[RouteStop]:
    """A rep's route for a day, in order, with the stores."""
    return list(RouteStop.objects.filter(rep_id=rep_id, day=day).select_related("customer").order_by("position", "pk"))


def check_ins_on(*, rep_ids: Iterable[int], day: date) -> QuerySet[CheckIn]:
    """Check-ins made on a local day by these reps, oldest first, with stores and reps."""
    start, end = local_day_bounds(day)
    return (
        CheckIn.objects.filter(rep_id__in=list(rep_ids), occurred_at__gte=start, occurred_at__lt=end)
        .select_related("customer", "rep")
        .order_by("occurred_at", "pk")
    )


def check_in_get(*, user: User, check_in_id: int) -> CheckIn:
    """A check-in its rep made, or one of a rep in `user`'s scope; NotFound otherwise."""
    check_in = (
        CheckIn.objects.filter(pk=check_in_id, rep__in=field_reps(user)).select_related("customer", "rep").first()
    )
    if check_in is None:
        raise NotFound([FieldError(None, "not_found", _("Check-in not found."))])
    return check_in


def same_spot_elsewhere(*, latitude: Decimal, longitude: Decimal, customer_id: int, now: datetime) -> bool:
    """Whether any check-in at another store in the last 90 days reported exactly this location.

    Real GPS fixes jitter in the last decimals; a fake-location app repeats them to the digit.
    """
    return (
        CheckIn.objects.filter(latitude=latitude, longitude=longitude, occurred_at__gte=now - SAME_SPOT_WINDOW)
        .exclude(customer_id=customer_id)
        .exists()
    )


@dataclass(frozen=True)
class FieldFacts:
    """What happened on some days for some reps, keyed by (rep, day)."""

    plans: dict[tuple[int, date], list[int]]
    visits: dict[tuple[int, date], set[int]]
    logs: dict[tuple[int, date], set[int]]

    def rep_days(self, rep_ids: Sequence[int], days: Sequence[date]) -> list[tuple[date, compute.RepDay]]:
        """Every (day, RepDay) of these reps and days that had a plan or a visit."""
        out = []
        for day in days:
            for rep_id in rep_ids:
                key = (rep_id, day)
                if key in self.plans or key in self.visits:
                    out.append(
                        (
                            day,
                            compute.RepDay(
                                rep_id,
                                tuple(self.plans.get(key, ())),
                                frozenset(self.visits.get(key, ())),
                                frozenset(self.logs.get(key, ())),
                            ),
                        )
                    )
        return out


def field_facts(*, rep_ids: Sequence[int], first: date, last: date) -> FieldFacts:
    """Plans, check-ins and logged visits of these reps on local days first..last.

    One query for the plans, then two per day, each asking only for distinct (rep, store) pairs
    within the day's bounds: no timestamps cross into Python (converting them was most of the
    time), and the (rep, occurred_at) indexes answer each.
    """
    plans: dict[tuple[int, date], list[int]] = defaultdict(list)
    for rep_id, day, customer_id in (
        RouteStop.objects.filter(rep_id__in=rep_ids, day__gte=first, day__lte=last)
        .order_by("rep_id", "day", "position", "pk")
        .values_list("rep_id", "day", "customer_id")
    ):
        plans[(rep_id, day)].append(customer_id)
    visits: dict[tuple[int, date], set[int]] = defaultdict(set)
    logs: dict[tuple[int, date], set[int]] = defaultdict(set)
    day = first
    while day <= last:
        start, end = local_day_bounds(day)
        for rep_id, customer_id in (
            CheckIn.objects.filter(rep_id__in=rep_ids, occurred_at__gte=start, occurred_at__lt=end)
            .values_list("rep_id", "customer_id")
            .distinct()
        ):
            visits[(rep_id, day)].add(customer_id)
        for rep_id, customer_id in (
            ActionLog.objects.filter(
                rep_id__in=rep_ids, occurred_at__gte=start, occurred_at__lt=end, contact_method__in=VISIT_METHODS
            )
            .values_list("rep_id", "customer_id")
            .distinct()
        ):
            logs[(rep_id, day)].add(customer_id)
        day += timedelta(days=1)
    return FieldFacts(dict(plans), dict(visits), dict(logs))


@dataclass(frozen=True)
class Store:
    pk: int
    name: str


@dataclass(frozen=True)
class RepCompliance:
    rep: User
    figures: compute.Compliance
    not_visited: list[tuple[date, Store]]
    not_logged: list[tuple[date, Store]]


@dataclass(frozen=True)
class ComplianceReport:
    first: date
    last: date
    team: compute.Compliance
    reps: list[RepCompliance]
    by_day: list[tuple[date, compute.Compliance]]  # the reps together, day by day (the trend)


def compliance_report(*, user: User, first: date, last: date, team_id: int | None = None) -> ComplianceReport:
    """Visit compliance of the reps `user` may see (optionally one team's subtree) over local days
    first..last: per rep and in total, with the stores behind each missing figure."""
    reps_qs = field_reps(user)
    if team_id is not None:
        reps_qs = reps_qs.filter(team_id__in=team_subtree_ids(team_id))
    reps = list(reps_qs.order_by("team_id", "username"))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    facts = field_facts(rep_ids=[r.pk for r in reps], first=first, last=last)
    per_rep: dict[int, list[tuple[date, compute.RepDay]]] = defaultdict(list)
    for day, rep_day in facts.rep_days([r.pk for r in reps], days):
        per_rep[rep_day.rep_id].append((day, rep_day))
    wanted = {
        c for listed in per_rep.values() for _day, rd in listed for c in (*rd.not_visited, *rd.visited_not_logged)
    }
    stores = {pk: Store(pk, name) for pk, name in Customer.objects.filter(pk__in=wanted).values_list("pk", "name")}
    rows = []
    for rep in reps:
        listed = per_rep.get(rep.pk, [])
        rows.append(
            RepCompliance(
                rep,
                compute.compliance(rd for _day, rd in listed),
                [(day, stores[c]) for day, rd in listed for c in rd.not_visited if c in stores],
                [(day, stores[c]) for day, rd in listed for c in rd.visited_not_logged if c in stores],
            )
        )
    team = compute.combined(row.figures for row in rows)
    on_day: dict[date, list[compute.RepDay]] = defaultdict(list)
    for listed in per_rep.values():
        for day, rd in listed:
            on_day[day].append(rd)
    by_day = [(day, compute.compliance(on_day[day])) for day in days]
    return ComplianceReport(first, last, team, rows, by_day)


def flagged_check_ins(*, user: User, first: date, last: date, limit: int = 200) -> list[CheckIn]:
    """Check-ins with a flag by reps in `user`'s scope over local days first..last, newest first."""
    start, _end = local_day_bounds(first)
    _start, end = local_day_bounds(last)
    return list(
        CheckIn.objects.filter(rep__in=field_reps(user), occurred_at__gte=start, occurred_at__lt=end)
        .exclude(flags=[])
        .select_related("customer", "rep")
        .order_by("-occurred_at")[:limit]
    )


def check_in_action_link(check_in: CheckIn) -> str:
    """The visit form prefilled from a check-in: its time, and its photo when it has one."""
    local = timezone.localtime(check_in.occurred_at).strftime("%Y-%m-%dT%H:%M")
    query = f"contact_method=visit&occurred_at={local}"
    if check_in.photo_id:
        query += f"&kept={check_in.photo_id}"
    return reverse("actions:new", args=[check_in.customer_id]) + "?" + query


# --- the 18:00 message (registered with todos.jobs.DAILY_LINE_PROVIDERS) ------------------------


def daily_field_lines(rep_ids: list[int], day: date) -> Callable[[int], list[Line]]:
    """Each rep's field lines for the day's reminder: planned stores not visited, visits not logged.

    Reads once for all the reps; the returned function renders one rep's lines in the language
    active when it is called.
    """
    facts = field_facts(rep_ids=rep_ids, first=day, last=day)
    days = {rd.rep_id: rd for _day, rd in facts.rep_days(rep_ids, [day])}
    wanted = {c for rd in days.values() for c in (*rd.not_visited, *rd.visited_not_logged)}
    names = dict(Customer.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    unlogged = {c for rd in days.values() for c in rd.visited_not_logged}
    start, end = local_day_bounds(day)
    # Each unlogged visit links to the form prefilled from its (latest) check-in: time and photo.
    forms = {
        (made.rep_id, made.customer_id): absolute(check_in_action_link(made))
        for made in CheckIn.objects.filter(
            rep_id__in=rep_ids, customer_id__in=unlogged, occurred_at__gte=start, occurred_at__lt=end
        )
        .only("rep_id", "customer_id", "occurred_at", "photo_id")
        .order_by("occurred_at", "pk")
    }
    route = absolute(reverse("field:route"))

    def lines(rep_id: int) -> list[Line]:
        rep_day = days.get(rep_id)
        if rep_day is None:
            return []
        out = [
            Line(_("Planned store not visited: %(store)s") % {"store": names.get(c, "—")}, route)
            for c in rep_day.not_visited
        ]
        out += [
            Line(
                _("Checked in but no visit logged: %(store)s") % {"store": names.get(c, "—")},
                forms.get((rep_id, c), route),
            )
            for c in rep_day.visited_not_logged
        ]
        return out

    return lines


def own_check_ins(*, rep: User, day: date) -> dict[int, CheckIn]:
    """The rep's latest check-in per store on a day."""
    return {c.customer_id: c for c in check_ins_on(rep_ids=[rep.pk], day=day)}
