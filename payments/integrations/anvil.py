"""Runs anvil, the local EVM chain from Foundry (npm package ``@foundry-rs/anvil``), for tests and
the development run command. It speaks plain JSON-RPC; nothing here imports web3."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from eth_account import Account

ROOT = Path(__file__).resolve().parents[2]

# anvil's default accounts, derived from its public test mnemonic
# "test test test test test test test test test test test junk". Known to everyone: local only.
ANVIL_PRIVATE_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
)
ANVIL_CHAIN_ID = 31337


@dataclass(frozen=True)
class DevAccount:
    address: str  # EIP-55
    private_key: str


def dev_accounts() -> list[DevAccount]:
    return [DevAccount(Account.from_key(key).address, key) for key in ANVIL_PRIVATE_KEYS]


def anvil_binary() -> str:
    """The platform binary shipped inside the npm package (no download), or ``ANVIL_BIN``."""
    if override := os.environ.get("ANVIL_BIN"):
        return override
    for candidate in sorted((ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    raise FileNotFoundError(
        "anvil not found: run `bash scripts/setup.sh` (it installs @foundry-rs/anvil from npm)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class JsonRpcError(RuntimeError):
    """An error answer from the node, with its JSON-RPC ``code`` and revert ``data``."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.code = error.get("code")
        self.data = error.get("data")
        self.message = str(error.get("message", error))
        super().__init__(f"{method}: {self.message}")


def rpc_call(
    url: str, method: str, params: list[object] | None = None, timeout: float = 5.0
) -> object:
    """One JSON-RPC call; raises ``RuntimeError`` with the node's message on an error answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(  # noqa: S310 - loopback http(s) URL of our own node
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        answer = json.loads(response.read())
    if "error" in answer:
        raise JsonRpcError(method, answer["error"])
    return answer["result"]


@dataclass
class AnvilNode:
    """A running anvil process on a loopback port; ``stop()`` ends it."""

    port: int = 0
    host: str = "127.0.0.1"
    chain_id: int = ANVIL_CHAIN_ID
    state_path: Path | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @cached_property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> AnvilNode:
        if not self.port:
            self.port = free_port(self.host)
        command = [
            anvil_binary(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            "10",
        ]
        if self.state_path is not None:
            # Loads the chain from this file if present and dumps it there on exit.
            command += ["--state", str(self.state_path)]
        if self.log_path is not None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
            command,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"anvil exited with code {self.process.returncode}")
            with contextlib.suppress(OSError, RuntimeError):
                if int(str(rpc_call(self.rpc_url, "eth_chainId", timeout=1)), 16) == self.chain_id:
                    return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"anvil did not answer on {self.rpc_url} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM lets anvil dump --state
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
