"""Settings for bbdash, read from environment variables (every one is listed in .env.example).

With nothing set, the site runs on embedded defaults: SQLite and a filesystem Celery broker under var/. Setting
DATABASE_URL and CELERY_BROKER_URL switches to PostgreSQL and Redis with no other change.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from celery.schedules import crontab
from django.utils.csp import CSP

from dashboard.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_broker_url,
    env_database,
    env_int,
    env_list,
    env_str,
    env_url,
    env_url_list,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BBDASH_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret_key() -> str:
    """The configured key, or one generated once into var/ so a laptop install keeps its sessions across restarts."""
    configured = env_str("DJANGO_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ImproperlyConfiguredEnv("DJANGO_SECRET_KEY", "must be at least 32 characters long")
        return configured
    key_file = VAR_DIR / "secret_key"
    try:
        # Created readable by its owner only from the first byte (a chmod afterwards leaves a window), and never
        # over an existing key: another process starting at the same moment may have just written it.
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as new_key:
            new_key.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "dashboard.apps.AdminConfig",  # django.contrib.admin with the site's own guard and throttled login
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "bitbucket_sync",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Dates and times in the viewer's zone (the `tz` cookie set by static/js/timezone.js; validated).
    "dashboard.timezones.ViewerTimeZoneMiddleware",
    # Every page needs a signed-in user unless its view opts out (login, health, webhooks).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

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
                "dashboard.theme.context",
                "dashboard.credential_health.context",
            ],
            # `safe_url` is a builtin so no template that shows a Bitbucket link can forget to load it; `icon` so
            # any template can draw one.
            "builtins": [
                "django_htmx.templatetags.django_htmx",
                "dashboard.templatetags.icons",
                "dashboard.templatetags.links",
                "dashboard.templatetags.times",
            ],
        },
    },
]

_SQLITE_DEFAULT = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": VAR_DIR / "bbdash.sqlite3",
    # The web server and the Celery worker write at the same time: WAL lets readers go on while one writes, and
    # IMMEDIATE transactions queue writers instead of failing with "database is locked".
    "OPTIONS": {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    },
    # A file, not memory, so a test's Celery worker (another process) sees the same test database.
    "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
}
DATABASES = {"default": env_database("DATABASE_URL", _SQLITE_DEFAULT)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("BBDASH_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic's output; an image collects at build time into a folder outside the var/ volume it mounts.
STATIC_ROOT = Path(env_str("BBDASH_STATIC_ROOT", str(VAR_DIR / "staticfiles"))).resolve()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Names carry a hash of the content (css/bbdash.4f1c….css), so browsers may cache them forever and a deploy
    # never serves a page with last release's script. Without DEBUG, a page needs `collectstatic` to have run: the
    # demo command and the test session run it, the Dockerfile runs it at build.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Only a developer's DEBUG server serves straight from the source folders (unhashed names, edits seen at once).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- Bitbucket --------------------------------------------------------------------------------------------------
# Fernet keys, newest first, that encrypt stored credentials. Without the variable, the key file var/encryption_keys
# (one key a line, newest first; `make demo` generates it) is read. With neither, `bitbucket_sync`'s system check and
# the web and worker entry points refuse to start and say how to make a key; nothing generates one silently, because
# a lost key makes every stored credential unreadable.
ENCRYPTION_KEY_FILE = VAR_DIR / "encryption_keys"


def _encryption_keys() -> list[str]:
    configured = env_list("BBDASH_ENCRYPTION_KEYS", [])
    if configured or not ENCRYPTION_KEY_FILE.exists():
        return configured
    lines = [line for line in ENCRYPTION_KEY_FILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    return [key.strip() for line in lines for key in line.split(",") if key.strip()]


BBDASH_ENCRYPTION_KEYS = _encryption_keys()
# Members may replace their own credential at /-/me/ (admins always can, for everyone).
BBDASH_CREDENTIAL_SELF_SERVICE = env_bool("BBDASH_CREDENTIAL_SELF_SERVICE", False)
BITBUCKET_API_URL = env_url("BITBUCKET_API_URL", "https://api.bitbucket.org/2.0")
# Reserved for the Data Center backend: its sites' base URLs. With BITBUCKET_API_URL they are the only URLs a
# credential may name (bitbucket_sync.sites), since a credential's URL is where its secret is sent.
BBDASH_DATACENTER_URLS = env_url_list("BBDASH_DATACENTER_URLS")

# --- Live updates (Bitbucket webhooks) ---------------------------------------------------------------------------
# The base URL Bitbucket can reach this site at (https://dash.example.com); live updates cannot be turned on without.
BBDASH_PUBLIC_URL = env_str("BBDASH_PUBLIC_URL").rstrip("/")
# While deliveries arrive, polling slows to this cadence (the safety net for lost deliveries).
BBDASH_WEBHOOK_POLL_MINUTES = env_int("BBDASH_WEBHOOK_POLL_MINUTES", 60, minimum=1)
# No delivery for this long while Bitbucket shows activity: polling returns to its normal cadence.
BBDASH_WEBHOOK_SILENCE_MINUTES = env_int("BBDASH_WEBHOOK_SILENCE_MINUTES", 30, minimum=1)
# Deliveries kept per workspace in the delivery log.
BBDASH_WEBHOOK_LOG_SIZE = env_int("BBDASH_WEBHOOK_LOG_SIZE", 500, minimum=10)

# Live reads (files, diffs) are cached by commit hash. A file cache under var/ is shared by every gunicorn worker
# and survives restarts, so each file or diff costs one request against Bitbucket's hourly budget, not one per
# worker; it needs no server, like the other embedded defaults.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
    # Failed sign-in counters (dashboard.login_throttle): files too, so every gunicorn worker counts the same
    # failures; a cache of their own, so culling live reads never drops a counter.
    "logins": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache-logins"),
        "OPTIONS": {"MAX_ENTRIES": 50_000},
    },
}

# --- Sign-in throttling (dashboard.login_throttle) ---------------------------------------------------------------
# Failed passwords for one username from one address before sign-in is paused (even with the right password).
BBDASH_LOGIN_FAILURE_LIMIT = env_int("BBDASH_LOGIN_FAILURE_LIMIT", 30, minimum=1)
# Failed passwords from one address, whatever the usernames (one source trying many accounts).
BBDASH_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("BBDASH_LOGIN_ADDRESS_FAILURE_LIMIT", 100, minimum=1)
# Failed passwords for one username from any address; higher, since reaching it locks that person out everywhere.
BBDASH_LOGIN_USERNAME_FAILURE_LIMIT = env_int("BBDASH_LOGIN_USERNAME_FAILURE_LIMIT", 300, minimum=1)
# A counter is forgotten this long after the last failure it counted; a paused sign-in waits as long.
BBDASH_LOGIN_COOLDOWN_MINUTES = env_int("BBDASH_LOGIN_COOLDOWN_MINUTES", 15, minimum=1)
# Proxies in front of the site that append to X-Forwarded-For (0: clients connect directly). The client address
# throttling counts by is the entry the outermost of them added; with 0, the header is ignored, since clients can
# write anything in it.
BBDASH_TRUSTED_PROXY_COUNT = env_int("BBDASH_TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- HTTPS (production behind a TLS-terminating proxy) -----------------------------------------------------------
# BBDASH_HTTPS=1 turns on everything `manage.py check --deploy` asks for. The proxy must set X-Forwarded-Proto (and
# drop any the client sent): Django trusts it to know a request came in over TLS.
BBDASH_HTTPS = env_bool("BBDASH_HTTPS", False)
SESSION_COOKIE_HTTPONLY = True
# BBDASH_SECURE_COOKIES, the older switch, still makes the cookies secure on its own (without redirect or HSTS).
SESSION_COOKIE_SECURE = BBDASH_HTTPS or env_bool("BBDASH_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if BBDASH_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Load balancers probe the health page over plain HTTP inside the network; a redirect would read as "down".
    SECURE_REDIRECT_EXEMPT = [r"^-/health$"]
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading commits the whole domain to HTTPS in browsers for months and cannot be undone quickly: a decision
    # for the domain's owner, not a default of one application on it.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Content-Security-Policy on every response: scripts and styles only from our own static files, so neither a
# template nor Bitbucket content that slipped past the Markdown sanitiser can run inline code. Behaviour lives in
# static/js/; htmx is told (meta htmx-config in base.html) never to eval nor inject its indicator <style>.
_api = urlsplit(BITBUCKET_API_URL)
_PLAIN_HTTP_API_ORIGIN = [f"http://{_api.netloc}"] if _api.scheme == "http" else []
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    # Avatars and images in Markdown come from Bitbucket's and others' hosts, always over https; an emulator (the
    # demo's) serves its avatars from the API's own host, over plain http.
    "img-src": [CSP.SELF, "https:", *_PLAIN_HTTP_API_ORIGIN],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- Celery (read by dashboard/celery.py through namespace="CELERY") ---------------------------------------------
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_broker_url("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport passes messages through files, so a worker and the web server share it across
    # processes with no server to run.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        # The worker looks for new message files this often (kombu's default is 1 s); a webhook delivery waits for
        # that look, so a shorter interval keeps live updates within a second. Redis pushes and needs none.
        "polling_interval": 0.2,
    }
    _RESULTS_DEFAULT = f"file://{VAR_DIR / 'celery-results'}"
    (VAR_DIR / "celery-results").mkdir(exist_ok=True)
else:
    # Redis redelivers an unacknowledged message after visibility_timeout; it must exceed the longest task
    # (time limit below) plus the longest countdown a retry waits (a rate-limit pause), or a running task is doubled.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
    _RESULTS_DEFAULT = CELERY_BROKER_URL
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", _RESULTS_DEFAULT)
CELERY_RESULT_EXPIRES = 24 * 3600
# Sync tasks record their outcome in SyncRun rows; only tasks that opt in keep a result.
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, so a worker killed mid-task leaves it queued for the next worker; the tasks
# are idempotent upserts, so running one twice is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per process: sync tasks are long and uneven, prefetching would starve idle workers.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# JSON only: no pickle, so a message on the broker can never execute code in the worker.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A repository's sync is a few pages of API calls; ten minutes means something is stuck, and the hard limit a minute
# later kills it so the worker slot comes back.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("BBDASH_TASK_SOFT_TIME_LIMIT", 600, minimum=10)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- Sync (bitbucket_sync.sync, bitbucket_sync.tasks) -------------------------------------------------------------
# Minutes between incremental syncs of every workspace: an unchanged workspace costs one request per repository plus
# a few listings, so 5 minutes spends about a tenth of a 200-repository workspace's hourly allowance.
BBDASH_SYNC_INTERVAL_MINUTES = env_int("BBDASH_SYNC_INTERVAL_MINUTES", 5, minimum=1)
# Hour (UTC) of the daily full reconciliation, which re-lists everything and catches whatever polling missed.
BBDASH_FULL_SYNC_HOUR = env_int("BBDASH_FULL_SYNC_HOUR", 3, minimum=0)
if BBDASH_FULL_SYNC_HOUR > 23:
    raise ImproperlyConfiguredEnv("BBDASH_FULL_SYNC_HOUR", f"must be an hour from 0 to 23; got {BBDASH_FULL_SYNC_HOUR}")
# Watchers have no updated_on, so they are re-listed on this slower cadence (and on the full reconciliation).
BBDASH_WATCHERS_INTERVAL_HOURS = env_int("BBDASH_WATCHERS_INTERVAL_HOURS", 24, minimum=1)
# Branch restrictions rarely change and have no webhook: re-read on a full sync and when older than this.
BBDASH_RESTRICTIONS_HOURS = env_int("BBDASH_RESTRICTIONS_HOURS", 6, minimum=1)
# Minutes between two open-PR reconciles of a repository where the pull request listing cannot be filtered by
# update (Data Center): every open pull request listed with its reviewers, catching reviews that move nothing in the
# listing's order (one request per 100 open pull requests, plus one per pull request that closed). 0: on every
# incremental sync. The nightly full sync (BBDASH_FULL_SYNC_HOUR) re-reads everything on every site.
BBDASH_OPEN_PR_RECONCILE_MINUTES = env_int("BBDASH_OPEN_PR_RECONCILE_MINUTES", 15, minimum=0)
# A running build's statuses are read again at most this often (a finished build does not move the PR's updated_on).
BBDASH_STATUS_POLL_MINUTES = env_int("BBDASH_STATUS_POLL_MINUTES", 5, minimum=1)
# Share (%) of Bitbucket's 1,000 requests/hour per credential that syncs leave free for people's actions.
BBDASH_BUDGET_RESERVE_PERCENT = env_int("BBDASH_BUDGET_RESERVE_PERCENT", 30, minimum=0)
if BBDASH_BUDGET_RESERVE_PERCENT > 100:
    raise ImproperlyConfiguredEnv(
        "BBDASH_BUDGET_RESERVE_PERCENT", f"must be 0 to 100; got {BBDASH_BUDGET_RESERVE_PERCENT}"
    )
# Minutes between two "Sync now" runs of one workspace (staff may override); each run spends the shared allowance.
BBDASH_MANUAL_SYNC_MINUTES = env_int("BBDASH_MANUAL_SYNC_MINUTES", 5, minimum=1)
# First wait after a 429 without Retry-After (Bitbucket usually sends none); it doubles on each 429 that follows.
BBDASH_RATE_LIMIT_BACKOFF_SECONDS = env_int("BBDASH_RATE_LIMIT_BACKOFF_SECONDS", 60, minimum=1)
# First wait after Bitbucket was unavailable (5xx, 555, timeout); doubles on each retry.
BBDASH_SYNC_RETRY_BACKOFF_SECONDS = env_int("BBDASH_SYNC_RETRY_BACKOFF_SECONDS", 10, minimum=1)
# How long a sync's workspace lock outlives the last sign of life of its worker: a killed worker's run is resumed by
# another after this (running tasks renew it on every page, so it only needs to exceed one page's request).
BBDASH_SYNC_LOCK_SECONDS = env_int("BBDASH_SYNC_LOCK_SECONDS", 300, minimum=2)
# Days the request ledger keeps every Bitbucket request (the budget needs one hour; the rest is history).
BBDASH_LEDGER_DAYS = env_int("BBDASH_LEDGER_DAYS", 30, minimum=1)
# Hour (UTC) of the daily re-check of every credential (bitbucket_sync.tasks.recheck_credentials): one request each
# (who it acts as), the full check only for one whose state changed; a 401 met any other time marks it at once.
BBDASH_CREDENTIAL_CHECK_HOUR = env_int("BBDASH_CREDENTIAL_CHECK_HOUR", 2, minimum=0)
if BBDASH_CREDENTIAL_CHECK_HOUR > 23:
    raise ImproperlyConfiguredEnv(
        "BBDASH_CREDENTIAL_CHECK_HOUR", f"must be an hour from 0 to 23; got {BBDASH_CREDENTIAL_CHECK_HOUR}"
    )
# Seconds between two credentials' re-checks, so a server with many users is not asked all at once.
BBDASH_CREDENTIAL_CHECK_SPACING_SECONDS = env_int("BBDASH_CREDENTIAL_CHECK_SPACING_SECONDS", 5, minimum=0)
CELERY_BEAT_SCHEDULE = {
    "sync-all-workspaces": {
        "task": "bitbucket_sync.tasks.sync_all_workspaces",
        "schedule": BBDASH_SYNC_INTERVAL_MINUTES * 60.0,
        "kwargs": {"kind": "incremental"},
    },
    "full-sync-daily": {
        "task": "bitbucket_sync.tasks.sync_all_workspaces",
        "schedule": crontab(minute=0, hour=BBDASH_FULL_SYNC_HOUR),
        "kwargs": {"kind": "full"},
    },
    # A run whose worker died is continued by another once its lock has expired.
    "resume-stalled-syncs": {"task": "bitbucket_sync.tasks.resume_stalled_syncs", "schedule": 60.0},
    # Live updates: is each workspace's webhook still on Bitbucket (re-created if lost); stuck deliveries re-sent.
    "check-webhooks": {"task": "bitbucket_sync.webhooks.tasks.check_webhook_subscriptions", "schedule": 15 * 60.0},
    # The ledger, finished sync runs, action receipts and webhook deliveries would otherwise grow forever.
    "prune-history": {"task": "bitbucket_sync.tasks.prune_history", "schedule": 3600.0},
    # Credential health: every credential asked once a day whether Bitbucket still accepts it (and restored if so).
    "recheck-credentials-daily": {
        "task": "bitbucket_sync.tasks.recheck_credentials",
        "schedule": crontab(minute=30, hour=BBDASH_CREDENTIAL_CHECK_HOUR),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("BBDASH_LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
