"""Benchmarks: run from the repository root, e.g. `python bench/load_actions.py` (see README.md).

Like `make run`, they use the local secret key (var/secret_key, made here on first use) unless
SECRET_KEY or SECRET_KEY_FILE is set; every process they start inherits it through SECRET_KEY_FILE.
"""

import os

from config.secret_key import default_path, ensure_secret_key_file

if not os.environ.get("SECRET_KEY") and not os.environ.get("SECRET_KEY_FILE"):
    ensure_secret_key_file(default_path())
    os.environ["SECRET_KEY_FILE"] = str(default_path())
