"""Settings shared by every environment. Every value that differs per machine comes from the
environment (django-environ); the table in README.md lists them all."""

import warnings
from pathlib import Path

import django_stubs_ext
import environ

# Lets admin and form classes be subscripted for type checking (ModelAdmin[Model]).
django_stubs_ext.monkeypatch()
# siwe's grammar redefines ABNF core rules on purpose; abnf 2.8 warns about it when loading it.
warnings.filterwarnings("ignore", message=r"rule '.*' redefines", module="abnf")

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local, untracked .env may set any variable below; the real environment wins over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our own static files
    "marketplace.core",
    "marketplace.accounts",
    "datasets_app",
    "payments",
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

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

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
                "marketplace.core.context_processors.site",
                "payments.context_processors.dev_wallets",
            ],
        },
    },
]

# PostgreSQL only (psycopg 3): token amounts are NUMERIC(78,0) and payments need row locks.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/databounty"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# psycopg's connection pool, one per process (Django's OPTIONS["pool"]): a process never holds more
# than DATABASE_POOL_MAX_SIZE connections, however many threads or requests it serves, and a
# request waits up to DATABASE_POOL_TIMEOUT seconds for one. Without the pool, each thread keeps
# its own connection for DATABASE_CONN_MAX_AGE seconds. README.md, "Database connections".
DATABASE_POOL = env.bool("DATABASE_POOL", default=True)
DATABASE_POOL_MIN_SIZE = env.int("DATABASE_POOL_MIN_SIZE", default=1)
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=4)
DATABASE_POOL_TIMEOUT = env.float("DATABASE_POOL_TIMEOUT", default=10.0)
if DATABASE_POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": DATABASE_POOL_MIN_SIZE,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": DATABASE_POOL_TIMEOUT,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/signin/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# File storage: the filesystem under MEDIA_ROOT, or any S3-compatible service.
STORAGE_BACKEND = env("STORAGE_BACKEND", default="filesystem")
if STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME", default="databounty"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "default_acl": None,
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    # Token first, so an unauthenticated request answers 401 with WWW-Authenticate: Bearer.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DataBounty API",
    "DESCRIPTION": "Datasets, contributions, labels, bounties, rewards, payouts and licenses.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Several models have a "status": name each set of choices after its model.
    "ENUM_NAME_OVERRIDES": {
        "ContributionStatusEnum": "datasets_app.enums.ContributionStatus",
        "DatasetStatusEnum": "datasets_app.enums.DatasetStatus",
        "BountyStatusEnum": "payments.enums.BountyStatus",
        "RewardStatusEnum": "payments.enums.RewardStatus",
        "PayoutStatusEnum": "payments.enums.PayoutStatus",
        "PurchaseStatusEnum": "payments.enums.PurchaseStatus",
        "ReleaseStatusEnum": "datasets_app.models.ReleaseStatus",
    },
    # /api/v1/docs/ and /api/v1/redoc/ load their scripts from our static files (the
    # drf-spectacular-sidecar package), not a CDN: they work offline and pin the version.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis broker, JSON only, explicit task names, time limits on every task.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="redis://127.0.0.1:6379/1")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # tasks whose result is read opt in with ignore_result=False
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="databounty")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis re-delivers an unacknowledged task after this many seconds; longer than any time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "core-health-check": {
        "task": "core.health_check",
        "schedule": env.float("CELERY_HEALTH_INTERVAL_SECONDS", default=60.0),
    },
    "accounts-purge-expired-nonces": {
        "task": "accounts.purge_expired_nonces",
        "schedule": 60 * 60,
    },
    "datasets-requeue-stuck-contributions": {
        "task": "datasets.requeue_stuck_contributions",
        "schedule": 5 * 60,
    },
    "datasets-release-expired-reservations": {
        "task": "datasets.release_expired_reservations",
        "schedule": 60,
    },
    "datasets-expire-uploads": {"task": "datasets.expire_uploads", "schedule": 60 * 60},
    "datasets-refresh-consensus": {"task": "datasets.refresh_consensus", "schedule": 60 * 60},
    "datasets-requeue-stuck-releases": {
        "task": "datasets.requeue_stuck_releases",
        "schedule": 5 * 60,
    },
    "payments-process-payouts": {
        "task": "payments.process_payouts",
        "schedule": env.float("PAYOUT_POLL_SECONDS", default=30.0),
    },
    "payments-scan-purchases": {
        "task": "payments.scan_purchases",
        "schedule": env.float("PURCHASE_SCAN_SECONDS", default=60.0),
    },
    "payments-expire-purchases": {"task": "payments.expire_purchases", "schedule": 5 * 60},
    "payments-requeue-confirming": {"task": "payments.requeue_confirming", "schedule": 60},
    "payments-compute-reward-epochs": {
        "task": "payments.compute_reward_epochs",
        "schedule": env.float("REWARD_EPOCH_POLL_SECONDS", default=5 * 60.0),
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", default="redis://127.0.0.1:6379/2"),
    }
}
# Sessions are read from the cache and written through to the database: a signed-in page reads
# no session row, and a cache flush only costs one database read per session.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# The chain: any EVM JSON-RPC endpoint, and the ERC-20 token bounties and licenses are paid in.
CHAIN_RPC_URL = env("CHAIN_RPC_URL", default="http://127.0.0.1:8545")
CHAIN_ID = env.int("CHAIN_ID", default=31337)
TOKEN_ADDRESS = env("TOKEN_ADDRESS", default="")
# Signs the token deployment and demo mints; empty outside development.
CHAIN_DEPLOYER_PRIVATE_KEY = env("CHAIN_DEPLOYER_PRIVATE_KEY", default="")
CHAIN_RPC_TIMEOUT_SECONDS = env.float("CHAIN_RPC_TIMEOUT_SECONDS", default=10.0)
# A block explorer's transaction page, e.g. "https://sepolia.etherscan.io/tx/{hash}"; empty on a
# local chain, where pages show the bare hash.
CHAIN_EXPLORER_TX_URL = env("CHAIN_EXPLORER_TX_URL", default="")
# Blocks on top of a payment's block before it counts (funding, purchases, payouts).
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=3)
# The hot wallet pays payouts; its key comes from the environment only (never the repo or
# logs). The treasury is where sponsors and buyers pay; by default the hot wallet itself.
HOT_WALLET_PRIVATE_KEY = env("HOT_WALLET_PRIVATE_KEY", default="")
TREASURY_ADDRESS = env("TREASURY_ADDRESS", default="")
# Payouts: the smallest sum worth a transaction (base units), the age after which a sent
# payout is replaced with a higher fee, and by how much the fee goes up.
PAYOUT_MINIMUM = env.int("PAYOUT_MINIMUM", default=1)
PAYOUT_STUCK_SECONDS = env.int("PAYOUT_STUCK_SECONDS", default=180)
PAYOUT_FEE_BUMP_PERCENT = env.int("PAYOUT_FEE_BUMP_PERCENT", default=25)
PAYOUT_BATCH_SIZE = env.int("PAYOUT_BATCH_SIZE", default=200)
# License sales: how long an order waits for its payment, how long a submitted payment may stay
# unconfirmed, and the split of every sale (basis points of the price): the platform's fee and the
# contributors' share; the dataset's owner gets the rest (and every rounding remainder).
PURCHASE_TTL_SECONDS = env.int("PURCHASE_TTL_SECONDS", default=60 * 60)
PURCHASE_VERIFY_TIMEOUT_SECONDS = env.int("PURCHASE_VERIFY_TIMEOUT_SECONDS", default=30 * 60)
# x402 (HTTP 402) payments: how long a payer's authorization may be valid (the requirements'
# maxTimeoutSeconds), how long a request waits for its settlement's receipt before answering
# "pending" (the reconciler finishes it), and how long the download token it returns lives.
X402_MAX_TIMEOUT_SECONDS = env.int("X402_MAX_TIMEOUT_SECONDS", default=300)
X402_SETTLE_TIMEOUT_SECONDS = env.float("X402_SETTLE_TIMEOUT_SECONDS", default=20.0)
X402_TOKEN_TTL_SECONDS = env.int("X402_TOKEN_TTL_SECONDS", default=60 * 60)
PLATFORM_FEE_BPS = env.int("PLATFORM_FEE_BPS", default=1_000)
CONTRIBUTOR_SHARE_BPS = env.int("CONTRIBUTOR_SHARE_BPS", default=4_000)
# Signs license receipts (EIP-712); anyone can check them against its public address.
PLATFORM_SIGNING_KEY = env("PLATFORM_SIGNING_KEY", default="")
# The purchase scanner starts here on its first run (then it keeps its own cursor).
CHAIN_SCAN_FROM_BLOCK = env.int("CHAIN_SCAN_FROM_BLOCK", default=0)
# How long a funding transaction may stay unmined or unconfirmed before it is refused.
FUNDING_VERIFY_TIMEOUT_SECONDS = env.int("FUNDING_VERIFY_TIMEOUT_SECONDS", default=30 * 60)
# A confirming purchase or funding whose check nobody touched for this long lost its task (its
# retries ran out, the broker dropped it): the minute sweeper sends it again.
VERIFY_REQUEUE_AFTER_SECONDS = env.int("VERIFY_REQUEUE_AFTER_SECONDS", default=2 * 60)

