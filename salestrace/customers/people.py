"""People and teams, as a sales manager changes them in Settings: add a rep, move them between teams,
reset a password, issue an API token, and let a leaver go with their customers handed on in one step.

Services over org's models; they live here because a leaver's customers go through the customer
services (the pool's rules, the owner scope, a PoolMove each). Who may: the configurers of catalog
(admins, and directors where the template allows). Every change is recorded in the settings history.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from salestrace.catalog.models import SettingChange
from salestrace.catalog.selectors import may_configure
from salestrace.catalog.services import state_fingerprint
from salestrace.core.errors import Conflict, DomainError, FieldError, NotFound, PermissionDenied, RuleViolation
from salestrace.customers.models import Customer, Deal
from salestrace.customers.services import customer_update, pool_release
from salestrace.org.models import ApiToken, Role, Team, User
from salestrace.org.services import api_token_create


def _refuse_unless_configurer(user: User) -> None:
    if not may_configure(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Only admins may change the settings."))])


_ROLE_RANK: dict[str, int] = {Role.ADMIN.value: 2, Role.DIRECTOR.value: 1}


def _rank(user: User) -> int:
    """Who outranks whom in Settings: superusers, admins, directors, then everyone else."""
    if user.is_superuser:
        return 3
    return _ROLE_RANK.get(user.role, 0)


def _refuse_unless_above(by: User, person: User | None, role: str | None = None) -> None:
    """Nobody changes, resets or issues a token for someone of their own rank or above (a director who
    may configure cannot take over an admin's account), and nobody grants a role above their own
    rank's: only a superuser makes or changes admins."""
    if person is not None and person.pk != by.pk and not by.is_superuser and _rank(person) >= _rank(by):
        message = _("Only a superuser may change an administrator's account.")
        raise PermissionDenied([FieldError(None, "rank", message)])
    if (
        role is not None
        and role in _ROLE_RANK
        and not by.is_superuser
        and (person is None or person.role != role)
        and _rank(by) <= _ROLE_RANK[role]
    ):
        raise PermissionDenied([FieldError("role", "rank", _("Only someone above that role may give it."))])


def person_state(person: User) -> dict[str, Any]:
    return {
        "display_name": person.display_name,
        "role": person.role,
        "team_id": person.team_id,
        "email": person.email,
        "wecom_userid": person.wecom_userid,
        "mobile": person.mobile,
        "is_active": person.is_active,
    }


def _record(by: User, key: str, before: dict[str, Any] | None, after: dict[str, Any], now: datetime,
            area: str = SettingChange.Area.PERSON, rolled_back: SettingChange | None = None) -> None:  # fmt: skip
    SettingChange.objects.create(
        area=area, key=key, before=before, after=after, changed_by=by, changed_at=now, rolled_back=rolled_back
    )


@dataclass(frozen=True)
class PersonInput:
    display_name: str
    role: str
    team_id: int | None
    email: str = ""
    wecom_userid: str = ""
    mobile: str = ""


def _refuse_if_changed(state: dict[str, Any], seen: str | None) -> None:
    if seen is not None and state_fingerprint(state) != seen:
        message = _("Someone else changed this meanwhile. Reload to see it.")
        raise Conflict([FieldError(None, "changed_meanwhile", message)])


def _person_problems(data: PersonInput) -> list[FieldError]:
    errors = []
    if not data.display_name.strip():
        errors.append(FieldError("display_name", "required", _("Give the person's name.")))
    if data.role not in Role.values:
        errors.append(FieldError("role", "invalid", _("Choose a role.")))
    if data.team_id is not None and not Team.objects.filter(pk=data.team_id).exists():
        errors.append(FieldError("team_id", "invalid", _("Choose a team.")))
    if data.role in (Role.REP, Role.SUPERVISOR) and data.team_id is None:
        errors.append(FieldError("team_id", "required", _("A rep or supervisor belongs to a team.")))
    if data.role == Role.STORE_STAFF and data.team_id is None:
        # The team whose supervisor places them in a store (field.promotion_services.store_staff_assign).
        errors.append(FieldError("team_id", "required", _("Store staff belong to the team that runs their store.")))
    if data.email.strip():
        try:
            validate_email(data.email.strip())
        except ValidationError:
            errors.append(FieldError("email", "invalid", _("Enter a valid e-mail address.")))
    return errors


def new_password() -> str:
    """A first (or reset) password, shown once to whoever hands it over."""
    return secrets.token_urlsafe(9)


@transaction.atomic
def person_create(*, by: User, username: str, data: PersonInput, now: datetime) -> tuple[User, str]:
    """A new person with a generated password (returned once, never stored in clear)."""
    _refuse_unless_configurer(by)
    _refuse_unless_above(by, None, data.role)
    username = username.strip()
    errors = _person_problems(data)
    if not username or not re.fullmatch(r"[\w.@+-]{1,150}", username):
        errors.append(FieldError("username", "invalid", _("A sign-in name: letters, digits and @ . + - _.")))
    elif User.objects.filter(username__iexact=username).exists():
        errors.append(FieldError("username", "taken", _("This sign-in name is taken.")))
    if errors:
        raise RuleViolation(errors)
    password = new_password()
    try:
        person = User.objects.create_user(
            username=username,
            password=password,
            display_name=data.display_name.strip(),
            role=data.role,
            team_id=data.team_id,
            email=data.email.strip(),
            wecom_userid=data.wecom_userid.strip(),
            mobile=data.mobile.strip(),
        )
    except IntegrityError:
        raise Conflict([FieldError("username", "taken", _("This sign-in name is taken."))]) from None
    _record(by, str(person.pk), None, person_state(person), now)
    return person, password


def _person(user_id: int) -> User:
    person = User.objects.select_for_update().filter(pk=user_id).first()
    if person is None:
        raise NotFound([FieldError(None, "not_found", _("No such person."))])
    return person


@transaction.atomic
def person_update(*, by: User, user_id: int, data: PersonInput, now: datetime, seen: str | None = None) -> bool:
    """Name, role, team (a move between teams), contact ids; whether anything changed. Customers stay
    with their owner: a rep who moves takes their customers along."""
    _refuse_unless_configurer(by)
    person = _person(user_id)
    _refuse_unless_above(by, person, data.role)
    _refuse_if_changed(person_state(person), seen)
    errors = _person_problems(data)
    if person.pk == by.pk and data.role != person.role:
        errors.append(FieldError("role", "own_role", _("You cannot change your own role.")))
    if errors:
        raise RuleViolation(errors)
    before = person_state(person)
    person.display_name, person.role, person.team_id = data.display_name.strip(), data.role, data.team_id
    person.email, person.wecom_userid, person.mobile = (
        data.email.strip(),
        data.wecom_userid.strip(),
        data.mobile.strip(),
    )
    if person_state(person) == before:
        return False
    person.save(update_fields=["display_name", "role", "team", "email", "wecom_userid", "mobile"])
    _record(by, str(person.pk), before, person_state(person), now)
    return True


@transaction.atomic
def person_reset_password(*, by: User, user_id: int, now: datetime) -> str:
    """A new password (returned once); the person's API tokens stay, their sessions end at next request."""
    _refuse_unless_configurer(by)
    person = _person(user_id)
    _refuse_unless_above(by, person)
    password = new_password()
    validate_password(password, person)
    person.set_password(password)
    person.save(update_fields=["password"])
    _record(by, str(person.pk), None, {"password": "reset"}, now)
    return password


@transaction.atomic
def person_issue_token(*, by: User, user_id: int, name: str, now: datetime) -> str:
    """An API token for the person (e.g. a data assistant's script), returned once."""
    _refuse_unless_configurer(by)
    person = _person(user_id)
    _refuse_unless_above(by, person)
    if not person.is_active:
        raise RuleViolation([FieldError(None, "inactive", _("This person has left: no new token."))])
    _token, raw = api_token_create(user=person, name=name or str(_("issued in Settings")), now=now)
    _record(by, str(person.pk), None, {"api_token": raw[:8] + "…"}, now)
    return raw


# Apps above customers register what else a leaver hands on: hook(person, to_user_id or None, now).
LEAVER_HOOKS: list[Callable[[User, int | None, datetime], None]] = []


@dataclass(frozen=True)
class Handoff:
    reassigned: int
    pooled: int


@transaction.atomic
def person_deactivate(*, by: User, user_id: int, to_user_id: int | None, reason: str, now: datetime) -> Handoff:
    """A leaver: their active customers go to a colleague (`to_user_id`, each a reassignment with its
    PoolMove, within the owner scope) or, with none, into the dormant pool (each a release), in the
    same transaction as the person is switched off and their API tokens revoked. Leads already in
    the pool stay there."""
    _refuse_unless_configurer(by)
    person = _person(user_id)
    _refuse_unless_above(by, person)
    if person.pk == by.pk:
        raise RuleViolation([FieldError(None, "self", _("You cannot switch off your own account."))])
    if not person.is_active:
        raise RuleViolation([FieldError(None, "inactive", _("This person has already left."))])
    if to_user_id is not None:
        heir = User.objects.filter(pk=to_user_id, is_active=True).first()
        if heir is None or heir.pk == person.pk:
            raise RuleViolation([FieldError("to_user_id", "invalid", _("Choose an active colleague."))])
    before = person_state(person)
    reason = reason.strip() or str(_("left the company"))
    reassigned = pooled = 0
    active = Customer.objects.filter(owner=person, status=Customer.Status.ACTIVE).order_by("pk")
    try:
        for customer_id in list(active.values_list("pk", flat=True)):
            if to_user_id is not None:
                customer_update(user=by, customer_id=customer_id, changes={"owner_id": to_user_id}, now=now)
                reassigned += 1
            else:
                pool_release(user=by, customer_id=customer_id, reason=reason, now=now)
                pooled += 1
    except DomainError as exc:  # the colleague cannot own these customers: said on the field chosen
        raise type(exc)([FieldError("to_user_id", e.code, e.message) for e in exc.errors]) from None
    if to_user_id is not None:
        # what they were working on goes along: open deals and open tasks
        Deal.objects.filter(owner=person, outcome=Deal.Outcome.OPEN).update(owner_id=to_user_id, updated_at=now)
    for hand_on in LEAVER_HOOKS:  # apps above this one (todos: open tasks) hand on what they keep
        hand_on(person, to_user_id, now)
    person.is_active = False
    person.save(update_fields=["is_active"])
    ApiToken.objects.filter(user=person, revoked_at=None).update(revoked_at=now)
    _record(by, str(person.pk), before, {**person_state(person), "handed_on": reassigned, "pooled": pooled}, now)
    return Handoff(reassigned, pooled)


@transaction.atomic
def person_reactivate(*, by: User, user_id: int, now: datetime) -> bool:
    """Someone who came back: signs in again (their old customers stay where they went)."""
    _refuse_unless_configurer(by)
    person = _person(user_id)
    _refuse_unless_above(by, person)
    if person.is_active:
        return False
    before = person_state(person)
    person.is_active = True
    person.save(update_fields=["is_active"])
    _record(by, str(person.pk), before, person_state(person), now)
    return True


def person_rollback(by: User, change: SettingChange, now: datetime) -> None:
    """Registered with catalog's setting_rollback: a person's name, role, team and contact ids go back;
    a leaver's handed-on customers do not (roll back the account, then hand customers back)."""
    person = User.objects.select_for_update().filter(pk=int(change.key)).first()
    after = {k: v for k, v in (change.after or {}).items() if k in person_state(person)} if person else {}
    if person is None or change.before is None or not after or person_state(person) != after:
        message = _("This setting has changed again since: roll back the later change first.")
        if change.before is None:
            message = _("A new person, a password or a token cannot be rolled back.")
        raise Conflict([FieldError(change.key, "changed_since", message)])
    _refuse_unless_above(by, person, change.before.get("role"))
    if person.pk == by.pk and change.before.get("role") != person.role:
        raise RuleViolation([FieldError("role", "own_role", _("You cannot change your own role."))])
    before = person_state(person)
    for key, value in change.before.items():
        setattr(person, key, value)
    person.save(update_fields=["display_name", "role", "team", "email", "wecom_userid", "mobile", "is_active"])
    _record(by, str(person.pk), before, person_state(person), now, rolled_back=change)


# --- teams --------------------------------------------------------------------------------------------


def _team_problems(name: str, kind: str, parent_id: int | None, team: Team | None) -> list[FieldError]:
    errors = []
    if not name.strip():
        errors.append(FieldError("name", "required", _("Give the team a name.")))
    if kind not in Team.Kind.values:
        errors.append(FieldError("kind", "invalid", _("Choose a kind.")))
    if parent_id is not None:
        parents = dict(Team.objects.values_list("pk", "parent_id"))
        if parent_id not in parents:
            errors.append(FieldError("parent_id", "invalid", _("Choose a team above it.")))
        elif team is not None:
            at: int | None = parent_id
            seen: set[int] = set()
            while at is not None and at not in seen:
                if at == team.pk:
                    errors.append(FieldError("parent_id", "cycle", _("A team cannot sit under itself.")))
                    break
                seen.add(at)
                at = parents.get(at)
    sibling = Team.objects.filter(parent_id=parent_id, name=name.strip())
    if team is not None:
        sibling = sibling.exclude(pk=team.pk)
    if name.strip() and sibling.exists():
        errors.append(FieldError("name", "taken", _("A team of that name is already there.")))
    return errors


def team_state(team: Team) -> dict[str, Any]:
    return {"name": team.name, "kind": team.kind, "parent_id": team.parent_id}


@transaction.atomic
def team_create(*, by: User, name: str, kind: str, parent_id: int | None, now: datetime) -> Team:
    _refuse_unless_configurer(by)
    errors = _team_problems(name, kind, parent_id, None)
    if errors:
        raise RuleViolation(errors)
    team = Team.objects.create(name=name.strip(), kind=kind, parent_id=parent_id)
    _record(by, str(team.pk), None, team_state(team), now, area=SettingChange.Area.TEAM)
    return team


@transaction.atomic
def team_update(
    *, by: User, team_id: int, name: str, kind: str, parent_id: int | None, now: datetime, seen: str | None = None
) -> bool:
    """Rename a team or move it under another (never under itself); its people move with it."""
    _refuse_unless_configurer(by)
    # Every team locked: two moves at once (A under B, B under A) must not both pass the cycle check.
    teams = {t.pk: t for t in Team.objects.select_for_update().order_by("pk")}
    team = teams.get(team_id)
    if team is None:
        raise NotFound([FieldError(None, "not_found", _("No such team."))])
    _refuse_if_changed(team_state(team), seen)
    errors = _team_problems(name, kind, parent_id, team)
    if errors:
        raise RuleViolation(errors)
    before = team_state(team)
    team.name, team.kind, team.parent_id = name.strip(), kind, parent_id
    if team_state(team) == before:
        return False
    team.save(update_fields=["name", "kind", "parent"])
    _record(by, str(team.pk), before, team_state(team), now, area=SettingChange.Area.TEAM)
    return True


def team_rollback(by: User, change: SettingChange, now: datetime) -> None:
    """Registered with catalog's setting_rollback: a team's name, kind or place goes back (checked as a
    move: never under itself); an added team is not removed (people may be in it)."""
    if change.before is None:
        raise Conflict([FieldError(change.key, "added", _("An added team cannot be rolled back; rename or move it."))])
    team = Team.objects.filter(pk=int(change.key)).first()
    if team is None or team_state(team) != change.after:
        message = _("This setting has changed again since: roll back the later change first.")
        raise Conflict([FieldError(change.key, "changed_since", message)])
    before = change.before
    team_update(
        by=by, team_id=team.pk, name=before["name"], kind=before["kind"], parent_id=before["parent_id"], now=now
    )
