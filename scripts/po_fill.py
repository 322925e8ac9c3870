"""Fill zh_Hans translations from a JSON file of {msgid: msgstr}; reports what is still missing.

Usage: .venv/bin/python scripts/po_fill.py translations.json
"""

import json
import sys
from pathlib import Path

import polib

PO = Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def main() -> int:
    table = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")) if len(sys.argv) > 1 else {}
    po = polib.pofile(str(PO))
    po.metadata.update({"Language": "zh_Hans", "Content-Type": "text/plain; charset=UTF-8"})
    po.metadata_is_fuzzy = False
    for entry in po:
        if entry.msgid in table:
            if entry.msgid_plural:
                entry.msgstr_plural = {0: table[entry.msgid]}
            else:
                entry.msgstr = table[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    po.save()
    missing = [e.msgid for e in po if not e.translated()]
    for msgid in missing:
        print("missing:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
