"""Evidence may be uploaded before its action exists: `action` becomes optional and the
customer the file was taken for is kept on the row (filled from the action for existing rows)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_customer(apps, schema_editor):
    Evidence = apps.get_model("actions", "Evidence")
    ActionLog = apps.get_model("actions", "ActionLog")
    Evidence.objects.filter(customer__isnull=True).update(
        customer_id=Subquery(ActionLog.objects.filter(pk=OuterRef("action_id")).values("customer_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0003_evidence_and_system_edits"),
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="evidence",
            name="customer",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="customers.customer",
                verbose_name="customer",
            ),
        ),
        migrations.RunPython(fill_customer, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="evidence",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="customers.customer",
                verbose_name="customer",
            ),
        ),
        migrations.AlterField(
            model_name="evidence",
            name="action",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="evidence",
                to="actions.actionlog",
                verbose_name="action",
            ),
        ),
        migrations.AddIndex(
            model_name="evidence",
            index=models.Index(
                condition=models.Q(("action__isnull", True)), fields=["created_at"], name="evidence_unattached_idx"
            ),
        ),
    ]
