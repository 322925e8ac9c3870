"""The normal settings plus the floor endpoint of the load benchmark (bench/floor.py).

The real API stays where it is (`/api/v1/...`); the floor is added next to it at `/bench/floor/actions`,
so both run in the same gunicorn, with the same middleware, database and connection settings.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
