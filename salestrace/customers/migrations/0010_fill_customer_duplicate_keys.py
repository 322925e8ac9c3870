"""Fill the duplicate-check keys of customers made before the keys existed."""

import re
import unicodedata

from django.db import migrations

# A frozen copy of customers.dedupe.name_key / name_sound: migrations never import app code.
SUFFIXES = (
    "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "集团公司", "分公司", "公司",
    "旗舰店", "专卖店", "分店", "门店", "店",
)  # fmt: skip
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _key(name):
    text = _DROP.sub("", unicodedata.normalize("NFKC", name).casefold())
    for suffix in SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text[:200]


def fill(apps, schema_editor):
    from pypinyin import lazy_pinyin

    Customer = apps.get_model("customers", "Customer")
    batch = []
    for customer in Customer.objects.filter(name_key="").only("pk", "name").iterator(chunk_size=2000):
        customer.name_key = _key(customer.name)
        customer.name_sound = _NOT_ALNUM.sub("", "".join(lazy_pinyin(customer.name_key)).lower())[:300]
        batch.append(customer)
        if len(batch) >= 2000:
            Customer.objects.bulk_update(batch, ["name_key", "name_sound"])
            batch = []
    if batch:
        Customer.objects.bulk_update(batch, ["name_key", "name_sound"])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0009_duplicate_checks_and_merges"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
