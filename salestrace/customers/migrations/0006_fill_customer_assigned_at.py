"""Existing customers were assigned to their owner when they were created."""

from django.db import migrations
from django.db.models import F


def fill(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Customer.objects.filter(assigned_at__isnull=True).update(assigned_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_dormant_pool")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
