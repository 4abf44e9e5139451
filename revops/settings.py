"""Leadflow settings, read from the environment (12-factor).

Every setting a deployment changes comes from an environment variable; the defaults give the zero-setup
developer mode (SQLite file, embedded Redis-compatible server started by `manage.py serve`).
"""

import os
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable as a list of non-empty items."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
# Django's own test of a strong key (check --deploy, security.W009): long, varied, not the generated insecure one.
MIN_SECRET_KEY_LENGTH = 50
if not DEBUG:
    # Production mode refuses to start on development defaults.
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    if len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} random characters when DEBUG is off "
            "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
else:
    SECRET_KEY = SECRET_KEY or "leadflow-development-only-secret-key-not-for-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "simple_history",
    "axes",
    "corsheaders",
    "revops.base",
    "leads",
    "scoring",
    "routing",
    "revops.top",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin styles, the vendored Chart.js) from any WSGI server, gunicorn included, with DEBUG off.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything that answers: CORS headers for website forms only (CORS_URLS_REGEX, leads/webforms_cors.py).
    "corsheaders.middleware.CorsMiddleware",
    "revops.base.api.ApiJsonErrorsMiddleware",
    "revops.base.db.busy.SqliteWebBusyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's messages, the storage made only when a request uses it (API requests never do).
    "revops.base.web_messages.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "revops.urls"
WSGI_APPLICATION = "revops.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,  # a persistent connection is checked before a request reuses it
    )
}
# SQLite's busy timeouts (seconds): how long a worker or a command waits for the write lock, and how long a web
# request waits before it answers 503 with Retry-After (revops/base/db/busy.py).
LEADFLOW_SQLITE_BUSY_TIMEOUT = float(os.environ.get("LEADFLOW_SQLITE_BUSY_TIMEOUT", "20"))
LEADFLOW_SQLITE_WEB_BUSY_TIMEOUT = float(os.environ.get("LEADFLOW_SQLITE_WEB_BUSY_TIMEOUT", "2"))
# SQLite: at most how long (milliseconds) a worker's next write transaction waits for the web requests writing now
# (revops/base/db/webfirst.py); 0 turns the turn-taking off. Short: at 100 forms a second the web writes most of the
# time, and a longer wait (200 ms) held the pipeline back until its steps piled up (docs/benchmarks.md).
LEADFLOW_SQLITE_WORKER_YIELD_MS = float(os.environ.get("LEADFLOW_SQLITE_WORKER_YIELD_MS", "40"))
LEADFLOW_BUSY_RETRY_AFTER = int(os.environ.get("LEADFLOW_BUSY_RETRY_AFTER", "1"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker write the same file without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": LEADFLOW_SQLITE_BUSY_TIMEOUT,
            "transaction_mode": "IMMEDIATE",
            # serve's checkpointer keeps the log short (revops/base/db/sqlite.py); the automatic checkpoint is the
            # safety net for processes that run without it. Pages are read through a memory map of the file
            # (SQLITE_MMAP_MB, SQLite caps it near 2 GB): the processes share the system's file cache instead of
            # copying each page they read into a private cache of SQLITE_CACHE_MB per connection. Without it, once
            # the database passed about 250 MB (13,000 forms into a run at 60 a second) the workers' CPU rose by half
            # at once and the API's answers queued for seconds (docs/benchmarks.md, "Nineteenth stop").
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint="
            f"{int(os.environ.get('SQLITE_WAL_AUTOCHECKPOINT', '10000'))}; "
            f"PRAGMA cache_size=-{int(os.environ.get('SQLITE_CACHE_MB', '64')) * 1024}; "
            f"PRAGMA mmap_size={int(os.environ.get('SQLITE_MMAP_MB', '2048')) * 1024 * 1024};",
        }
    )

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles a query's expressions when its estimated cost is high; the dashboards' aggregates
    # (many FILTERed counts over a cohort) spent seconds compiling and milliseconds running. Off by default
    # (docs/benchmarks.md: the speed page 20 s → 5 s at 100k leads); LEADFLOW_PG_JIT=true turns it back on.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # Parameters bound by the server (psycopg 3), which prepared statements need (below).
    # DATABASE_SERVER_SIDE_BINDING=false: Django's client-side binding, and nothing is prepared.
    options.setdefault("server_side_binding", env_bool("DATABASE_SERVER_SIDE_BINDING", True))
    # Django turns psycopg's prepared statements off unless asked (for connection poolers in transaction mode), so
    # server-side binding alone parsed and planned every statement every time. psycopg prepares a statement on its
    # sixth run on a connection: PostgreSQL's CPU a form fell from about 6.3 to 3.9 ms (docs/benchmarks.md,
    # twenty-sixth stop). DATABASE_PREPARE_THRESHOLD empty: never prepare (a pooler that cannot keep them).
    threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
    options.setdefault("prepare_threshold", int(threshold) if threshold.strip() else None)
    if not env_bool("LEADFLOW_PG_JIT", False):
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    # The memory a sort or hash may use before it spills to disk: the dashboards sort a period's durations (a third
    # of a million values at a million leads), which spill at PostgreSQL's default of 4 MB.
    LEADFLOW_PG_WORK_MEM = os.environ.get("LEADFLOW_PG_WORK_MEM", "32MB")
    if LEADFLOW_PG_WORK_MEM:
        options["options"] = f"{options.get('options', '')} -c work_mem={LEADFLOW_PG_WORK_MEM}".strip()
    # Django's backend with a health check that reads the connection's socket instead of asking the server
    # (revops/base/db/postgresql/base.py): a persistent connection is checked before each request reuses it.
    DATABASES["default"]["ENGINE"] = "revops.base.db.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: a locked-out username and address is refused before the password is even checked, on both login
