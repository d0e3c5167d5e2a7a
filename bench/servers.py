"""The servers a benchmark starts: a free loopback port, gunicorn as the project runs it, and
stopping them all at the end."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback TCP port nothing listens on (for a server the benchmark starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """gunicorn serving ``app`` on ``port`` with the project's gunicorn.conf.py, once it
    accepts connections (30 s at the most)."""
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            app,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                detail = process.stderr.read().decode() if process.stderr else "died"
                raise SystemExit(detail) from None
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"gunicorn for {app} did not start")


def stop_all(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Asks every process to stop at once, then waits for each; kills one that takes over 35 s."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            process.kill()
