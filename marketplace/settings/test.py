"""The test suite: the real PostgreSQL, fast hashing, files in a temporary directory."""

import tempfile
import uuid
from pathlib import Path

from marketplace.settings.base import *  # noqa: F403
from marketplace.settings.base import env

DEBUG = False
SECRET_KEY = "test-only-not-secret"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A worker process started by a test is pointed at the test's media folder through the env.
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=tempfile.mkdtemp(prefix="databounty-media-"))
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="databounty-static-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", default="redis://127.0.0.1:6379/12"),
        "KEY_PREFIX": "test",
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/13")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="redis://127.0.0.1:6379/14")
# A queue of this test run's own: two runs on one machine never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env(
    "CELERY_TASK_DEFAULT_QUEUE", default=f"test-{uuid.uuid4().hex[:12]}"
)
CHAIN_DEPLOYER_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Two suites on one machine at once (two checkouts, or CI beside a developer) need two names.
DATABASES["default"]["TEST"] = {"NAME": env("DATABASE_TEST_NAME", default=None)}  # noqa: F405
# No pool in the suite unless DATABASE_POOL says so: a test's threads would each keep a pooled
# connection until the pool runs dry. tests/core/test_connections.py serves with the pool on.
DATABASE_POOL = env.bool("DATABASE_POOL", default=False)
if not DATABASE_POOL:
    DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)  # noqa: F405
HOT_WALLET_PRIVATE_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
CHAIN_CONFIRMATIONS = 2
PLATFORM_SIGNING_KEY = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"
# Shard layouts in tests follow VALIDATION_SHARD_ROWS alone (tests set it small); files of 25k
# rows elsewhere in the tests are read in one run unless a test asks for shards.
VALIDATION_SHARD_ROWS = 100_000
VALIDATION_PARALLELISM = 1
VALIDATION_SHARD_MAX_ROWS = 1