# pages (/accounts/login/ and /admin/login/).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- HTTPS and cookies (check --deploy): on by default when DEBUG is off, each can be turned off by its variable.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and strips it from clients).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# A request body larger than this is refused: 413 under /api/ (revops/base/api.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(2 * 1024 * 1024)))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the apps' static files where they are (no collectstatic step); after `collectstatic` it serves
# STATIC_ROOT as well.
WHITENOISE_USE_FINDERS = True
# Until `collectstatic` has run, STATIC_ROOT does not exist: nothing is missing (the finders serve every file).
warnings.filterwarnings("ignore", message="No directory at")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "media/"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/workspace/"

# --- Redis and RQ ---------------------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Workers take the queues hottest first (revops.base.jobs.PIPELINE_QUEUES): a demo request is never queued behind a
# burst of e-mail opens (bulk).
RQ_QUEUES = {
    "hot": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300},
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300},
    "bulk": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300},
}
# Leadflow defers every enqueue to transaction.on_commit itself (revops.base.jobs.enqueue_after_commit), so django-rq
# must not defer a second time.
RQ = {"COMMIT_MODE": "auto"}
# The RQ dashboard is for RevOps admins only, at /django-rq/ (revops/top/access.py); not also inside the admin, where
# every staff user (a sales manager) could empty queues.
RQ_SHOW_ADMIN_LINK = False
LEADFLOW_JOB_RETRY_MAX = int(os.environ.get("LEADFLOW_JOB_RETRY_MAX", "3"))
LEADFLOW_DEDUP_NAME_THRESHOLD = float(os.environ.get("LEADFLOW_DEDUP_NAME_THRESHOLD", "85"))
LEADFLOW_JOB_RETRY_INTERVALS = [int(s) for s in env_list("LEADFLOW_JOB_RETRY_INTERVALS", "5,30,120")]
# migrate creates the default industry vocabulary and an editable default scoring model when there is none.
LEADFLOW_DEFAULTS_ON_MIGRATE = env_bool("LEADFLOW_DEFAULTS_ON_MIGRATE", True)
# A pending pipeline job still not finished this many seconds after it was enqueued is enqueued again by the sweeper.
LEADFLOW_PENDING_SWEEP_AFTER = int(os.environ.get("LEADFLOW_PENDING_SWEEP_AFTER", "60"))
# A drain claims at most this many waiting pipeline steps at a time, and hands its worker back to the hotter queues
# after this many seconds (revops.base.pending.pending_drain_job).
LEADFLOW_DRAIN_BATCH = int(os.environ.get("LEADFLOW_DRAIN_BATCH", "200"))
LEADFLOW_DRAIN_SECONDS = float(os.environ.get("LEADFLOW_DRAIN_SECONDS", "1.0"))
# Under load a drain waits this long before it claims, so the steps committed meanwhile join its micro-batch (0:
# never): when this worker drained at least LEADFLOW_DRAIN_LINGER_STEPS steps of the same kind in the last second
# (revops.base.pending.drain_linger). An idle queue's step runs at once.
LEADFLOW_DRAIN_LINGER_MS = int(os.environ.get("LEADFLOW_DRAIN_LINGER_MS", "100"))
LEADFLOW_DRAIN_LINGER_STEPS = int(os.environ.get("LEADFLOW_DRAIN_LINGER_STEPS", "10"))
# A step committed by the web (or a command) signals its drain in Redis at most once per this many ms per process and
# step kind, and once more after the last one held back (revops/base/pace.py); 0: every commit signals.
LEADFLOW_DRAIN_SIGNAL_EVERY_MS = int(os.environ.get("LEADFLOW_DRAIN_SIGNAL_EVERY_MS", "50"))
# Steps of a drained micro-batch run set-based in one transaction (revops.base.jobs.drain_rows).
LEADFLOW_DRAIN_TRANSACTION_STEPS = int(os.environ.get("LEADFLOW_DRAIN_TRANSACTION_STEPS", "25"))
# On SQLite a drain runs its database-only steps (scoring, routing, tasks) one after the other in one write
# transaction, committed once it has lasted this many ms (revops/base/drain_chain.py); 0: a transaction per step.
LEADFLOW_DRAIN_CHAIN_MS = int(os.environ.get("LEADFLOW_DRAIN_CHAIN_MS", "60"))
# A drain's outbox messages to different recipients are posted at once in this many threads per worker process
# (one recipient's stay in order); 1: one after the other.
LEADFLOW_SEND_THREADS = int(os.environ.get("LEADFLOW_SEND_THREADS", "8"))
# Workers run at this CPU niceness so the web process answers first under load (revops.base.worker).
LEADFLOW_WORKER_NICE = int(os.environ.get("LEADFLOW_WORKER_NICE", "10"))
# What a worker loads before its first job (the base cannot import the apps; revops/top/warm_up.py can).
LEADFLOW_WARM_UP = "revops.top.warm_up.process_warm_up"

