"""Field execution, pure: distances, check-in flags, and planned vs visited vs logged.

No ORM, no clock: coordinates are WGS-84 degrees as a phone's GPS reports them; distances are
metres on a sphere of the Earth's mean radius (haversine), which is within 0.5 % of the
ellipsoid at the few hundred metres a check-in radius is about.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

EARTH_RADIUS_M = 6_371_008.8

OUT_OF_RANGE = "out_of_range"
SAME_SPOT_ELSEWHERE = "same_spot_elsewhere"
NO_LOCATION = "no_location"
NO_STORE_LOCATION = "no_store_location"
LOW_ACCURACY = "low_accuracy"
LATE_SYNC = "late_sync"

# What each flag means, as a supervisor reads it beside the check-in.
FLAGS: dict[str, Promise] = {
    OUT_OF_RANGE: _("farther from the store than the check-in radius"),
    SAME_SPOT_ELSEWHERE: _("exactly the same location as a check-in at another store"),
    NO_LOCATION: _("no location given (denied or unavailable)"),
    NO_STORE_LOCATION: _("the store has no coordinates yet: distance unknown"),
    LOW_ACCURACY: _("the phone's location was too imprecise to judge the distance"),
    LATE_SYNC: _("reached the server more than an hour after it was made (queued offline)"),
}


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float

    @classmethod
    def of(cls, latitude: Decimal | float | None, longitude: Decimal | float | None) -> Point | None:
        """A point, or None when either coordinate is missing."""
        if latitude is None or longitude is None:
            return None
        return cls(float(latitude), float(longitude))


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlng = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Judgement:
    distance_m: int | None
    flags: tuple[str, ...]


def judge_check_in(
    *,
    at: Point | None,
    store: Point | None,
    radius_m: int,
    accuracy_m: int | None = None,
    same_spot_elsewhere: bool = False,
    sync_delay_s: float = 0,
) -> Judgement:
    """The distance to the store and every flag a check-in earns.

    Out of range only when even the nearest point the phone's accuracy allows is beyond the
    radius, so a 60 m GPS fix 320 m away with a 300 m radius is not accused; an accuracy wider
    than the radius itself is flagged as too imprecise instead.
    """
    flags: list[str] = []
    distance: int | None = None
    if at is None:
        flags.append(NO_LOCATION)
    elif store is None:
        flags.append(NO_STORE_LOCATION)
    else:
        distance = round(distance_m(at, store))
        slack = accuracy_m or 0
        if accuracy_m is not None and accuracy_m > radius_m:
            flags.append(LOW_ACCURACY)
        elif distance - slack > radius_m:
            flags.append(OUT_OF_RANGE)
    if at is not None and same_spot_elsewhere:
        flags.append(SAME_SPOT_ELSEWHERE)
    if sync_delay_s > 3600:
        flags.append(LATE_SYNC)
    return Judgement(distance, tuple(flags))


# --- planned vs visited vs logged -----------------------------------------------------------------


@dataclass(frozen=True)
class RepDay:
    """One rep's day in the field: which stores were planned, checked in at, and logged as visits."""

    rep_id: int
    planned: tuple[int, ...]  # in route order
    visited: frozenset[int]
    logged: frozenset[int]  # stores with a visit action logged by the rep that day

    @property
    def not_visited(self) -> tuple[int, ...]:
        """Planned stores with no check-in, in route order."""
        return tuple(c for c in self.planned if c not in self.visited)

    @property
    def visited_not_logged(self) -> tuple[int, ...]:
        """Stores checked in at (planned or not) with no visit logged: the records that go missing."""
        return tuple(sorted(self.visited - self.logged))

    @property
    def planned_without_record(self) -> tuple[int, ...]:
        """Planned stores with no visit logged (checked in or not): the seed's 23 %."""
        return tuple(c for c in self.planned if c not in self.logged)

    @property
    def unplanned_visits(self) -> tuple[int, ...]:
        planned = set(self.planned)
        return tuple(sorted(self.visited - planned))


