"""Real faults for tests: a PostgreSQL that refuses a worker's connections on demand.

``FlakyDatabaseProxy`` listens on a loopback port and forwards each connection to the test
database; after ``refuse_next(n)`` it closes the next ``n`` connections as soon as they arrive,
before a byte of the handshake, as a server that just restarted or ran out of connection slots
does. psycopg then raises its real ``OperationalError`` ("server closed the connection
unexpectedly", "consuming input failed"), which Django re-raises as ``django.db.OperationalError``.
Only loopback addresses are used; every socket is closed by ``stop()``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import CeleryProcess


class FlakyDatabaseProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._refuse = 0
        self.refused = 0  # connections closed on arrival
        self.forwarded = 0
        self._sockets: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, user: str, name: str) -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{name}"

    def start(self) -> FlakyDatabaseProxy:
        self._thread.start()
        return self

    def refuse_next(self, count: int) -> None:
        with self._lock:
            self._refuse = count

    def cut(self) -> None:
        """Close every forwarded connection, as a restarted server does: a process holding one
        finds it broken at its next query (or health check)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: stop
            with self._lock:
                refuse = self._refuse > 0
                if refuse:
                    self._refuse -= 1
                    self.refused += 1
                else:
                    self.forwarded += 1
            if refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def flaky_database() -> Iterator[FlakyDatabaseProxy]:
    """A proxy in front of this test session's database (see the module's docstring)."""
    from django.db import connection

    db = connection.settings_dict
    proxy = FlakyDatabaseProxy(str(db["HOST"] or "127.0.0.1"), int(db["PORT"] or 5432)).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def start_worker_behind(proxy: FlakyDatabaseProxy, log_path: Path, **env: str) -> CeleryProcess:
    """A real Celery worker (solo pool) reading only its own queue, whose database is reached
    through ``proxy``. Wait for ``worker.wait_for_log("ready.")``; ``worker.stop()`` at the end."""
    from django.db import connection

    from tests.conftest import _start_celery

    queue = f"test-flaky-{uuid.uuid4().hex[:12]}"
    db = connection.settings_dict
    return _start_celery(
        ["worker", "--pool", "solo", "--loglevel", "INFO", "-Q", queue, "-n", f"{queue}@%h"],
        queue,
        log_path,
        DATABASE_URL=proxy.url(str(db["USER"]), str(db["NAME"])),
        **env,
    )
