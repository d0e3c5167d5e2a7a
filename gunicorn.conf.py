"""gunicorn's settings wherever DataBounty is served: scripts/run.sh, the Docker image and
tests/core/test_connections.py (gunicorn reads ./gunicorn.conf.py; flags on its command line win).

A fixed number of worker processes, each with a fixed number of threads, and each process with
one database pool (DATABASE_POOL_MAX_SIZE): the web tier never holds more than
WEB_CONCURRENCY x DATABASE_POOL_MAX_SIZE PostgreSQL connections. Threads beyond the pool's size
would only wait for a connection, so GUNICORN_THREADS defaults to the pool's size."""

import os

wsgi_app = "marketplace.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", os.environ.get("DATABASE_POOL_MAX_SIZE", "4")))
# Uploads arrive in chunks of UPLOAD_CHUNK_BYTES; a slow link may take a while for one.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# The control socket's default path is one per user: two servers on a machine (run.sh beside the
# connection test) would take each other's. Nothing here uses gunicornc.
control_socket_disable = True