def rep_days(
    *,
    plans: Mapping[int, Sequence[int]],
    visits: Mapping[int, Collection[int]],
    logs: Mapping[int, Collection[int]],
    rep_ids: Iterable[int] | None = None,
) -> list[RepDay]:
    """One RepDay per rep (every rep in `rep_ids`, else every rep with a plan or a visit)."""
    ids = list(rep_ids) if rep_ids is not None else sorted(set(plans) | set(visits))
    return [
        RepDay(
            rep_id,
            tuple(plans.get(rep_id, ())),
            frozenset(visits.get(rep_id, ())),
            frozenset(logs.get(rep_id, ())),
        )
        for rep_id in ids
    ]


@dataclass(frozen=True)
class Compliance:
    """Counts over any set of rep-days (a rep, a team, a day or a week) and the rates they make."""

    rep_days: int = 0
    planned: int = 0
    planned_visited: int = 0
    planned_logged: int = 0
    visits: int = 0
    visits_logged: int = 0
    unplanned_visits: int = 0

    @property
    def visit_rate(self) -> float | None:
        """Share of planned stores checked in at; None with nothing planned."""
        return self.planned_visited / self.planned if self.planned else None

    @property
    def missing_record_rate(self) -> float | None:
        """Share of planned stores with no visit logged (the seed's 23 %); None with nothing planned."""
        return (self.planned - self.planned_logged) / self.planned if self.planned else None

    @property
    def unlogged_visit_rate(self) -> float | None:
        """Share of check-ins with no visit logged; None without check-ins."""
        return (self.visits - self.visits_logged) / self.visits if self.visits else None


def percent_points(share: float | None) -> float | None:
    """A share as a chart's percentage to one decimal (0.635 -> 63.5); None stays a gap."""
    return None if share is None else round(share * 100, 1)


def compliance(days: Iterable[RepDay]) -> Compliance:
    """Sum rep-days into counts (a pure fold: a team is the sum of its reps, see `combined`)."""
    totals = [0] * 7
    for day in days:
        planned = frozenset(day.planned)
        visited, logged = day.visited, day.logged
        counts = (
            1,
            len(planned),
            len(planned & visited),
            len(planned & logged),
            len(visited),
            len(visited & logged),
            len(visited - planned),
        )
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    return Compliance(*totals)


def combined(parts: Iterable[Compliance]) -> Compliance:
    """The counts of several groups of rep-days together (a team from its reps)."""
    names = [f.name for f in fields(Compliance)]
    totals = dict.fromkeys(names, 0)
    for part in parts:
        for name in names:
            totals[name] += getattr(part, name)
    return Compliance(**totals)


@dataclass(frozen=True)
class PlanProblem:
    code: str
    customer_id: int | None = None


@dataclass
class PlanCheck:
    """What is wrong with a list of stores given as a day's route; empty when it can be saved."""

    problems: list[PlanProblem] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.problems)


MAX_STOPS = 60
ROUTE_EDITS = ("add", "remove", "up", "down")


def route_edited(stops: Sequence[int], *, op: str, store: int | None) -> list[int]:
    """A route after one edit of the planner page: a store added at the end, removed, or moved one
    place earlier (up) or later (down); anything that does not apply leaves it as it was."""
    route = list(stops)
    if store is None or op not in ROUTE_EDITS:
        return route
    if op == "add":
        return route if store in route else [*route, store]
    if store not in route:
        return route
    at = route.index(store)
    if op == "remove":
        del route[at]
    else:
        to = at - 1 if op == "up" else at + 1
        if 0 <= to < len(route):
            route[at], route[to] = route[to], route[at]
    return route


