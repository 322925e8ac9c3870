"""Wake-up tasks made before owners were told once a night were each announced on their own when
made: mark them announced, so the first nightly notice does not list them all again."""

from django.db import migrations
from django.db.models import F


def mark_announced(apps, schema_editor):  # type: ignore[no-untyped-def]
    Task = apps.get_model("todos", "Task")
    Task.objects.filter(source="wakeup", reminded_at__isnull=True).update(reminded_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("todos", "0002_official_schedule_and_estimated_due")]

    operations = [migrations.RunPython(mark_announced, migrations.RunPython.noop)]
