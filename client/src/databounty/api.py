"""The DataBounty HTTP API (``/api/v1/``) for scripts: sign in, catalogue, resumable uploads,
contribution status, license purchases and verified downloads.

Every refusal arrives as JSON ``{"detail", "code"}`` and is raised as :class:`ApiError`; a server
that cannot be reached raises :class:`ClientError` with code ``connection_error``."""

from __future__ import annotations

import hashlib
import os
import platform
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from eth_account import Account
from eth_account.messages import encode_defunct

from databounty.config import API, Config
from databounty.errors import ApiError, ClientError, PaymentRequiredError
from databounty.files import UploadState, safe_destination

READ_BLOCK = 1 << 20  # bytes read from disk or the network at a time
FINISHED = frozenset({"accepted", "partially_accepted", "rejected", "failed"})
Progress = Callable[[int], object]  # called with the bytes just sent or received


def _ignore(_n: int) -> None:
    return None


def file_sha256(path: Path, progress: Progress = _ignore) -> str:
    return _sha256_of(path, progress).hexdigest()


def _sha256_of(path: Path, progress: Progress = _ignore) -> hashlib._Hash:
    """The SHA-256 of ``path``'s bytes so far, to go on with the bytes that follow."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(READ_BLOCK):
            digest.update(block)
            progress(len(block))
    return digest


def _error_from(response: requests.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        detail, code = str(body["detail"]), str(body.get("code") or "error")
    else:
        detail, code = (
            f"The server answered {response.status_code} {response.reason}.",
            "http_error",
        )
    kind = PaymentRequiredError if response.status_code == 402 else ApiError
    return kind(detail, code=code, status=response.status_code)


def _unreachable(url: str, exc: requests.RequestException) -> ClientError:
    if isinstance(exc, requests.Timeout):
        reason = "it did not answer in time"
    elif isinstance(exc, requests.ConnectionError):
        reason = "the connection failed"
    else:
        reason = type(exc).__name__
    parts = urlsplit(url)
    return ClientError(
        f"Cannot reach {parts.scheme}://{parts.netloc}: {reason}.", code="connection_error"
    )


@dataclass
class Listing:
    """A release's files as ``GET /datasets/<slug>/files/`` lists them."""

    dataset: str
    version: int
    content_hash: str
    files: list[dict[str, Any]]

    @property
    def parquet_urls(self) -> list[str]:
        return [f["url"] for f in self.files if str(f["name"]).endswith(".parquet")]


