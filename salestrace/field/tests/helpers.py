"""Stores with coordinates, and positions a given number of metres north of them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from salestrace.customers.models import Customer
from salestrace.todos.tests.helpers import local

METRES_PER_DEGREE = 111_194.9


def make_store(
    owner: Any, name: str, *, latitude: str | None = "31.240000", longitude: str | None = "121.410000"
) -> Customer:
    at = local(2026, 9, 1, 9)
    return Customer.objects.create(
        name=name,
        owner=owner,
        kind=Customer.Kind.STORE,
        stage="lead",
        created_at=at,
        updated_at=at,
        latitude=Decimal(latitude) if latitude else None,
        longitude=Decimal(longitude) if longitude else None,
    )


def north_of(store: Customer, metres: float) -> tuple[Decimal, Decimal]:
    """A position `metres` north of the store, to the 6 decimals a phone reports."""
    assert store.latitude is not None
    assert store.longitude is not None
    lat = store.latitude + Decimal(metres / METRES_PER_DEGREE)
    return lat.quantize(Decimal("0.000001")), store.longitude
