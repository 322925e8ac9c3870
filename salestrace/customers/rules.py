"""The dormant pool's rules: who may claim, when a lead is idle. Pure: values in, decisions out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

DEFAULT_WAKEUP_DAYS = 15
DEFAULT_DORMANT_DAYS = 30


@dataclass(frozen=True)
class PoolPolicy:
    """Pool rules from the template: claim roles and scope, holding limit, lockout of the previous owner.

    The lockout is for a lead its owner released. A lead that aged into the pool (no action for
    its idle limit) may be revived by its owner at once, unless `owner_revives_aged` is off: then
    the same lockout applies to it.
    """

    claim_roles: frozenset[str] = frozenset({"rep", "supervisor"})
    claim_scope: str = "team"  # "team": only leads whose previous owner is in the claimer's team (subtree)
    max_held: int = 20
    lockout_days: int = 7
    owner_revives_aged: bool = True

    @classmethod
    def from_catalog(cls, thresholds: Mapping[str, Decimal], policies: Mapping[str, Any]) -> PoolPolicy:
        default = cls()
        revives = policies.get("pool_owner_revives_aged", default.owner_revives_aged)
        return cls(
            claim_roles=frozenset(policies.get("pool_claim_roles", default.claim_roles)),
            claim_scope=str(policies.get("pool_claim_scope", default.claim_scope)),
            max_held=int(thresholds.get("pool_max_held", default.max_held)),
            lockout_days=int(thresholds.get("pool_lockout_days", default.lockout_days)),
            owner_revives_aged=revives if isinstance(revives, bool) else default.owner_revives_aged,
        )

    def owner_locked_out(self, *, released: bool, pool_entered_at: datetime, now: datetime) -> bool:
        """Whether the previous owner must still wait before taking the lead back (claim or action)."""
        if not released and self.owner_revives_aged:
            return False
        return now < pool_entered_at + timedelta(days=self.lockout_days)


@dataclass(frozen=True)
class IdleLimits:
    """Idle days before a wake-up and before the pool; a stage override beats a kind override.

    Template thresholds `vitality_wakeup_days` / `vitality_dormant_days`, overridden per customer
    kind or stage with a `__<code>` suffix, e.g. `vitality_dormant_days__contract_signing: 45`.
    """

    wakeup_days: int = DEFAULT_WAKEUP_DAYS
    dormant_days: int = DEFAULT_DORMANT_DAYS
    overrides: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (limit, kind-or-stage) -> days

    @classmethod
    def from_thresholds(cls, thresholds: Mapping[str, Decimal]) -> IdleLimits:
        overrides: dict[tuple[str, str], int] = {}
        for code, value in thresholds.items():
            for limit in ("vitality_wakeup_days", "vitality_dormant_days"):
                prefix = f"{limit}__"
                if code.startswith(prefix) and len(code) > len(prefix):
                    overrides[(limit, code[len(prefix) :])] = int(value)
        return cls(
            wakeup_days=int(thresholds.get("vitality_wakeup_days", DEFAULT_WAKEUP_DAYS)),
            dormant_days=int(thresholds.get("vitality_dormant_days", DEFAULT_DORMANT_DAYS)),
            overrides=overrides,
        )

    def _days(self, limit: str, default: int, kind: str, stage: str) -> int:
        return self.overrides.get((limit, stage), self.overrides.get((limit, kind), default))

    def wakeup(self, kind: str, stage: str) -> int:
        return self._days("vitality_wakeup_days", self.wakeup_days, kind, stage)

    def dormant(self, kind: str, stage: str) -> int:
        return self._days("vitality_dormant_days", self.dormant_days, kind, stage)


@dataclass(frozen=True)
class ClaimRequest:
    """What a claim decision needs to know about the claimer and the pooled lead."""

    claimer_id: int
    claimer_role: str
    claimer_team_ids: frozenset[int]  # the claimer's team and everything below it
    previous_owner_id: int
    previous_owner_team_id: int | None
    pool_entered_at: datetime
    held_from_pool: int  # active customers the claimer holds that came from the pool
    released: bool  # its owner released it (False: it aged into the pool)


def claim_refusals(request: ClaimRequest, policy: PoolPolicy, *, now: datetime) -> list[str]:
    """Every reason the claim must be refused (codes); empty when it may go ahead."""
    refusals = []
    if request.claimer_role not in policy.claim_roles:
        refusals.append("role_not_allowed")
    if policy.claim_scope == "team" and request.previous_owner_team_id not in request.claimer_team_ids:
        refusals.append("other_team")
    if request.claimer_id == request.previous_owner_id and policy.owner_locked_out(
        released=request.released, pool_entered_at=request.pool_entered_at, now=now
    ):
        refusals.append("locked_out")
    if request.held_from_pool >= policy.max_held:
        refusals.append("limit_reached")
    return refusals


def reactivation_refusal(
    *,
    actor_id: int,
    owner_id: int,
    pool_entered_at: datetime | None,
    released: bool,
    policy: PoolPolicy,
    now: datetime,
) -> str | None:
    """Whether an action on a dormant lead may reactivate it: the owner who released it waits out the lockout."""
    if pool_entered_at is None or actor_id != owner_id:
        return None
    if policy.owner_locked_out(released=released, pool_entered_at=pool_entered_at, now=now):
        return "locked_out"
    return None
