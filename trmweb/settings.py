"""Settings of the TRM Playground, all read from environment variables.

Defaults run a fresh checkout on one machine (SQLite, a local Redis); production sets DATABASE_URL,
REDIS_URL, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and the TRM_* variables. See README.md for the list.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff

from trmweb.env import env_bool, env_choice, env_int, env_list, env_rate, env_str, env_trusted_proxies
from trmweb.redis_databases import redis_databases

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRM_VAR_DIR", str(BASE_DIR / "var")))
# Local state (the default SQLite database, its test copy, uploads) lives here; a fresh clone has none.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (`make run` makes one in var/secret-key)"
        )
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Production behind an HTTPS proxy: one switch for everything `check --deploy` asks of a site served only
# over HTTPS. The proxy must set X-Forwarded-Proto itself (never pass on a client's) and be the only way in.
if env_bool("DJANGO_SECURE", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # A year, as browsers' preload lists require; an operator trying HTTPS out may start lower.
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Health probes (a load balancer, systemd, a worker host) talk to daphne directly, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "puzzles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "trmweb.urls"
ASGI_APPLICATION = "trmweb.asgi.application"

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


def _database_from_url(url: str) -> dict:
    try:
        database = dj_database_url.parse(url, conn_max_age=env_int("DJANGO_DB_CONN_MAX_AGE", 0, minimum=0))
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} cannot be parsed: {error}") from None
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # Many writers at once (web requests and worker steps): WAL lets readers run beside the writer,
        # IMMEDIATE takes the write lock at BEGIN so two transactions never deadlock upgrading a read
        # lock, and the busy timeout makes a writer wait its turn instead of failing "database is locked".
        database["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
        }
        # A file, not memory, so the worker and web processes a test starts see the test database.
        database["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    elif database["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every request in flight runs its database work in a thread of its own, each with a
        # connection: 200 clients at once opened 200 and PostgreSQL (max_connections 100 by default) refused
        # the rest with 500s. A pool per process bounds that; a request waits for a free connection, and
        # one that waits longer than the timeout is answered 503 (puzzles.api.errors).
        pool_size = env_int("DJANGO_DB_POOL_MAX_SIZE", 16, minimum=0)
        if pool_size and database["CONN_MAX_AGE"]:
            raise ImproperlyConfigured("DJANGO_DB_CONN_MAX_AGE needs DJANGO_DB_POOL_MAX_SIZE=0: "
                                       "a pooled connection is already kept between requests")
        if pool_size:
            database.setdefault("OPTIONS", {})["pool"] = {
                "min_size": 0, "max_size": pool_size, "timeout": env_int("DJANGO_DB_POOL_TIMEOUT", 20, minimum=1)}
    else:
        raise ImproperlyConfigured(f"DATABASE_URL uses {database['ENGINE']}; use sqlite:// or postgres://")
    return database


DATABASES = {"default": _database_from_url(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("TRM_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
# Served by WhiteNoise from STATIC_ROOT, which `make run` fills with collectstatic; in debug and in
# tests straight from the source folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env_str("TRM_MEDIA_ROOT", str(VAR_DIR / "media")))

# Redis carries the Celery queue and the channel layer. `make run` points this at a reachable Redis or at
# the embedded one it starts; see trmweb/redis_server.py.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Its database N holds the broker's queue, N+1 the channel layer, N+2 the cache (trmweb/redis_databases.py),
# so that clearing the cache leaves the queue and the streams alone.
REDIS_DATABASES = redis_databases(REDIS_URL)

# Redis connections one process opens for the channel layer, and again for the socket-slot counter; a
# request that finds them all busy waits up to the timeout (then the stream closes 4503, "try again").
REDIS_POOL_SIZE = env_int("TRM_REDIS_POOL_SIZE", 50, minimum=2)
REDIS_POOL_TIMEOUT = env_int("TRM_REDIS_POOL_TIMEOUT", 10, minimum=1)

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "trmweb.channel_layer.WaitingRedisChannelLayer",
        "CONFIG": {
            # redis-py's default read timeout (5 s) equals the layer's blocking-pop timeout; give reads room.
            # A Redis that restarted leaves each pool a dead connection: retry once on a fresh one instead of
            # failing the next stream or step (redis-py retries nothing unless told).
            "hosts": [{"address": REDIS_DATABASES.channels, "socket_timeout": 15, "socket_connect_timeout": 3,
                       "retry": AsyncRetry(ExponentialBackoff(cap=0.5, base=0.1), 2),
                       # Per process: a burst of connecting viewers waits for a free connection.
                       "max_connections": REDIS_POOL_SIZE, "timeout": REDIS_POOL_TIMEOUT}],
            # A viewer that falls behind may hold every step of a 16-step solve with fine frames.
            "capacity": env_int("TRM_CHANNEL_CAPACITY", 1000, minimum=10),
            "expiry": 60,
            "group_expiry": 3600,
        },
    }
}

# A running job is failed once it has run this long (checked between steps).
TRM_JOB_TIME_LIMIT = env_int("TRM_JOB_TIME_LIMIT", 600, minimum=10)
# Celery's hard limit behind it: a task's process that runs this long is killed (a forward pass that never
# returns) and its job failed with a reason (puzzles/tasks.py). A task may wait for the batch that holds its
# job and then take the job over, hence two job limits by default.
TRM_TASK_TIME_LIMIT = env_int("TRM_TASK_TIME_LIMIT", 2 * TRM_JOB_TIME_LIMIT + 60, minimum=TRM_JOB_TIME_LIMIT + 1)

# Staff evaluations (puzzles/services/evaluation_runs.py): a worker's hard limit for one, the most puzzles one
# may take, and where datasets built on the server are (`python -m solver build-dataset ... --output-dir
# $TRM_DATASETS_DIR/NAME`; a worker on another machine needs the same folder, or evaluates a generated set).
TRM_EVALUATION_TIME_LIMIT = env_int("TRM_EVALUATION_TIME_LIMIT", 1500, minimum=60)
TRM_EVALUATION_MAX_PUZZLES = env_int("TRM_EVALUATION_MAX_PUZZLES", 5000, minimum=1)
TRM_DATASETS_DIR = Path(env_str("TRM_DATASETS_DIR", str(VAR_DIR / "datasets")))

# Celery: the queue is the only job hand-off; results live in the database, not in a result backend.
CELERY_BROKER_URL = REDIS_DATABASES.broker
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 3,
    "socket_timeout": 10,
    # A job whose worker died is handed out again after this long (acks are late).
    # Longer than the longest task, or a running job's message goes to a second worker.
    "visibility_timeout": env_int("TRM_VISIBILITY_TIMEOUT", max(1800, TRM_TASK_TIME_LIMIT + 60, TRM_EVALUATION_TIME_LIMIT + 60),
                                  minimum=max(TRM_TASK_TIME_LIMIT, TRM_EVALUATION_TIME_LIMIT) + 1),
}
CELERY_TASK_TIME_LIMIT = TRM_TASK_TIME_LIMIT
# A submit must answer quickly even when Redis is down: try briefly, then fail the job with a reason.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# The solver queue jobs go to; a worker consumes the queue of its own device (`gpu` or `cpu`).
TRM_SOLVE_QUEUE = env_choice("TRM_SOLVE_QUEUE", "cpu", ("cpu", "gpu"))
# A worker's device: `auto` (unset) uses CUDA when PyTorch sees it, `cpu` keeps models on the CPU, `gpu` or
# `cuda` says the machine has one. It names the queue a worker started without -Q consumes (trmweb/celery.py)
# and where its models run (puzzles/services/solving.py).
_DEVICE_NAMES = {"auto": "auto", "": "auto", "cpu": "cpu", "gpu": "gpu", "cuda": "gpu"}
TRM_DEVICE = _DEVICE_NAMES[env_choice("TRM_DEVICE", "auto", tuple(_DEVICE_NAMES))]
TRM_MAX_ATTEMPTS = env_int("TRM_MAX_ATTEMPTS", 2, minimum=1)
TRM_MAX_ACTIVE_JOBS = env_int("TRM_MAX_ACTIVE_JOBS", 4, minimum=1)
# Fair queue (puzzles/services/fair_queue.py): a job gives way to clients with less work in the last this many
# seconds; 0 makes the queue plain first in, first out.
TRM_FAIR_WINDOW_SECONDS = env_int("TRM_FAIR_WINDOW_SECONDS", 600, minimum=0)
# Dynamic batching: a worker that takes a job waits this long, then runs every queued job of the same
# checkpoint and options with it in one forward pass, up to TRM_MAX_BATCH puzzles.
TRM_BATCH_WINDOW_MS = env_int("TRM_BATCH_WINDOW_MS", 30, minimum=0, maximum=5000)
TRM_MAX_BATCH = env_int("TRM_MAX_BATCH", 32, minimum=1, maximum=1024)
# A running job whose worker has shown no sign of life for this long is taken over by another.
TRM_HEARTBEAT_STALE = env_int("TRM_HEARTBEAT_STALE", 60, minimum=5)
TRM_TORCH_THREADS = env_int("TRM_TORCH_THREADS", 0, minimum=0)
# A worker that shares no disk with the web fetches checkpoint files from the web's URL (the worker role
# requires it) into its own cache, capped in size (puzzles/services/checkpoint_transfer.py). Unset: every
# checkpoint file must be on this machine at the path its row names.
TRM_WEB_URL = env_str("TRM_WEB_URL", "")
TRM_CHECKPOINT_CACHE = Path(env_str("TRM_CHECKPOINT_CACHE", str(VAR_DIR / "checkpoint-cache")))
TRM_CHECKPOINT_CACHE_BYTES = env_int("TRM_CHECKPOINT_CACHE_BYTES", 50 * 2**30, minimum=1)
# Each worker process loads the active checkpoints as it starts (puzzles/tasks.py), so the first job after
# a start costs what the tenth does.
TRM_PRELOAD_CHECKPOINTS = env_bool("TRM_PRELOAD_CHECKPOINTS", True)
# Compute dtype of models a worker runs on a CPU (solver/devices.py): float32 (exact, the default),
# bfloat16, `checkpoint` (the dtype the checkpoint was trained in: bf16 for the published ones, as the
# reference evaluates them) or `auto` (bf16 where the checkpoint was trained in it and the CPU has native
# bf16, AVX512-BF16 or AMX: 1.2 to 3.8x faster there; see bench/README.md).
TRM_CPU_DTYPE = env_choice("TRM_CPU_DTYPE", "float32", ("float32", "bfloat16", "checkpoint", "auto"))
# Each worker looks this often for accepted jobs whose queue message is missing (Redis was down at
# submit, or restarted without persistence) and queues them again; a message is presumed lost when it
# has waited TRM_REQUEUE_AFTER seconds.
TRM_SWEEP_SECONDS = env_int("TRM_SWEEP_SECONDS", 30, minimum=1)
TRM_REQUEUE_AFTER = env_int("TRM_REQUEUE_AFTER", 300, minimum=1)
# A viewer's stream that has heard nothing for this long reads the database for steps and the final status
# the channel layer may have lost (puzzles/consumers.py).
TRM_STREAM_RECHECK_SECONDS = env_int("TRM_STREAM_RECHECK_SECONDS", 10, minimum=1)
# /healthz keeps the answer of its worker ping (which waits up to a second) this long in the cache.
TRM_HEALTH_PING_SECONDS = env_int("TRM_HEALTH_PING_SECONDS", 10, minimum=0)
# Test hook, off by default: publishes the worker drops as if the channel layer lost them (step numbers
# and/or `status`, see puzzles/services/publishing.py).
TRM_TEST_DROP_PUBLISH = frozenset(env_list("TRM_TEST_DROP_PUBLISH", []))
# Test hook, off by default: seconds each solve step sleeps before it is saved (a hung forward pass).
TRM_TEST_STEP_SLEEP = env_int("TRM_TEST_STEP_SLEEP", 0, minimum=0)

# Rate limits are counted in Redis so every web process shares them.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_DATABASES.cache,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["puzzles.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "puzzles.api.errors.json_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PAGINATION_CLASS": "puzzles.api.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
}
# The proxies whose X-Forwarded-For names the client (a count, or their addresses/networks); without any,
# the header is ignored, since a client can write it. puzzles/client_identity.py applies it to every limit.
TRM_TRUSTED_PROXIES = env_trusted_proxies("TRM_TRUSTED_PROXIES")
# DRF's own client ident agrees (our throttles use client_identity; this covers any DRF default).
REST_FRAMEWORK["NUM_PROXIES"] = TRM_TRUSTED_PROXIES if isinstance(TRM_TRUSTED_PROXIES, int) else 0
# Submits per client (anonymous: per address) and period: "<count>/<sec|min|hour|day>".
TRM_SUBMIT_RATE_ANON = env_rate("TRM_SUBMIT_RATE_ANON", "30/min")
TRM_SUBMIT_RATE_USER = env_rate("TRM_SUBMIT_RATE_USER", "120/min")
# WebSockets one client (by address) may hold open at once; counted in Redis with leases that lapse after
# TRM_SOCKET_LEASE_SECONDS unless renewed, so a web server that dies cannot leak a client's slots for long.
TRM_MAX_SOCKETS_PER_CLIENT = env_int("TRM_MAX_SOCKETS_PER_CLIENT", 20, minimum=1)
TRM_SOCKET_LEASE_SECONDS = env_int("TRM_SOCKET_LEASE_SECONDS", 60, minimum=3)
SPECTACULAR_SETTINGS = {
    "TITLE": "TRM Playground API",
    "DESCRIPTION": "Submit puzzles to the Tiny Recursive Model and read every refinement step.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
}

# The largest checkpoint file the admin accepts (an ARC-AGI checkpoint with its puzzle table is about 2 GB).
TRM_MAX_CHECKPOINT_BYTES = env_int("TRM_MAX_CHECKPOINT_BYTES", 8 * 2**30, minimum=1_000_000)

# Requests carry puzzles of at most a few tens of KB; anything far larger is refused before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TRM_MAX_REQUEST_BYTES", 1_000_000, minimum=10_000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_choice("TRM_LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()},
}
