"""The pool page and the vitality dashboard page, as people click through them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from salestrace.actions.tests.factories import make_customer
from salestrace.customers.jobs import sweep_dormant
from salestrace.customers.models import Customer, PoolMove
from salestrace.customers.services import pool_release

pytestmark = pytest.mark.django_db


@pytest.fixture
def pooled(personas: Any, now: Any) -> Customer:
    lead = make_customer(
        owner=personas.alice,
        name="罗森(徐汇店)",
        last_active_at=now - timedelta(days=40),
        assigned_at=now - timedelta(days=40),
    )
    sweep_dormant(now=now - timedelta(days=2))
    lead.refresh_from_db()
    return lead


def test_a_teammate_claims_from_the_pool_page(client: Any, personas: Any, pooled: Customer) -> None:
    carol = type(personas.alice).objects.create_user(username="carol", password="x", role="rep", team=personas.east1)
    client.force_login(carol)
    page = client.get("/pool/").content.decode()
    assert "罗森(徐汇店)" in page
    assert "在池中2天" in page
    response = client.post("/pool/", {"customer_id": pooled.pk, "op": "claim"})
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{pooled.pk}/"
    pooled.refresh_from_db()
    assert pooled.owner == carol


def test_the_owner_who_released_a_lead_sees_a_disabled_claim_and_a_refusal_if_forced(
    client: Any, personas: Any, now: Any
) -> None:
    # given alice released her store yesterday
    shop = make_customer(owner=personas.alice, name="全家(张江店)", last_active_at=now, assigned_at=now)
    pool_release(user=personas.alice, customer_id=shop.pk, reason="", now=now - timedelta(days=1))
    client.force_login(personas.alice)
    # when she opens the pool, then forces a claim
    page = client.get("/pool/").content.decode()
    response = client.post("/pool/", {"customer_id": shop.pk, "op": "claim"}, follow=True)
    # then the button is disabled, the reason is written beside it (a phone shows no tooltip)
    # and the claim refused
    assert "disabled" in page
    assert '<small class="muted">该线索刚从您名下转出，锁定期结束后才能重新认领。' in page
    assert "锁定期结束后才能重新认领" in response.content.decode()
    assert not PoolMove.objects.filter(kind=PoolMove.Kind.CLAIMED).exists()


def test_the_owner_who_released_a_lead_is_told_why_on_its_page_instead_of_a_form_that_would_refuse(
    client: Any, personas: Any, now: Any
) -> None:
    # given alice released her store yesterday
    shop = make_customer(owner=personas.alice, name="全家(金桥店)", last_active_at=now, assigned_at=now)
    pool_release(user=personas.alice, customer_id=shop.pk, reason="", now=now - timedelta(days=1))
    client.force_login(personas.alice)
    # when she opens its page
    page = client.get(f"/customers/{shop.pk}/").content.decode()
    # then there is no form to fill in vain, and the page says why
    assert f"/customers/{shop.pk}/actions/new/" not in page
    assert "锁定期结束后才能重新认领" in page


def test_the_owner_of_a_lead_that_aged_into_the_pool_may_claim_it_back(
    client: Any, personas: Any, pooled: Customer
) -> None:
    client.force_login(personas.alice)
    page = client.get("/pool/").content.decode()
    assert "disabled" not in page
    response = client.post("/pool/", {"customer_id": pooled.pk, "op": "claim"})
    assert response.status_code == 302
    assert PoolMove.objects.filter(customer=pooled, kind=PoolMove.Kind.CLAIMED, by=personas.alice).exists()


def test_a_director_reassigns_from_the_pool_page(client: Any, personas: Any, pooled: Customer) -> None:
    client.force_login(personas.diana)
    page = client.get("/pool/").content.decode()
    assert "重新分配" in page
    client.post("/pool/", {"customer_id": pooled.pk, "op": "reassign", "owner_id": personas.bob.pk})
    pooled.refresh_from_db()
    assert (pooled.owner, pooled.status) == (personas.bob, Customer.Status.ACTIVE)


def test_bad_posts_are_told_not_crashed(client: Any, personas: Any, pooled: Customer) -> None:
    client.force_login(personas.diana)
    for data in (
        {"customer_id": "x", "op": "claim"},
        {"customer_id": pooled.pk, "op": "explode"},
        {"customer_id": pooled.pk, "op": "reassign", "owner_id": ""},
    ):
        response = client.post("/pool/", data, follow=True)
        assert response.status_code == 200
    pooled.refresh_from_db()
    assert pooled.status == Customer.Status.DORMANT


def test_the_owner_releases_from_the_customer_page(client: Any, personas: Any, now: Any) -> None:
    shop = make_customer(owner=personas.alice, name="全家(张江店)", last_active_at=now, assigned_at=now)
    client.force_login(personas.alice)
    assert "释放到线索池" in client.get(f"/customers/{shop.pk}/").content.decode()
    response = client.post("/pool/", {"customer_id": shop.pk, "op": "release", "reason": "门店关闭"}, follow=True)
    assert "在休眠线索池中" in response.content.decode()
    shop.refresh_from_db()
    assert shop.status == Customer.Status.DORMANT


def test_pool_page_has_a_query_budget(client: Any, personas: Any, now: Any, django_assert_max_num_queries: Any) -> None:
    for i in range(25):
        make_customer(
            owner=personas.alice,
            name=f"店{i}",
            last_active_at=now - timedelta(days=40),
            assigned_at=now - timedelta(days=40),
        )
    sweep_dormant(now=now)
    client.force_login(personas.sam)
    with django_assert_max_num_queries(12):
        page = client.get("/pool/").content.decode()
    assert page.count("pool-entry") == 25


@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("fay", 403), ("sam", 200), ("diana", 200)])
def test_vitality_page_is_for_supervisors_and_up(client: Any, personas: Any, who: str, status: int) -> None:
    client.force_login(getattr(personas, who))
    assert client.get("/dashboard/vitality/").status_code == status


def test_vitality_page_counts_and_links_to_the_list(client: Any, personas: Any, now: Any) -> None:
    make_customer(owner=personas.alice, last_active_at=now - timedelta(days=20), created_at=now - timedelta(days=30))
    client.force_login(personas.diana)
    page = client.get("/dashboard/vitality/?group=stage").content.decode()
    assert "线索活力" in page
    assert "/customers/?colour=orange&amp;stage=lead" in page
    assert client.get("/dashboard/vitality/?group=nonsense").status_code == 200


def test_dashboard_rows_drill_down_to_that_reps_or_teams_list(client: Any, personas: Any, now: Any) -> None:
    mine = make_customer(
        owner=personas.alice,
        name="阿丽的店",
        last_active_at=now - timedelta(days=20),
        created_at=now - timedelta(days=30),
    )
    make_customer(
        owner=personas.bob,
        name="阿博的店",
        last_active_at=now - timedelta(days=20),
        created_at=now - timedelta(days=30),
    )
    client.force_login(personas.diana)
    page = client.get("/dashboard/vitality/?group=rep").content.decode()
    assert f"/customers/?colour=orange&amp;owner={personas.alice.pk}" in page
    listed = client.get(f"/customers/?colour=orange&owner={personas.alice.pk}").content.decode()
    assert mine.name in listed
    assert "阿博的店" not in listed
    by_team = client.get(f"/customers/?team={personas.east.pk}").content.decode()
    assert mine.name in by_team
    assert "阿博的店" not in by_team
    # a rep asking for someone else's list still sees only her own
    client.force_login(personas.bob)
    assert "阿丽的店" not in client.get(f"/customers/?owner={personas.alice.pk}").content.decode()
    assert client.get("/customers/?owner=abc&team=-1").status_code == 200


@pytest.mark.parametrize(("who", "shown"), [("alice", False), ("fay", False), ("sam", True), ("diana", True)])
def test_the_vitality_link_is_in_the_nav_of_those_who_may_open_it(
    client: Any, personas: Any, who: str, shown: bool
) -> None:
    client.force_login(getattr(personas, who))
    assert ('href="/dashboard/vitality/"' in client.get("/pool/").content.decode()) is shown
