"""The customer admin saves through the customer services: scope, pool, history and search keys hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from salestrace.customers.models import Customer, PoolMove
from salestrace.customers.services import CustomerInput, customer_create, pool_release

pytestmark = pytest.mark.django_db


def change_url(customer: Customer) -> str:
    return reverse("admin:customers_customer_change", args=[customer.pk])


def form_data(client: Client, url: str, **changes: Any) -> dict[str, Any]:
    """The change form as the browser would post it back, with `changes` typed in."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data: dict[str, Any] = {name: form[name].value() for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        for row in formset.forms:
            data.update({row.add_prefix(name): row[name].value() for name in row.fields})
    data.update(changes)
    return {k: ("" if v is None else v) for k, v in data.items()}


def admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shop(personas: Any, now: datetime) -> Customer:
    return customer_create(user=personas.alice, data=CustomerInput(name="联华超市", kind="store"), now=now)


def test_a_customer_renamed_in_the_admin_is_found_by_its_new_pinyin(personas: Any, shop: Customer) -> None:
    # given the admin renames alice's store
    client = admin_client(personas.admin)
    url = change_url(shop)
    # when
    response = client.post(url, form_data(client, url, name="王府井百货"))
    # then alice finds it by the initials of its new name
    assert response.status_code == 302
    alice = Client()
    alice.force_login(personas.alice)
    page = alice.get("/customers/", {"q": "wfj"})
    assert "王府井百货" in page.content.decode()


def test_an_owner_change_in_the_admin_is_a_recorded_reassignment(personas: Any, shop: Customer, now: datetime) -> None:
    # given
    client = admin_client(personas.admin)
    url = change_url(shop)
    # when the admin gives alice's store to bob
    response = client.post(url, form_data(client, url, owner=personas.bob.pk))
    # then bob owns it from now, and the move is on record
    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.owner, shop.assigned_at) == (personas.bob, now)
    move = PoolMove.objects.get(customer=shop)
    assert (move.kind, move.by, move.from_owner, move.to_owner) == (
        PoolMove.Kind.REASSIGNED,
        personas.admin,
        personas.alice,
        personas.bob,
    )


def test_a_supervisor_cannot_give_a_customer_away_in_the_admin(personas: Any, shop: Customer) -> None:
    # given sam (East) was made staff with the customer permissions
    sam = personas.sam
    sam.is_staff = True
    sam.save()
    sam.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer"]))
    client = Client()
    client.force_login(sam)
    url = change_url(shop)
    # when he posts alice's store to bob of West
    response = client.post(url, {"owner": personas.bob.pk, "name": shop.name})
    # then the admin is not his (superusers only; managers work in the product), and nothing changed
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    shop.refresh_from_db()
    assert shop.owner == personas.alice
    assert not PoolMove.objects.filter(customer=shop).exists()


def test_the_admin_cannot_take_a_lead_out_of_the_pool_by_changing_its_owner(
    personas: Any, shop: Customer, now: datetime
) -> None:
    # given alice released her store to the pool
    pool_release(user=personas.alice, customer_id=shop.pk, reason="", now=now)
    client = admin_client(personas.admin)
    url = change_url(shop)
    # when the admin sets another owner on the change form
    response = client.post(url, form_data(client, url, owner=personas.bob.pk))
    # then it is refused (the pool's reassign does that, recorded), and the lead stays pooled
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["owner"]
    shop.refresh_from_db()
    assert (shop.owner, shop.status) == (personas.alice, Customer.Status.DORMANT)