# --- Slack ----------------------------------------------------------------------------------------------------
SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "")
SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/")
SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
SLACK_DEFAULT_CHANNEL = os.environ.get("SLACK_DEFAULT_CHANNEL", "#leadflow")
# Retries inside one Slack call (429 after Retry-After, 500/503, connection errors and timeouts) and its timeout.
SLACK_MAX_RETRIES = int(os.environ.get("SLACK_MAX_RETRIES", "3"))
SLACK_TIMEOUT = float(os.environ.get("SLACK_TIMEOUT", "10"))
# Microsoft Teams incoming webhooks (the URL is per team, in the admin): retries and timeout of one post.
TEAMS_MAX_RETRIES = int(os.environ.get("TEAMS_MAX_RETRIES", "3"))
TEAMS_TIMEOUT = float(os.environ.get("TEAMS_TIMEOUT", "10"))


# --- E-mail ---------------------------------------------------------------------------------------------------
def email_url_settings(url: str) -> dict:
    """EMAIL_URL → Django's e-mail settings: smtp://user:password@host:port (smtp+tls:// STARTTLS, smtp+ssl://
    implicit TLS), console://, locmem://, dummy://. Empty: the Django settings below apply as they are."""
    if not url:
        return {}
    parts = urlsplit(url)
    backends = {"console": "console", "locmem": "locmem", "dummy": "dummy", "smtp": "smtp", "smtp+tls": "smtp",
                "smtp+ssl": "smtp", "smtps": "smtp"}
    if parts.scheme not in backends:
        raise ValueError(f"EMAIL_URL: unknown scheme {parts.scheme!r} (smtp, smtp+tls, smtp+ssl, console, locmem)")
    found = {"EMAIL_BACKEND": f"django.core.mail.backends.{backends[parts.scheme]}.EmailBackend"}
    if backends[parts.scheme] == "smtp":
        found.update(EMAIL_HOST=parts.hostname or "localhost", EMAIL_PORT=parts.port or 25,
                     EMAIL_HOST_USER=unquote(parts.username or ""), EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
                     EMAIL_USE_TLS=parts.scheme == "smtp+tls", EMAIL_USE_SSL=parts.scheme in ("smtp+ssl", "smtps"))
    return found


EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "leadflow@localhost")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
globals().update(email_url_settings(os.environ.get("EMAIL_URL", "")))
# The rep's daily digest goes out at this hour of the rep's own time zone.
LEADFLOW_DIGEST_HOUR = int(os.environ.get("LEADFLOW_DIGEST_HOUR", "8"))

