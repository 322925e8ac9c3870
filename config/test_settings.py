"""The settings of the test suite: the normal ones with a throwaway key, because a test serves nobody
and a clean clone has no var/secret_key yet. Set in the environment, so the fresh interpreters some
tests start (settings, `check --deploy`) get it too unless they drop it on purpose."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-key-" + "x7Qp2" * 10)

from config.settings import *  # noqa: F403
