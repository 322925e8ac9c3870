"""The secret key of a single-machine install: made once, on the first `make run`, kept in var/.

`python -m config.secret_key [PATH]` writes a new random key to PATH (default: var/secret_key, or
$SALESTRACE_VAR_DIR/secret_key), readable by its owner only, unless the file exists. The settings read
that file when neither SECRET_KEY nor SECRET_KEY_FILE is set. Imports no settings: it runs before them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def default_path() -> Path:
    """Where the settings look for the key when SECRET_KEY and SECRET_KEY_FILE are unset."""
    return Path(os.environ.get("SALESTRACE_VAR_DIR") or BASE_DIR / "var") / "secret_key"


def ensure_secret_key_file(path: Path) -> bool:
    """Write a new key to `path` unless it exists; True when one was made. Two first starts at once
    cannot write two keys: the file is created exclusively and the loser keeps the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(get_random_secret_key() + "\n")
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else default_path()
    if ensure_secret_key_file(target):
        print(f"wrote a new secret key to {target} (keep it: sessions and signed links depend on it)")
