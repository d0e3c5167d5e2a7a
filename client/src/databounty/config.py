"""Where the client's settings and state live.

Settings come from the environment first (``DATABOUNTY_URL``, ``DATABOUNTY_TOKEN``,
``DATABOUNTY_KEY_FILE``, ``DATABOUNTY_RPC_URL``, ``DATABOUNTY_MAX_AMOUNT``), then from
``$XDG_CONFIG_HOME/databounty/config.json`` (``~/.config/databounty`` by default). The same folder
holds the state the client keeps between runs: unfinished uploads (``uploads/<sha256>.json``) and
the download tokens x402 payments returned (``x402-tokens.json``). Files holding secrets are
written with mode 0600."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from databounty.errors import ClientError

API = "/api/v1/"  # every endpoint lives under it
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_RPC_URL = "http://127.0.0.1:8545"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "databounty"


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ClientError(f"Cannot read {path}: {exc}", code="bad_config") from None
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replaces ``path`` atomically, readable by its owner only (it may hold a token)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def normalize_url(url: str) -> str:
    return url.strip().rstrip("/")


@dataclass
class Config:
    url: str
    token: str | None
    key_file: str | None
    rpc_url: str
    max_amount: int | None  # base units an x402 payment may cost at most
    directory: Path

    @classmethod
    def load(
        cls,
        *,
        url: str | None = None,
        token: str | None = None,
        key_file: str | None = None,
        rpc_url: str | None = None,
        max_amount: int | None = None,
    ) -> Config:
        """Explicit arguments win over the environment, which wins over config.json."""
        directory = config_dir()
        stored = read_json(directory / "config.json")
        env = os.environ
        server = normalize_url(url or env.get("DATABOUNTY_URL") or stored.get("url") or DEFAULT_URL)
        # A token is only ever sent to the server it was issued by.
        stored_token = stored.get("tokens", {}).get(server)
        raw_max = max_amount if max_amount is not None else env.get("DATABOUNTY_MAX_AMOUNT")
        if raw_max is None:
            raw_max = stored.get("max_amount")
        return cls(
            url=server,
            token=token or env.get("DATABOUNTY_TOKEN") or stored_token,
            key_file=key_file or env.get("DATABOUNTY_KEY_FILE") or stored.get("key_file"),
            rpc_url=rpc_url
            or env.get("DATABOUNTY_RPC_URL")
            or stored.get("rpc_url")
            # Keep the default last: an explicit empty string means "use the default".
            or DEFAULT_RPC_URL,
            max_amount=_base_units(raw_max),
            directory=directory,
        )

    def save_login(self, *, token: str, key_file: str | None) -> Path:
        """Remembers the server, its token and (when given) the key file, for the next runs."""
        path = self.directory / "config.json"
        stored = read_json(path)
        stored["url"] = self.url
        stored.setdefault("tokens", {})[self.url] = token
        if key_file:
            stored["key_file"] = str(Path(key_file).resolve())
        write_json(path, stored)
        self.token = token
        return path

    def read_key(self) -> str:
        """The private key (hex) from the key file."""
        if not self.key_file:
            raise ClientError("No key: pass --key-file or set DATABOUNTY_KEY_FILE.", code="no_key")
        try:
            key = Path(self.key_file).expanduser().read_text().strip()
        except OSError as exc:
            raise ClientError(
                f"Cannot read the key file {self.key_file}: {exc.strerror}", code="no_key"
            ) from None
        key = key.removeprefix("0x")
        if len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key):
            raise ClientError(
                f"{self.key_file} does not hold a private key (64 hex digits).", code="bad_key"
            )
        return "0x" + key


def _base_units(value: object) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit():
        raise ClientError(
            f"The maximum amount must be a whole number of base units, not {text!r}.",
            code="bad_amount",
        )
    return int(text)


class TokenStore:
    """Download tokens an x402 payment returned, per server and payer address, kept until
    they expire so the next request presents one instead of paying again."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "x402-tokens.json"

    @staticmethod
    def _key(url: str, address: str) -> str:
        return f"{normalize_url(url)} {address.lower()}"

    def get(self, url: str, address: str) -> str | None:
        entry = read_json(self.path).get(self._key(url, address))
        if not isinstance(entry, dict) or not entry.get("token"):
            return None
        expires = _parse_time(entry.get("expires_at"))
        if expires is not None and expires <= datetime.now(UTC):
            return None
        return str(entry["token"])

    def known(self, url: str, address: str) -> bool:
        """Whether ``address`` paid ``url``'s server from here before (its token may have
        ended). ``url`` may be any URL on that server."""
        origin = urlsplit(url)[:2]
        return any(
            urlsplit(server)[:2] == origin and payer == address.lower()
            for server, _, payer in (key.partition(" ") for key in read_json(self.path))
        )

    def put(self, url: str, address: str, token: str, expires_at: str | None) -> None:
        data = read_json(self.path)
        data[self._key(url, address)] = {"token": token, "expires_at": expires_at}
        write_json(self.path, data)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