class Client:
    """One server, one credential. ``bearer`` is the API token sent as ``Authorization``; with
    a ``payer`` (x402) the session pays a 402 by itself, and the download token the paid answer
    carries becomes the bearer for the requests that follow."""

    def __init__(
        self,
        config: Config,
        *,
        payer: Any = None,  # databounty.x402_pay.Payer, imported lazily (x402 is heavy)
        timeout: float = 60.0,
    ) -> None:
        self.config = config
        self.url = config.url
        self.timeout = timeout
        self.payer = payer
        self.session = payer.session() if payer is not None else requests.Session()
        self.session.headers["User-Agent"] = "databounty-client/0.1"
        self.bearer = config.token
        if payer is not None:
            # The payer's saved download token first; else whatever token the user signed in
            # with (it may hold a license); the payment itself is the last resort.
            self.bearer = payer.stored_token(self.url) or config.token
            payer.sign_in = self._sign_in_as_payer

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP ------------------------------------------------------------------------------------

    def absolute(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.url + "/", path.lstrip("/"))

    def request(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> requests.Response:
        """The response, or :class:`ApiError` for any status of 400 and above."""
        url = self.absolute(path)
        headers = dict(kwargs.pop("headers", None) or {})
        sent = (
            {**headers, "Authorization": f"Bearer {self.bearer}"}
            if auth and self.bearer
            else headers
        )
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, url, headers=sent, **kwargs)
        except requests.RequestException as exc:
            raise _unreachable(url, exc) from None
        except Exception as exc:  # x402's adapter wraps what went wrong while paying
            if self.payer is not None and self.payer.handles(exc):
                raise self.payer.explain(exc) from None
            raise
        if self.payer is not None:
            token = self.payer.took_token(self.url, response)
            if token:
                self.bearer = token
            elif response.status_code == 401 and auth and self.bearer:
                # The saved token ended: ask again without it (the payer signs in, or pays).
                response.close()
                self.bearer = None
                return self.request(method, path, auth=auth, headers=headers, **kwargs)
        if response.status_code >= 400:
            error = _error_from(response)
            response.close()
            raise error
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post_json(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=body, **kwargs)
        return response.json() if response.content else None

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every result of a page-numbered list, following ``next``."""
        url: str | None = path
        query: dict[str, Any] | None = {k: v for k, v in params.items() if v not in (None, "")}
        while url:
            page = self.get_json(url, params=query)
            yield from page.get("results", [])
            url, query = page.get("next"), None  # ``next`` carries the query already

    # -- sign-in -----------------------------------------------------------------------------------

    def login_with_key(
        self,
        private_key: str,
        *,
        token_name: str | None = None,
        scopes: tuple[str, ...] = ("read", "write", "download"),
    ) -> dict[str, Any]:
        """Signs in with Sign-In with Ethereum (EIP-4361) as the key's address, then creates an
        API token with ``scopes``. Returns the token (its ``secret`` is there once)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # siwe's grammar redefines ABNF core rules on purpose
            from siwe import SiweMessage

        account = Account.from_key(private_key)
        self.session.cookies.clear()
        nonce = self.get_json(API + "auth/nonce", auth=False)
        now = datetime.now(UTC)
        message = SiweMessage(
            domain=nonce["domain"],
            address=account.address,
            uri=nonce["uri"],
            version="1",
            chain_id=int(nonce["chain_id"]),
            nonce=nonce["nonce"],
            issued_at=_iso(now),
            expiration_time=_iso(now + timedelta(minutes=5)),
            statement=nonce.get("statement") or None,
        ).prepare_message()
        signed = Account.sign_message(encode_defunct(text=message), private_key=private_key)
        signature = "0x" + signed.signature.hex().removeprefix("0x")
        self.post_json(
            API + "auth/login",
            {"message": message, "signature": signature},
            auth=False,
            headers=self._csrf_headers(),
        )
        name = token_name or f"databounty CLI on {platform.node() or 'this machine'}"
        created: dict[str, Any] = self.post_json(
            API + "auth/tokens",
            {"name": name[:80], "scopes": list(scopes)},
            auth=False,
            headers=self._csrf_headers(),
        )
        # The session was only needed to mint the token.
        self.post_json(API + "auth/logout", auth=False, headers=self._csrf_headers())
        self.session.cookies.clear()
        self.bearer = created["secret"]
        return created

    def _sign_in_as_payer(self) -> str:
        """A download token for the x402 payer's address from signing in with its key, kept
        like the ones payments return (the x402 hook tries it before paying again)."""
        payer = self.payer
        created = self.login_with_key(
            payer.private_key,
            token_name=f"databounty x402 on {platform.node() or 'this machine'}",
            scopes=("read", "download"),
        )
        payer.tokens.put(self.url, payer.address, created["secret"], created.get("expires_at"))
        return str(created["secret"])

    def _csrf_headers(self) -> dict[str, str]:
        """Django wants the CSRF cookie's value echoed for the session's sign-in requests; any
        page sets the cookie. Over HTTPS it also checks the Referer."""
        if "csrftoken" not in self.session.cookies:
            self.request("GET", "/", auth=False).close()
        token = self.session.cookies.get("csrftoken")
        if not token:
            raise ClientError("The server set no CSRF cookie to sign in with.", code="no_csrf")
        return {"X-CSRFToken": token, "Referer": self.url + "/"}

    def me(self) -> dict[str, Any]:
        me: dict[str, Any] = self.get_json(API + "me")
        return me

    # -- catalogue -------------------------------------------------------------------------------

    def datasets(self, *, search: str = "") -> Iterator[dict[str, Any]]:
        return self.pages(API + "datasets/", search=search)

    # -- uploads ---------------------------------------------------------------------------------

    def upload(
        self,
        slug: str,
        path: Path,
        *,
        sha256: str,
        progress: Callable[[int, int], Progress] = lambda _start, _total: _ignore,
        say: Callable[[str], object] = print,
    ) -> dict[str, Any]:
        """Sends ``path`` as a contribution to ``slug`` in chunks and returns the contribution.

        The upload's id is kept in the config folder under the file's SHA-256 until it
        completes, so after an interruption the same call asks the server how many bytes arrived
        and sends only the rest. ``progress(start, total)`` returns the callback fed each chunk."""
        total = path.stat().st_size
        state = UploadState(self.config.directory, sha256)
        upload = state.resume(self, slug=slug, total=total)
        if upload is not None:
            say(f"Resuming upload {upload['id']} at {upload['received_bytes']} of {total} bytes.")
        else:
            check = self.get_json(
                API + f"datasets/{slug}/contributions/check", params={"sha256": sha256}
            )
            if check.get("duplicate"):
                raise ApiError(
                    str(check.get("detail") or "This file was contributed already."),
                    code=str(check.get("code") or "duplicate_file"),
                    status=409,
                )
            upload = self.post_json(
                API + f"datasets/{slug}/uploads/", {"filename": path.name, "total_size": total}
            )
            state.save(url=self.url, slug=slug, upload_id=upload["id"], total=total)
        chunk_size = int(upload.get("chunk_size") or state.chunk_size or 8 << 20)
        state.remember_chunk_size(chunk_size)
        offset = int(upload["received_bytes"])
        sent = progress(offset, total)
        with path.open("rb") as f:
            f.seek(offset)
            while offset < total:
                data = f.read(chunk_size)
                if not data:
                    raise ClientError(f"{path} got shorter while uploading.", code="file_changed")
                end = offset + len(data) - 1
                self.request(
                    "PUT",
                    API + f"uploads/{upload['id']}",
                    data=data,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"bytes {offset}-{end}/{total}",
                    },
                ).close()
                offset = end + 1
                sent(len(data))
        contribution: dict[str, Any] = self.post_json(API + f"uploads/{upload['id']}/complete")
        state.clear()
        return contribution

    def contribution(self, contribution_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.get_json(API + f"contributions/{contribution_id}/")
        return found

    def wait_for_contribution(
        self,
        contribution_id: int,
        *,
        interval: float = 1.0,
        timeout: float | None = None,
        on_update: Callable[[dict[str, Any]], object] = lambda _c: None,
    ) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            contribution = self.contribution(contribution_id)
            on_update(contribution)
            if contribution["status"] in FINISHED:
                return contribution
            if deadline is not None and time.monotonic() > deadline:
                raise ClientError(
                    f"Contribution {contribution_id} is still {contribution['status']}.",
                    code="timeout",
                )
            time.sleep(interval)

    # -- licenses ----------------------------------------------------------------------------------

    def tiers(self, slug: str) -> list[dict[str, Any]]:
        tiers: list[dict[str, Any]] = self.get_json(API + "licenses/", params={"dataset": slug})
        return tiers

    def tier(self, slug: str, wanted: str) -> dict[str, Any]:
        """The active tier named ``wanted`` (case-insensitive) or with that id."""
        tiers = [t for t in self.tiers(slug) if t.get("is_active", True)]
        for tier in tiers:
            if str(tier["id"]) == wanted or str(tier["name"]).casefold() == wanted.casefold():
                return tier
        offered = ", ".join(f"{t['name']} (id {t['id']}, {t['price']})" for t in tiers) or "none"
        raise ClientError(
            f"{slug} offers no license tier {wanted!r}. Offered: {offered}.", code="no_such_tier"
        )

    def claim_free(self, tier_id: int) -> dict[str, Any]:
        grant: dict[str, Any] = self.post_json(API + f"licenses/{tier_id}/claim")
        return grant

    def purchase_create(self, tier_id: int) -> dict[str, Any]:
        purchase: dict[str, Any] = self.post_json(API + "purchases/", {"license": tier_id})
        return purchase

    def purchase(self, purchase_id: int) -> dict[str, Any]:
        purchase: dict[str, Any] = self.get_json(API + f"purchases/{purchase_id}/")
        return purchase

    def purchase_confirm(self, purchase_id: int, tx_hash: str) -> dict[str, Any]:
        purchase: dict[str, Any] = self.post_json(
            API + f"purchases/{purchase_id}/confirm", {"tx_hash": tx_hash}
        )
        return purchase

    def wait_until_paid(
        self,
        purchase: dict[str, Any],
        *,
        interval: float = 1.0,
        timeout: float = 600.0,
        on_update: Callable[[dict[str, Any]], object] = lambda _p: None,
    ) -> dict[str, Any]:
        """Follows ``purchase``, the order as the server last returned it, reading it again
        every ``interval`` seconds until it is paid; raises once it fails or expires, or after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            on_update(purchase)
            if purchase["status"] == "paid":
                return purchase
            if purchase["status"] in ("failed", "expired"):
                raise ClientError(
                    purchase.get("error_detail") or f"The purchase is {purchase['status']}.",
                    code=purchase.get("error_code") or f"purchase_{purchase['status']}",
                )
            if time.monotonic() > deadline:
                raise ClientError(
                    f"Purchase {purchase['id']} is still {purchase['status']}; "
                    "run the same command again to keep waiting.",
                    code="timeout",
                )
            time.sleep(interval)
            purchase = self.purchase(int(purchase["id"]))

    # -- downloads ---------------------------------------------------------------------------------

    def files(self, slug: str, *, version: int | None = None) -> Listing:
        params = {"version": version} if version else None
        body = self.get_json(API + f"datasets/{slug}/files/", params=params)
        return Listing(body["dataset"], int(body["version"]), body["content_hash"], body["files"])

    def download_file(
        self,
        file: dict[str, Any],
        out_dir: Path,
        *,
        progress: Callable[[int, int, str], Progress] = lambda _s, _t, _n: _ignore,
    ) -> Path:
        """Saves one listed file under ``out_dir`` and checks its SHA-256. A partial download
        (``<name>.part``) continues with a Range request; a file already there and intact is kept.
        A file whose bytes do not match the listed SHA-256 is deleted and refused."""
        dest = safe_destination(out_dir, str(file["name"]))
        expected = str(file["sha256"]).lower()
        if dest.exists() and file_sha256(dest) == expected:
            return dest
        part = dest.with_name(dest.name + ".part")
        dest.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(2):
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            if have and have >= int(file.get("size") or 0):
                headers = {}  # a leftover as long as the file: fetch it whole again
            response = self.request("GET", file["url"], headers=headers, stream=True)
            with response:
                if response.status_code != 206:
                    have = 0
                # Hashed as it is written; a continued part's earlier bytes are read once first.
                digest = _sha256_of(part) if have else hashlib.sha256()
                fed = progress(have, int(file.get("size") or 0), str(file["name"]))
                with part.open("ab" if have else "wb") as out:
                    for block in response.iter_content(READ_BLOCK):
                        out.write(block)
                        digest.update(block)
                        fed(len(block))
            if digest.hexdigest() == expected:
                os.replace(part, dest)
                return dest
            part.unlink()
            if attempt == 0 and have:
                continue  # the earlier part was bad: one fresh download
            break
        raise ClientError(
            f"{file['name']} does not match its SHA-256 ({expected}); the download was deleted.",
            code="checksum_mismatch",
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
