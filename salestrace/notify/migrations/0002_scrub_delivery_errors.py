"""Delivery errors written before issue 10 could hold a webhook URL with its key or token, and up to
300 characters of a vendor's body. Keep what the new texts keep (the error class, the HTTP status,
the vendor's errcode) and drop the rest."""

import re

from django.db import migrations

KEEP = [
    re.compile(r"^network error: \w+"),
    re.compile(r"^HTTP \d+"),
    re.compile(r"^(?:gettoken errcode|errcode|code) -?\d+"),
    re.compile(r"^SMTP: \w+"),
    re.compile(r"^not JSON"),
    re.compile(r"^channel no longer configured for this recipient$"),
    re.compile(r"^invaliduser: [\w|@.-]*$"),
]
REMOVED = "(error text removed: it could contain a secret)"


def scrubbed(text: str) -> str:
    for pattern in KEEP:
        if found := pattern.match(text):
            return found.group(0)
    return REMOVED


def scrub(apps, schema_editor):
    Delivery = apps.get_model("notify", "Delivery")
    batch = []
    for delivery in Delivery.objects.exclude(last_error="").only("pk", "last_error").iterator(chunk_size=1000):
        clean = scrubbed(delivery.last_error)
        if clean != delivery.last_error:
            delivery.last_error = clean
            batch.append(delivery)
        if len(batch) >= 1000:
            Delivery.objects.bulk_update(batch, ["last_error"])
            batch = []
    Delivery.objects.bulk_update(batch, ["last_error"])


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
