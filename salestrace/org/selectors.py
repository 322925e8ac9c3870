"""Who may see which rows: the data scope of each role, as query filters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from salestrace.org.models import ApiToken, Role, Team, User

# Roles that see every customer and action in the company.
COMPANY_WIDE = frozenset({Role.DIRECTOR, Role.ADMIN})


def team_subtree_ids(team_id: int) -> set[int]:
    """The team and every team below it; one query, walked in memory (teams are few)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Team.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found: set[int] = set()
    todo = [team_id]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        todo.extend(children.get(current, []))
    return found


def team_chain(team_id: int, parents: Mapping[int, int | None]) -> list[int]:
    """The team and its ancestors, nearest first; `parents` maps each team to its parent (one
    query: Team.objects.values_list("pk", "parent_id")). A cycle in bad data ends the walk."""
    chain: list[int] = []
    current: int | None = team_id
    while current is not None and current in parents and current not in chain:
        chain.append(current)
        current = parents[current]
    return chain


@dataclass(frozen=True)
class TeamPlace:
    """A team where it stands in the organisation: its names from the top down, and its depth."""

    team: Team
    names: tuple[str, ...]

    @property
    def depth(self) -> int:
        return len(self.names) - 1

    @property
    def path(self) -> str:
        return " › ".join(self.names)


def team_tree() -> list[TeamPlace]:
    """Every team, parents before their children, siblings by name; one query."""
    teams = {t.pk: t for t in Team.objects.all()}
    parents = {pk: t.parent_id for pk, t in teams.items()}
    places = [
        TeamPlace(team, tuple(teams[pk].name for pk in reversed(team_chain(team.pk, parents))))
        for team in teams.values()
    ]
    return sorted(places, key=lambda place: place.names)


def customer_scope(user: User, *, for_write: bool = False, via: str = "") -> Q:
    """The customers `user` may read (or change, with for_write), as a filter on Customer; with
    `via` ("customer__"), the same rule on a model that points to its customer."""
    if not user.is_active:
        return Q(pk__in=[])
    if user.role in COMPANY_WIDE or user.is_superuser:
        return Q()
    if user.role == Role.ASSISTANT:
        return Q(pk__in=[]) if for_write else Q()
    if user.role == Role.STORE_STAFF:
        return Q(pk__in=[])  # store staff see their store's promotion card only (field)
    if user.role == Role.SUPERVISOR and user.team_id is not None:
        return Q(**{f"{via}owner": user}) | Q(**{f"{via}owner__team_id__in": team_subtree_ids(user.team_id)})
    return Q(**{f"{via}owner": user})


def deal_scope(user: User, *, for_write: bool = False) -> Q:
    """The deals `user` may read (or change, with for_write), as a filter on Deal: those of the
    customers in scope, by the same rule as `customer_scope`."""
    return customer_scope(user, for_write=for_write, via="customer__")


def action_scope(user: User) -> Q:
    """The actions `user` may read, as a filter on ActionLog: those on customers in scope, and their own."""
    if not user.is_active:
        return Q(pk__in=[])
    if user.role in COMPANY_WIDE or user.is_superuser:
        return Q()
    if user.role in (Role.ASSISTANT, Role.STORE_STAFF):
        return Q(pk__in=[])
    if user.role == Role.SUPERVISOR and user.team_id is not None:
        teams = team_subtree_ids(user.team_id)
        return (
            Q(rep=user)
            | Q(customer__owner_id=user.pk)
            | Q(customer__owner__team_id__in=teams)
            | Q(rep__team_id__in=teams)
        )
    return Q(rep=user) | Q(customer__owner_id=user.pk)


def can_log_actions(user: User) -> bool:
    """Assistants keep the books and store staff run the till; neither logs sales actions."""
    return user.is_active and user.role not in (Role.ASSISTANT, Role.STORE_STAFF)


def is_admin(user: User) -> bool:
    """The admin role (or a Django superuser): every team, any action."""
    return user.role == Role.ADMIN or user.is_superuser


def can_import(user: User) -> bool:
    """Admins and assistants bring data in from files (for anyone in the company)."""
    return user.is_active and (is_admin(user) or user.role == Role.ASSISTANT)


def is_manager(user: User) -> bool:
    """Supervisors and above: they see team dashboards, assign customers and tasks in their scope."""
    return user.is_active and (user.role in {Role.SUPERVISOR, Role.DIRECTOR, Role.ADMIN} or user.is_superuser)


def can_see_dashboards(user: User) -> bool:
    """Team dashboards are for supervisors and above."""
    return is_manager(user)


def can_assign_owner(user: User) -> bool:
    """Supervisors and above may give a customer to someone else (within their scope)."""
    return is_manager(user)


def assignable_users(user: User) -> Q:
    """The users `user` may make owner of a customer, as a filter on User (never an assistant or
    store staff: they hold no customers)."""
    sellers = Q(is_active=True) & ~Q(role__in=[Role.ASSISTANT, Role.STORE_STAFF])
    if user.role in COMPANY_WIDE or user.is_superuser:
        return sellers
    if user.role == Role.SUPERVISOR and user.team_id is not None:
        return sellers & (Q(pk=user.pk) | Q(team_id__in=team_subtree_ids(user.team_id)))
    return Q(pk=user.pk)


def assignable_reps(user: User, *, limit: int = 500) -> list[User]:
    """The reps `user` may give a customer to, by username (a picker's choices)."""
    return list(User.objects.filter(assignable_users(user), role=Role.REP).order_by("username")[:limit])


def live_tokens(now: datetime) -> Q:
    """Tokens that still open the API at `now`: not revoked, not expired (a filter on ApiToken)."""
    return Q(revoked_at=None) & (Q(expires_at=None) | Q(expires_at__gt=now))


def api_tokens_of(user: User, *, now: datetime) -> list[ApiToken]:
    """`user`'s live API tokens (neither revoked nor expired), newest first."""
    return list(ApiToken.objects.filter(live_tokens(now), user=user).order_by("-created_at", "-pk"))


def api_token_revocable_by(actor: User, token_id: int, *, now: datetime) -> ApiToken | None:
    """A live token `actor` may revoke: one of their own, or anyone's for an admin; else None."""
    tokens = ApiToken.objects.filter(live_tokens(now), pk=token_id).select_related("user")
    if not (actor.is_active and is_admin(actor)):
        tokens = tokens.filter(user=actor)
    return tokens.first()
