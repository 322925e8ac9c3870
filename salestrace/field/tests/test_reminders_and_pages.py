"""The field lines of the 18:00 message, and the pages: route with check-in, planner, compliance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from salestrace.field.models import CheckIn, RouteStop
from salestrace.field.services import check_in, route_plan_set
from salestrace.field.tests.helpers import make_store, north_of
from salestrace.notify.models import InboxMessage
from salestrace.todos.jobs import daily_reminders
from salestrace.todos.tests.helpers import local

pytestmark = pytest.mark.django_db

THURSDAY = date(2026, 11, 26)


@pytest.fixture
def stores(personas):
    return [make_store(personas.alice, f"联华超市({n}号店)", latitude=f"31.2{n:02d}000") for n in range(1, 4)]


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_18_00_message_lists_planned_stores_not_visited_and_check_ins_not_logged(personas, stores):
    # given alice's Thursday route of three stores, checked in at the first only
    morning = local(2026, 11, 26, 8)
    route_plan_set(
        by=personas.sam, rep_id=personas.alice.pk, day=THURSDAY, customer_ids=[s.pk for s in stores], now=morning
    )
    check_in(rep=personas.alice, customer_id=stores[0].pk, now=local(2026, 11, 26, 10))
    # when the 18:00 sweep runs
    at = local(2026, 11, 26, 18)
    with time_machine.travel(at, tick=False):
        daily_reminders(now=at)
    # then her message names both stores not visited and the visit not logged, the latter linking to the visit form
    (message,) = InboxMessage.objects.filter(user=personas.alice)
    lines = message.payload["lines"]
    texts = [line["text"] for line in lines]
    assert sum("联华超市(2号店)" in t or "联华超市(3号店)" in t for t in texts) == 2
    (unlogged,) = [line for line in lines if "联华超市(1号店)" in line["text"]]
    assert f"/customers/{stores[0].pk}/actions/new/" in unlogged["link"]
    assert "contact_method=visit" in unlogged["link"]
    assert "occurred_at=2026-11-26T10:00" in unlogged["link"]  # the check-in's time
    assert "未记录" in unlogged["text"]


def test_a_rep_checks_in_from_the_route_page_and_logs_the_visit_from_it(personas, stores, now):
    route_plan_set(by=personas.sam, rep_id=personas.alice.pk, day=THURSDAY, customer_ids=[stores[0].pk], now=now)
    alice = login(personas.alice)
    page = alice.get("/field/")
    assert page.status_code == 200
    assert "联华超市(1号店)" in page.content.decode()
    lat, lng = north_of(stores[0], 60)
    done = alice.post(
        f"/field/check-in/{stores[0].pk}/",
        {"key": "abc", "latitude": str(lat), "longitude": str(lng), "accuracy": "12"},
        follow=True,
    )
    assert done.status_code == 200
    assert "60" in done.content.decode()
    made = CheckIn.objects.get()
    assert made.distance_m == 60
    assert made.accuracy_m == 12
    # the route now offers the prefilled visit form at the check-in's time
    link = f"/customers/{stores[0].pk}/actions/new/?contact_method=visit&amp;occurred_at=2026-11-26T10:00"
    assert link in done.content.decode()
    form = alice.get(f"/customers/{stores[0].pk}/actions/new/?contact_method=visit&occurred_at=2026-11-26T10:00")
    assert 'value="2026-11-26T10:00"' in form.content.decode()


def test_a_refused_check_in_says_why_and_keeps_nothing(personas, stores, now):
    response = login(personas.alice).post(f"/field/check-in/{stores[0].pk}/", {"latitude": "95", "longitude": "121"})
    assert response.status_code == 422
    assert not CheckIn.objects.exists()
    assert login(personas.bob).get(f"/field/check-in/{stores[0].pk}/").status_code == 404
    assert login(personas.fay).get("/field/").status_code == 403


def test_the_planner_adds_reorders_and_removes_stores(personas, stores, now):
    sam = login(personas.sam)
    base = {"rep": personas.alice.pk, "day": "2026-11-27"}
    for store in stores:
        sam.post("/field/plans/", {**base, "op": "add", "customer_id": store.pk})
    sam.post("/field/plans/", {**base, "op": "up", "customer_id": stores[2].pk})
    sam.post("/field/plans/", {**base, "op": "remove", "customer_id": stores[0].pk})
    order = list(
        RouteStop.objects.filter(day=date(2026, 11, 27)).order_by("position").values_list("customer_id", flat=True)
    )
    assert order == [stores[2].pk, stores[1].pk]
    page = sam.get(f"/field/plans/?rep={personas.alice.pk}&day=2026-11-27")
    assert page.status_code == 200
    assert "联华超市(3号店)" in page.content.decode()
    assert login(personas.alice).get("/field/plans/").status_code == 403


def test_the_compliance_page_downloads_as_xlsx_and_takes_a_store_location_from_a_check_in(personas, stores, now):
    nowhere = make_store(personas.alice, "新开门店", latitude=None, longitude=None)
    route_plan_set(
        by=personas.sam, rep_id=personas.alice.pk, day=THURSDAY, customer_ids=[nowhere.pk, stores[0].pk], now=now
    )
    made, _ = check_in(
        rep=personas.alice,
        customer_id=nowhere.pk,
        now=now,
        latitude=stores[1].latitude,
        longitude=stores[1].longitude + 1,
    )
    sam = login(personas.sam)
    page = sam.get("/field/compliance/?first=2026-11-26&last=2026-11-26")
    assert page.status_code == 200
    html = page.content.decode()
    assert "新开门店" in html
    assert "100.0%" in html
    sheet = load_workbook(__import__("io").BytesIO(sam.get("/field/compliance/?format=xlsx").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "alice"
    assert rows[1][1] == 2
    assert rows[1][2] == 1
    sam.post("/field/compliance/?first=2026-11-26", {"check_in": made.pk})
    nowhere.refresh_from_db()
    assert nowhere.latitude == made.latitude
    assert nowhere.longitude == made.longitude
    assert login(personas.alice).get("/field/compliance/").status_code == 403
    assert (now - timedelta(days=1)).date() < THURSDAY


def test_the_pool_and_my_tasks_download_as_xlsx_with_chinese_headers(personas, stores, now):
    import io

    from salestrace.customers.models import Customer
    from salestrace.todos.models import Task

    Customer.objects.filter(pk=stores[0].pk).update(
        status=Customer.Status.DORMANT, pool_entered_at=now - timedelta(days=3)
    )
    Task.objects.create(
        assignee=personas.alice,
        title='=HYPERLINK("x")复查陈列',
        due_at=now,
        source=Task.Source.MANUAL,
        customer=stores[1],
        created_at=now,
        updated_at=now,
    )
    alice = login(personas.alice)
    pool = load_workbook(io.BytesIO(alice.get("/pool/?format=xlsx").content)).active
    rows = list(pool.iter_rows(values_only=True))
    assert rows[0][0] == "客户"
    assert rows[1][0] == "联华超市(1号店)"
    assert rows[1][3] == 3
    tasks = load_workbook(io.BytesIO(alice.get("/tasks/?format=xlsx").content)).active
    rows = list(tasks.iter_rows(values_only=True))
    assert rows[0][0] == "任务"
    assert rows[1][0].startswith("=HYPERLINK")  # kept as text, never a formula
    assert tasks.cell(row=2, column=1).data_type == "s"
    assert rows[1][1] == "联华超市(2号店)"
