"""Each customer of a template that sells projects becomes one deal, with its actions and stage history.

Before deals existed a customer carried the one stage of its one sale. Where the loaded template
uses deals (policy `uses_deals`, or the B2B pack loaded before the policy existed), that sale
becomes a deal: titled after the customer, owned by its owner, engaged when the customer was
created, at the customer's stage, won or lost on the day its stage history says, amount 0 until
someone enters it. Templates without deals (FMCG stores) are left as they are.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

PROJECT_PACKS = {"b2b_industrial"}
BATCH = 500


def fill_deals(apps, schema_editor):  # type: ignore[no-untyped-def]
    Policy = apps.get_model("catalog", "Policy")
    TemplatePack = apps.get_model("catalog", "TemplatePack")
    policy = Policy.objects.filter(code="uses_deals").values_list("value", flat=True).first()
    if policy is False or (policy is None and not TemplatePack.objects.filter(code__in=PROJECT_PACKS).exists()):
        return
    Customer = apps.get_model("customers", "Customer")
    Deal = apps.get_model("customers", "Deal")
    StageHistory = apps.get_model("customers", "StageHistory")
    ActionLog = apps.get_model("actions", "ActionLog")
    zone = ZoneInfo(settings.TIME_ZONE)
    pending = Customer.objects.filter(deals__isnull=True).order_by("pk")
    last = 0
    while batch := list(pending.filter(pk__gt=last)[:BATCH]):
        for customer in batch:
            closing = (
                StageHistory.objects.filter(customer=customer, to_stage__in=("won", "lost"))
                .order_by("-changed_at", "-id")
                .first()
            )
            outcome = customer.stage if customer.stage in ("won", "lost") else "open"
            closed_on = None
            if outcome != "open":
                closed_on = (closing.changed_at if closing else customer.updated_at).astimezone(zone).date()
            deal = Deal.objects.create(
                customer=customer,
                title=customer.name[:200],
                owner_id=customer.owner_id,
                engaged_on=customer.created_at.astimezone(zone).date(),
                stage=customer.stage,
                outcome=outcome,
                closed_on=closed_on,
                last_action_at=customer.last_active_at,
                created_at=customer.created_at,
                updated_at=customer.updated_at,
            )
            ActionLog.objects.filter(customer=customer).update(deal=deal)
            StageHistory.objects.filter(customer=customer).update(deal=deal)
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0006_deals"),
        ("customers", "0007_deals"),
        ("catalog", "0003_catalog_version"),
    ]

    operations = [migrations.RunPython(fill_deals, migrations.RunPython.noop, elidable=True)]
