"""Salesforce and HubSpot exports imported as they come: the Account/Company and Opportunity/Deal
reports' own headers, US dates, default stage names mapped to SalesTrace's, owners by name."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from salestrace.customers.models import Customer, Deal
from salestrace.imports.presets import crm_date
from salestrace.imports.tests.conftest import csv_bytes
from salestrace.org.models import Role, User


def test_us_dates_become_iso_and_iso_stays() -> None:
    assert crm_date("12/31/2026") == "2026-12-31"
    assert crm_date("3/1/2026 10:15 AM") == "2026-03-01"
    assert crm_date("2026-03-01 10:00") == "2026-03-01"
    assert crm_date("31.12.2026") == "31.12.2026"  # not guessed: the importer refuses it by row


@pytest.fixture
def jane(personas: Any) -> User:
    return User.objects.create_user(username="jane.doe", password="x", role=Role.REP, team=personas.east1)


@pytest.mark.django_db
def test_a_salesforce_export_comes_in(personas: Any, b2b: None, jane: User, now: datetime, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes(csv_bytes([
        ["Account ID", "Account Name", "Account Owner", "Industry", "Billing City", "Billing State/Province"],
        ["001A", "Acme Corp", "Jane Doe", "Manufacturing", "Suzhou", "Jiangsu"],
    ]))  # fmt: skip
    call_command("import_data", "customers", str(accounts), "--preset", "salesforce", "--as", "root")
    acme = Customer.objects.get(name="Acme Corp")
    assert (acme.owner, acme.city, acme.region) == (jane, "Suzhou", "Jiangsu")
    opportunities = tmp_path / "opportunities.csv"
    opportunities.write_bytes(csv_bytes([
        ["Opportunity ID", "Opportunity Name", "Account ID", "Opportunity Owner", "Amount", "Stage", "Close Date", "Created Date"],
        ["006A", "Acme line 2", "001A", "Jane Doe", "120,000.00", "Closed Won", "11/20/2026", "9/1/2026"],
        ["006B", "Acme spares", "001A", "Jane Doe", "8000", "Proposal/Price Quote", "12/31/2026", "10/2/2026"],
    ]))  # fmt: skip
    call_command("import_data", "deals", str(opportunities), "--preset", "salesforce", "--as", "root")
    won, open_deal = Deal.objects.get(title="Acme line 2"), Deal.objects.get(title="Acme spares")
    assert (won.outcome, won.closed_on, won.amount) == ("won", date(2026, 11, 20), Decimal("120000.00"))
    assert (open_deal.stage, open_deal.outcome, open_deal.expected_close) == (
        "price_negotiation", "open", date(2026, 12, 31),
    )  # fmt: skip


@pytest.mark.django_db
def test_a_hubspot_export_comes_in_and_an_unknown_stage_is_refused_by_row(
    personas: Any, b2b: None, jane: User, now: datetime, tmp_path: Path
) -> None:
    companies = tmp_path / "companies.csv"
    companies.write_bytes(csv_bytes([
        ["Record ID", "Company name", "Company owner", "City"], ["9001", "Globex", "Jane Doe", "Hangzhou"],
    ]))  # fmt: skip
    call_command("import_data", "customers", str(companies), "--preset", "hubspot", "--as", "root")
    deals = tmp_path / "deals.csv"
    deals.write_bytes(csv_bytes([
        ["Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date", "Create Date", "Deal owner", "Associated Company IDs"],
        ["77", "Globex pilot", "Contract Sent", "50000", "2026-12-20 00:00", "2026-10-01 09:30", "Jane Doe", "9001"],
        ["78", "Globex odd", "Our Own Stage", "1", "", "2026-10-01", "Jane Doe", "9001"],
    ]))  # fmt: skip
    with pytest.raises(CommandError):  # whole file or nothing: one stage nobody knows refuses it
        call_command("import_data", "deals", str(deals), "--preset", "hubspot", "--as", "root")
    assert not Deal.objects.exists()
    call_command("import_data", "deals", str(deals), "--preset", "hubspot", "--skip-bad-rows", "--as", "root")
    pilot = Deal.objects.get()
    assert (pilot.title, pilot.stage, pilot.customer.name) == ("Globex pilot", "contract_signing", "Globex")


def test_us_times_become_iso() -> None:
    from salestrace.imports.presets import crm_datetime

    assert crm_datetime("3/1/2026 2:05 PM") == "2026-03-01 14:05:00"
    assert crm_datetime("3/1/2026 12:30 AM") == "2026-03-01 00:30:00"
    assert crm_datetime("12/31/2026 17:45") == "2026-12-31 17:45:00"
    assert crm_datetime("2026-03-01T09:30:00Z") == "2026-03-01 09:30:00"
    assert crm_datetime("12/31/2026") == "2026-12-31"


@pytest.mark.django_db
def test_salesforce_tasks_and_hubspot_activities_become_actions(
    personas: Any, b2b: None, jane: User, now: datetime, tmp_path: Path
) -> None:
    from salestrace.actions.models import ActionLog

    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes(
        csv_bytes([["Account ID", "Account Name", "Account Owner"], ["001A", "Acme Corp", "Jane Doe"]])
    )
    call_command("import_data", "customers", str(accounts), "--preset", "salesforce", "--as", "root")
    opportunities = tmp_path / "opportunities.csv"
    opportunities.write_bytes(csv_bytes([
        ["Opportunity ID", "Opportunity Name", "Account ID", "Opportunity Owner", "Stage", "Close Date", "Created Date"],
        ["006B", "Acme spares", "001A", "Jane Doe", "Proposal/Price Quote", "12/31/2026", "10/2/2026"],
    ]))  # fmt: skip
    call_command("import_data", "deals", str(opportunities), "--preset", "salesforce", "--as", "root")
    tasks = tmp_path / "tasks.csv"
    tasks.write_bytes(csv_bytes([
        ["Activity ID", "Subject", "Task Subtype", "Date", "Assigned", "Account ID", "Opportunity ID", "Comments", "Created Date"],
        ["00T1", "Call about spares", "Call", "10/5/2026 3:30 PM", "Jane Doe", "001A", "006B", "Wants a quote by Friday", "10/5/2026 4:00 PM"],
        ["00T2", "Intro meeting", "Event", "10/3/2026 10:00 AM", "Jane Doe", "001A", "", "", ""],
        ["00T3", "Remember to call", "Task", "10/6/2026", "Jane Doe", "001A", "", "", ""],
    ]))  # fmt: skip
    with pytest.raises(CommandError):  # a to-do is not a contact: refused by row, so nothing is written
        call_command("import_data", "actions", str(tasks), "--preset", "salesforce", "--as", "root")
    call_command("import_data", "actions", str(tasks), "--preset", "salesforce", "--skip-bad-rows", "--as", "root")
    call, meeting = ActionLog.objects.order_by("occurred_at").reverse()
    assert (call.contact_method, call.rep, call.stage, call.source) == ("phone", jane, "price_negotiation", "imported")
    assert call.summary == "Call about spares\nWants a quote by Friday"
    assert call.deal is not None
    assert call.deal.title == "Acme spares"
    # an activity that names no opportunity stays the customer's, at the stage the customer shows
    assert (meeting.contact_method, meeting.deal_id, meeting.stage) == ("visit", None, "price_negotiation")