def check_plan(customer_ids: Sequence[int], *, allowed: Collection[int]) -> PlanCheck:
    """A route is at most MAX_STOPS stores, each once, each one the rep may visit."""
    check = PlanCheck()
    if len(customer_ids) > MAX_STOPS:
        check.problems.append(PlanProblem("too_many"))
    seen: set[int] = set()
    for customer_id in customer_ids:
        if customer_id in seen:
            check.problems.append(PlanProblem("repeated", customer_id))
        elif customer_id not in allowed:
            check.problems.append(PlanProblem("not_allowed", customer_id))
        seen.add(customer_id)
    return check


# --- promotions: what stores said vs what the till shows -------------------------------------------

_RULE = re.compile(r"满\s*(\d+(?:\.\d{1,2})?)\s*(?:元)?\s*减\s*(\d+(?:\.\d{1,2})?)")


def parse_rule(text: str) -> tuple[Decimal, Decimal] | None:
    """满299减50 → (299, 50); None when the text says no such thing (the numbers are then asked for)."""
    found = _RULE.search(text.replace("，", ",").replace(" ", ""))
    if not found:
        return None
    threshold, discount = Decimal(found.group(1)), Decimal(found.group(2))
    return (threshold, discount) if Decimal(0) < discount < threshold else None


@dataclass(frozen=True)
class StoreFacts:
    """One store of a promotion: whether anyone reported it running, and what its tills redeemed."""

    store_id: int
    name: str
    region: str
    reported: bool
    receipts: int
    discount: Decimal

    @property
    def redeemed(self) -> bool:
        return self.receipts > 0

    @property
    def claim_unbacked(self) -> bool:
        """Reported as running, yet not one discount at the till: the first store to visit."""
        return self.reported and not self.redeemed


@dataclass(frozen=True)
class Reality:
    """Reported execution vs actual redemption over a set of stores (a promotion, a region)."""

    stores: int
    reported: int
    redeemed: int
    unbacked: int
    receipts: int
    discount: Decimal

    @property
    def reported_rate(self) -> float | None:
        return self.reported / self.stores if self.stores else None

    @property
    def redeemed_rate(self) -> float | None:
        return self.redeemed / self.stores if self.stores else None

    @property
    def gap(self) -> float | None:
        """Reported rate minus redeemed rate (0.92 − 0.635 = 0.285 in the seed); None without stores."""
        if self.reported_rate is None or self.redeemed_rate is None:
            return None
        return self.reported_rate - self.redeemed_rate


def reality(stores: Iterable[StoreFacts]) -> Reality:
    listed = list(stores)
    return Reality(
        stores=len(listed),
        reported=sum(s.reported for s in listed),
        redeemed=sum(s.redeemed for s in listed),
        unbacked=sum(s.claim_unbacked for s in listed),
        receipts=sum(s.receipts for s in listed),
        discount=sum((s.discount for s in listed), Decimal(0)),
    )


def reality_by_region(stores: Iterable[StoreFacts]) -> dict[str, Reality]:
    """Each region's Reality, regions by name ("" for stores without one)."""
    groups: dict[str, list[StoreFacts]] = {}
    for store in stores:
        groups.setdefault(store.region, []).append(store)
    return {region: reality(groups[region]) for region in sorted(groups)}


def visit_first(stores: Iterable[StoreFacts]) -> list[StoreFacts]:
    """The stores to visit first: reported but never redeemed (the claim is not backed), then never
    reported and never redeemed; by region and name within each."""
    unbacked = [s for s in stores if s.claim_unbacked]
    silent = [s for s in stores if not s.reported and not s.redeemed]
    key = lambda s: (s.region, s.name)  # noqa: E731
    return sorted(unbacked, key=key) + sorted(silent, key=key)


@dataclass(frozen=True)
class CardCheck:
    """Whether a receipt may get the promotion's discount at the till, and why not."""

    allowed: bool
    code: str = ""


def check_redemption(*, amount: Decimal, threshold: Decimal, running: bool) -> CardCheck:
    if not running:
        return CardCheck(False, "not_running")
    if amount < threshold:
        return CardCheck(False, "below_threshold")
    return CardCheck(True)