# --- Public base URL (links in Slack messages) ----------------------------------------------------------------
LEADFLOW_BASE_URL = os.environ.get("LEADFLOW_BASE_URL", "http://127.0.0.1:8000")
# The rep's work on tasks (routing/services/sla.py, task_actions.py).
LEADFLOW_OUTBOUND_SOURCES = env_list("LEADFLOW_OUTBOUND_SOURCES", "outbound,prospecting,list_purchase")
LEADFLOW_NO_ANSWER_RETRIES = int(os.environ.get("LEADFLOW_NO_ANSWER_RETRIES", "3"))
LEADFLOW_SNOOZE_LIMIT = int(os.environ.get("LEADFLOW_SNOOZE_LIMIT", "3"))
# New activity after this many days without any moves the lead to "re-engaged" (routing/services/reengagement.py).
LEADFLOW_REENGAGE_AFTER_DAYS = int(os.environ.get("LEADFLOW_REENGAGE_AFTER_DAYS", "30"))

# --- REST API -------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "revops.base.apiclasses.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["revops.base.apiclasses.BoundedFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "revops.base.apiclasses.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "revops.base.apiclasses.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "revops.base.api.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "revops.base.apiclasses.ClientRateThrottle",
        "revops.base.apiclasses.AnonymousRateThrottle",
    ],
}
# Each web process keeps an API token it has read, with its user, this many seconds (0: read on every request); a
# token deleted or a user changed elsewhere takes effect within this time (at once in the process that changed it).
LEADFLOW_API_TOKEN_CACHE_SECONDS = float(os.environ.get("LEADFLOW_API_TOKEN_CACHE_SECONDS", "5"))
# Throttles (DRF rate strings, e.g. "1000/minute"; empty: no limit). Counted in the process's cache.
LEADFLOW_API_RATE_CLIENT = os.environ.get("LEADFLOW_API_RATE_CLIENT", "1000/minute")
LEADFLOW_API_RATE_ANONYMOUS = os.environ.get("LEADFLOW_API_RATE_ANONYMOUS", "60/minute")
LEADFLOW_API_MAX_PAGE_SIZE = int(os.environ.get("LEADFLOW_API_MAX_PAGE_SIZE", "500"))
LEADFLOW_IDEMPOTENCY_TTL_HOURS = float(os.environ.get("LEADFLOW_IDEMPOTENCY_TTL_HOURS", "24"))
# The input boundary's caps (revops/base/boundary.py).
LEADFLOW_MAX_TEXT_LENGTH = int(os.environ.get("LEADFLOW_MAX_TEXT_LENGTH", "2000"))
LEADFLOW_MAX_CUSTOM_ATTRIBUTES = int(os.environ.get("LEADFLOW_MAX_CUSTOM_ATTRIBUTES", "50"))
LEADFLOW_MAX_KEY_LENGTH = int(os.environ.get("LEADFLOW_MAX_KEY_LENGTH", "100"))
LEADFLOW_MAX_PROPERTIES_BYTES = int(os.environ.get("LEADFLOW_MAX_PROPERTIES_BYTES", "16384"))
LEADFLOW_MAX_JSON_DEPTH = int(os.environ.get("LEADFLOW_MAX_JSON_DEPTH", "10"))
LEADFLOW_EVENT_MAX_AGE_DAYS = int(os.environ.get("LEADFLOW_EVENT_MAX_AGE_DAYS", "3650"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Leadflow API",
    "DESCRIPTION": "Push leads and engagement events; read scores, owners and tasks.",
    "VERSION": "1",
    # Self-hosted Swagger UI assets: the docs page works without reaching a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "revops.base.api.schema_error_responses",
    ],
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# A quiet terminal: request lines without static files, an expected refusal (403) as one line, and a job as one
# line (RQ's per-job INFO lines are left out; failures still log with their traceback).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Quiet: no static-file lines, refusals on one line. No personal data: e-mail addresses are masked.
    "filters": {
        "skip_static": {"()": "revops.base.logfilters.SkipStaticRequests"},
        "refusals_on_one_line": {"()": "revops.base.logfilters.RefusalsOnOneLine"},
        "personal_data": {"()": "revops.base.logfilters.PersonalDataFilter"},
    },
    "formatters": {"django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
                                     "style": "{"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["personal_data"]},
        "requests": {"class": "logging.StreamHandler", "formatter": "django.server",
                     "filters": ["skip_static", "refusals_on_one_line", "personal_data"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"handlers": ["requests"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["requests"], "level": "WARNING", "propagate": False},
        "django.security": {"handlers": ["requests"], "level": "WARNING", "propagate": False},
        "rq.worker": {"level": "WARNING"},
        "rq.job": {"level": "WARNING"},
        "rq.scheduler": {"level": "WARNING"},
        "rq.cron": {"level": "WARNING"},
        # django-axes says INFO on every login and logout; lockouts and failures are WARNING and still shown.
        "axes": {"level": "WARNING"},
    },
}

# --- Workflow health alerts and scheduled reports (README "Workflow health", "Scheduled reports") --------------
# A workflow's usual rate: the median of its runs in the same hour of the same weekday over the last N weeks.
LEADFLOW_HEALTH_WEEKS = int(os.environ.get("LEADFLOW_HEALTH_WEEKS", "4"))
LEADFLOW_HEALTH_MIN_WEEKS = int(os.environ.get("LEADFLOW_HEALTH_MIN_WEEKS", "2"))
LEADFLOW_HEALTH_LOW_FACTOR = float(os.environ.get("LEADFLOW_HEALTH_LOW_FACTOR", "0.25"))
LEADFLOW_HEALTH_HIGH_FACTOR = float(os.environ.get("LEADFLOW_HEALTH_HIGH_FACTOR", "4"))
LEADFLOW_HEALTH_MIN_RUNS = int(os.environ.get("LEADFLOW_HEALTH_MIN_RUNS", "10"))
LEADFLOW_HEALTH_FAILURE_JUMP = float(os.environ.get("LEADFLOW_HEALTH_FAILURE_JUMP", "0.2"))
LEADFLOW_HEALTH_MIN_FAILURES = int(os.environ.get("LEADFLOW_HEALTH_MIN_FAILURES", "5"))
LEADFLOW_HEALTH_SLACK_CHANNEL = os.environ.get("LEADFLOW_HEALTH_SLACK_CHANNEL", "")
LEADFLOW_REPORT_HOUR = int(os.environ.get("LEADFLOW_REPORT_HOUR", "7"))
LEADFLOW_REPORTS_SLACK_CHANNEL = os.environ.get("LEADFLOW_REPORTS_SLACK_CHANNEL", "")
# --- Website forms (leads/webforms*.py) -------------------------------------------------------------------------
# CORS only on the public form endpoint, and only for the origins of the form named in the URL (an admin edits them
# per form): no origin is allowed globally, a signal handler allows it per request.
CORS_URLS_REGEX = r"^/api/forms/[^/]+/submit/?$"
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = 3600
CORS_EXPOSE_HEADERS = ["Retry-After"]  # the form's script waits as a busy server asks
# Submissions per IP address (any form) and per form (all visitors), DRF rate strings; empty: no limit.
LEADFLOW_WEBFORM_RATE_IP = os.environ.get("LEADFLOW_WEBFORM_RATE_IP", "10/minute")
LEADFLOW_WEBFORM_RATE_FORM = os.environ.get("LEADFLOW_WEBFORM_RATE_FORM", "300/minute")

# --- Outbound webhooks (revops/base/webhooks.py) ----------------------------------------------------------------
LEADFLOW_WEBHOOK_TIMEOUT = float(os.environ.get("LEADFLOW_WEBHOOK_TIMEOUT", "5"))  # seconds per attempt
LEADFLOW_WEBHOOK_RETRY_BASE = float(os.environ.get("LEADFLOW_WEBHOOK_RETRY_BASE", "30"))  # first retry, seconds
LEADFLOW_WEBHOOK_RETRY_MAX_DELAY = float(os.environ.get("LEADFLOW_WEBHOOK_RETRY_MAX_DELAY", "3600"))
LEADFLOW_WEBHOOK_RETRY_FOR = int(os.environ.get("LEADFLOW_WEBHOOK_RETRY_FOR", "86400"))  # then a delivery fails
LEADFLOW_WEBHOOK_DISABLE_AFTER = int(os.environ.get("LEADFLOW_WEBHOOK_DISABLE_AFTER", "86400"))
# Webhooks go to public addresses only; true allows a receiver in the install's own network (loopback, private).
LEADFLOW_WEBHOOK_ALLOW_PRIVATE = os.environ.get("LEADFLOW_WEBHOOK_ALLOW_PRIVATE", "false").lower() == "true"
# --- Warehouse feed (revops/base/feed.py) ----------------------------------------------------------------------------
# Rows changed in the last N seconds wait for the next page, so a transaction committing late is not skipped.
LEADFLOW_FEED_SETTLE_SECONDS = float(os.environ.get("LEADFLOW_FEED_SETTLE_SECONDS", "10"))
