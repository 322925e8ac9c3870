"""Fill the pinyin search keys of customers created before the keys existed."""

import re

from django.db import migrations

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def fill(apps, schema_editor):
    # A frozen copy of compute.pinyin_keys: migrations never import app code.
    from pypinyin import Style, lazy_pinyin

    Customer = apps.get_model("customers", "Customer")
    batch = []
    for customer in Customer.objects.filter(name_initials="").only("pk", "name").iterator(chunk_size=2000):
        customer.name_pinyin = _NOT_ALNUM.sub("", "".join(lazy_pinyin(customer.name)).lower())[:1000]
        customer.name_initials = _NOT_ALNUM.sub(
            "", "".join(lazy_pinyin(customer.name, style=Style.FIRST_LETTER)).lower()
        )[:200]
        batch.append(customer)
        if len(batch) >= 2000:
            Customer.objects.bulk_update(batch, ["name_pinyin", "name_initials"])
            batch = []
    if batch:
        Customer.objects.bulk_update(batch, ["name_pinyin", "name_initials"])


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0003_customer_name_pinyin'),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
