"""Users still on the old default (["wecom_group", "wecom_app"]) follow their team's channels instead.

Nobody chose that list: it was the default, and it delivered nothing in companies without WeCom.
"""

from django.db import migrations

OLD_DEFAULT = ["wecom_group", "wecom_app"]


def forwards(apps, schema_editor):
    User = apps.get_model("org", "User")
    ids = [pk for pk, channels in User.objects.values_list("pk", "notify_channels") if channels == OLD_DEFAULT]
    for start in range(0, len(ids), 1000):
        User.objects.filter(pk__in=ids[start : start + 1000]).update(notify_channels=None)


def backwards(apps, schema_editor):
    User = apps.get_model("org", "User")
    User.objects.filter(notify_channels__isnull=True).update(notify_channels=OLD_DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("org", "0004_user_language_mobile_channels_default_team")]

    operations = [migrations.RunPython(forwards, backwards)]