LOG_LEVEL = env("DJANGO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Sign-In with Ethereum (EIP-4361). Domains a message may name: by default our ALLOWED_HOSTS
# (never "*": a wildcard would accept messages phished for any site).
SIWE_DOMAINS: list[str] = env.list("SIWE_DOMAINS", default=[])
# Chain ids a message may name; empty means just CHAIN_ID.
SIWE_CHAIN_IDS: list[int] = [int(c) for c in env.list("SIWE_CHAIN_IDS", default=[])]
SIWE_NONCE_TTL_SECONDS = env.int("SIWE_NONCE_TTL_SECONDS", default=600)
SIWE_CLOCK_SKEW_SECONDS = env.int("SIWE_CLOCK_SKEW_SECONDS", default=60)
SIWE_STATEMENT = "Sign in to DataBounty."
# Abuse limits, requests per minute (0 turns one off).
RATE_LIMIT_NONCE_PER_IP = env.int("RATE_LIMIT_NONCE_PER_IP", default=30)
RATE_LIMIT_LOGIN_PER_IP = env.int("RATE_LIMIT_LOGIN_PER_IP", default=20)
RATE_LIMIT_LOGIN_PER_ADDRESS = env.int("RATE_LIMIT_LOGIN_PER_ADDRESS", default=10)
# Reverse proxies in front of the app that append to X-Forwarded-For; rate limits take the
# client IP from the entry the outermost one wrote (marketplace/core/client_ip.py). 0: REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
API_TOKEN_MAX_PER_USER = env.int("API_TOKEN_MAX_PER_USER", default=50)

# Uploads: the largest contribution accepted, where chunks wait until complete, how long an
# unfinished upload may sit idle, and the chunk size the browser uses.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=2 * 1024**3)
UPLOAD_TMP_DIR = env.path("UPLOAD_TMP_DIR", default=BASE_DIR / "var" / "uploads")
UPLOAD_SESSION_TTL_SECONDS = env.int("UPLOAD_SESSION_TTL_SECONDS", default=24 * 3600)
UPLOAD_CHUNK_BYTES = env.int("UPLOAD_CHUNK_BYTES", default=8 * 1024**2)
# Files up to this size are hashed in the browser and refused before upload when the same file
# was contributed already; larger ones are checked by the server once uploaded.
UPLOAD_HASH_MAX_BYTES = env.int("UPLOAD_HASH_MAX_BYTES", default=64 * 1024**2)
# Django refuses request bodies above this; one chunk plus headroom.
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_CHUNK_BYTES + 1024**2
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2
# Validation: rows per batch (one transaction each) and a run's silence before it is taken over.
VALIDATION_BATCH_ROWS = env.int("VALIDATION_BATCH_ROWS", default=5000)
VALIDATION_STALE_SECONDS = env.int("VALIDATION_STALE_SECONDS", default=900)
# Labeling: how long a handed-out item stays reserved, and the share of gold items served.
LABEL_RESERVATION_SECONDS = env.int("LABEL_RESERVATION_SECONDS", default=600)
LABEL_GOLD_RATE = env.float("LABEL_GOLD_RATE", default=0.1)
# How long a signed download link works (the license is checked again when it is used).
DOWNLOAD_LINK_TTL_SECONDS = env.int("DOWNLOAD_LINK_TTL_SECONDS", default=600)
# Files over this many rows are validated in shards, in parallel tasks: as many shards as the
# worker processes that validate (a multiple of it for big files), each at most the max rows.
# Below the threshold one process reads it alone; above it every process takes part.
VALIDATION_SHARD_ROWS = env.int("VALIDATION_SHARD_ROWS", default=20_000)
# The worker processes (prefork) of one Celery worker: `--concurrency` on its command line wins.
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)
VALIDATION_PARALLELISM = env.int("VALIDATION_PARALLELISM", default=CELERY_WORKER_CONCURRENCY)
VALIDATION_SHARD_MAX_ROWS = env.int("VALIDATION_SHARD_MAX_ROWS", default=500_000)
# Releases: rows per Parquet shard, and the silence after which a building release is re-sent.
RELEASE_SHARD_ROWS = env.int("RELEASE_SHARD_ROWS", default=500_000)
RELEASE_STUCK_SECONDS = env.int("RELEASE_STUCK_SECONDS", default=900)
# A split vote (winning share of credibility below this) opens one more label slot, up to this
# many beyond k, before consensus is decided.
CONSENSUS_MIN_CONFIDENCE = env.float("CONSENSUS_MIN_CONFIDENCE", default=0.8)
CONSENSUS_EXTRA_LABELS = env.int("CONSENSUS_EXTRA_LABELS", default=2)
# The queue hands out a random one of the oldest this-many open items (1: strictly oldest first).
LABEL_QUEUE_SPREAD = env.int("LABEL_QUEUE_SPREAD", default=32)
LABEL_UNDO_SECONDS = env.int("LABEL_UNDO_SECONDS", default=600)
