"""Sign-In with Ethereum (EIP-4361, https://eips.ethereum.org/EIPS/eip-4361).

siwe-py parses the message, but its ``verify()`` checks the domain and nonce only when given and
never the chain id or URI, so every check is made here against values from settings (never from
the request), in an order that gives each failure its own clear code.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http.request import split_domain_port, validate_host
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from siwe import SiweMessage

from marketplace.accounts.contract_wallets import ContractWalletUnavailable, contract_wallet_vouches
from marketplace.accounts.exceptions import SignatureError, SignInError
from marketplace.accounts.models import SiweNonce
from marketplace.core.models import User
from marketplace.core.ratelimit import rate_limit_check, rate_limit_count, rate_limit_hit
from marketplace.core.services import audit_log_record

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4096
# Lines every EIP-4361 message carries; named in the error when one is missing.
REQUIRED_FIELDS = ("URI", "Version", "Chain ID", "Nonce", "Issued At")
HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
ADDRESS_LIMIT_SCOPE = "siwe-login-address"


@dataclass(frozen=True)
class IssuedNonce:
    nonce: str
    expires_at: datetime


def siwe_nonce_issue(*, session_key: str, client_ip: str) -> IssuedNonce:
    """Issue a fresh single-use nonce bound to ``session_key``."""
    rate_limit_hit(
        scope="siwe-nonce-ip",
        key=client_ip,
        limit=settings.RATE_LIMIT_NONCE_PER_IP,
        window_seconds=60,
    )
    now = timezone.now()
    nonce = SiweNonce.objects.create(
        # 128 bits, alphanumeric as EIP-4361 requires (at least 8 characters).
        nonce=secrets.token_hex(16),
        session_key=session_key,
        expires_at=now + timedelta(seconds=settings.SIWE_NONCE_TTL_SECONDS),
    )
    return IssuedNonce(nonce=nonce.nonce, expires_at=nonce.expires_at)


def _allowed_domains() -> list[str]:
    return [h for h in (settings.SIWE_DOMAINS or settings.ALLOWED_HOSTS) if h != "*"]


def _parse(message: object) -> SiweMessage:
    if not isinstance(message, str) or not message.strip():
        raise SignInError("The sign-in message is empty.", code="malformed_message")
    if len(message) > MAX_MESSAGE_LENGTH:
        raise SignInError("The sign-in message is too long.", code="malformed_message")
    lines = message.split("\n")
    if not lines[0].endswith(HEADER_SUFFIX):
        raise SignInError(
            "This is not a Sign-In with Ethereum message (EIP-4361).", code="malformed_message"
        )
    missing = [f for f in REQUIRED_FIELDS if not any(ln.startswith(f"{f}: ") for ln in lines)]
    if missing:
        raise SignInError(
            f"The sign-in message lacks: {', '.join(missing)}.",
            code="missing_fields",
            extra={"missing": missing},
        )
    try:
        return SiweMessage.from_message(message)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        reason = "its address is not EIP-55 checksummed" if "EIP-55" in str(exc) else "malformed"
        raise SignInError(
            f"The sign-in message could not be read: {reason}.", code="malformed_message"
        ) from None


def _check_origin(parsed: SiweMessage) -> None:
    host, _port = split_domain_port(parsed.domain)
    if not host or not validate_host(host, _allowed_domains()):
        raise SignInError(
            f"The message is for {parsed.domain!r}, not for this site.", code="domain_mismatch"
        )
    uri = urlsplit(str(parsed.uri))
    if uri.scheme not in ("https", "http") or uri.netloc != parsed.domain:
        raise SignInError(
            f"The message's URI {parsed.uri!s} does not belong to {parsed.domain}.",
            code="uri_mismatch",
        )
    accepted = settings.SIWE_CHAIN_IDS or [settings.CHAIN_ID]
    if parsed.chain_id not in accepted:
        raise SignInError(
            f"Chain {parsed.chain_id} is not accepted here; switch your wallet to chain "
            f"{accepted[0]}.",
            code="chain_mismatch",
            extra={"accepted_chain_ids": accepted},
        )


def _check_times(parsed: SiweMessage, now: datetime) -> None:
    skew = timedelta(seconds=settings.SIWE_CLOCK_SKEW_SECONDS)
    if parsed.issued_at._datetime > now + skew:
        raise SignInError("The message is dated in the future.", code="issued_in_future")
    if parsed.expiration_time is not None and now >= parsed.expiration_time._datetime:
        raise SignInError("The sign-in message has expired: sign a new one.", code="expired")
    if parsed.not_before is not None and now < parsed.not_before._datetime:
        raise SignInError("The sign-in message is not valid yet.", code="not_yet_valid")


def _check_nonce(parsed: SiweMessage, *, session_key: str, now: datetime) -> SiweNonce:
    nonce = SiweNonce.objects.filter(nonce=parsed.nonce).first()
    if nonce is None:
        raise SignInError("We did not issue this nonce: start again.", code="nonce_unknown")
    if nonce.used_at is not None:
        raise SignInError("This sign-in message was already used.", code="nonce_reused")
    if not session_key or not secrets.compare_digest(nonce.session_key, session_key):
        raise SignInError(
            "This nonce was issued to another browser session: start again.",
            code="nonce_session_mismatch",
        )
    if nonce.expires_at <= now:
        raise SignInError("The nonce has expired: start again.", code="nonce_expired")
    return nonce


def _check_signature(parsed: SiweMessage, signature: object) -> None:
    """EOA signatures by recovery; contract wallets (code at the address) by EIP-1271."""
    if not isinstance(signature, str) or not signature.startswith("0x"):
        raise SignatureError("The signature is missing or not hex.", code="bad_signature")
    try:
        signature_bytes = bytes.fromhex(signature[2:])
    except ValueError:
        raise SignatureError("The signature is not hex.", code="bad_signature") from None
    text = parsed.prepare_message()  # what EIP-4361 says the wallet signed
    try:
        recovered = Account.recover_message(encode_defunct(text=text), signature=signature_bytes)
    except Exception:  # malformed signatures raise several exception types
        recovered = None
    if recovered == parsed.address:
        return
    try:
        if contract_wallet_vouches(wallet=parsed.address, text=text, signature=signature_bytes):
            return
    except ContractWalletUnavailable as exc:
        logger.warning("EIP-1271 check unavailable: %s", exc.code)
        raise SignatureError(
            "The signature does not match this address, and the chain could not be asked "
            "whether it is a contract wallet. Try again shortly.",
            code="chain_unavailable",
            status_code=503,
        ) from None
    raise SignatureError(
        "The signature does not match the address in the message.", code="bad_signature"
    )


def siwe_login(*, message: str, signature: str, session_key: str, client_ip: str) -> User:
    """Verify a signed SIWE message and return its user, creating it on first sign-in.

    The signature is verified before anything else, so the per-address limit counts only
    failures that the address's own key signed (a reused, expired or foreign message): anyone
    can name someone else's address with a junk signature, and that counts against their IP
    alone, or they could lock any wallet out. The nonce is consumed only when every check has
    passed, with a conditional UPDATE, so the same message can sign in once even when sent
    twice at the same moment.
    """
    rate_limit_hit(
        scope="siwe-login-ip",
        key=client_ip,
        limit=settings.RATE_LIMIT_LOGIN_PER_IP,
        window_seconds=60,
    )
    parsed = _parse(message)
    address = parsed.address.lower()
    rate_limit_check(
        scope=ADDRESS_LIMIT_SCOPE,
        key=address,
        limit=settings.RATE_LIMIT_LOGIN_PER_ADDRESS,
        window_seconds=60,
    )
    _check_signature(parsed, signature)
    try:
        return _sign_in_verified(parsed, session_key=session_key)
    except SignInError:
        rate_limit_count(scope=ADDRESS_LIMIT_SCOPE, key=address, window_seconds=60)
        raise


def _sign_in_verified(parsed: SiweMessage, *, session_key: str) -> User:
    """The checks after the address's signature has verified, then the user."""
    now = timezone.now()
    _check_origin(parsed)
    nonce = _check_nonce(parsed, session_key=session_key, now=now)
    _check_times(parsed, now)

    with transaction.atomic():
        user = user_for_address(parsed.address, via="siwe")
        if not user.is_active:
            raise SignInError(
                "This account is suspended.", code="account_disabled", status_code=403
            )
        consumed = SiweNonce.objects.filter(pk=nonce.pk, used_at__isnull=True).update(
            used_at=now, used_by=user
        )
        if consumed != 1:
            raise SignInError("This sign-in message was already used.", code="nonce_reused")
    return user


def user_for_address(address: str, *, via: str) -> User:
    """The account of a proven wallet address (EIP-55), made on first sight: by signing in
    (``via="siwe"``) or by paying (``via="x402"``: an agent's payment signature proves it)."""
    # Inserted with an unusable password (``set_unusable_password``'s value, made only when
    # inserting): no password ever matches a wallet's account.
    user, created = User.objects.get_or_create(
        address=address, defaults={"password": lambda: make_password(None)}
    )
    if created:
        audit_log_record(action="user.signed_up", actor=user, target=user, data={"via": via})
    return user


def siwe_nonces_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete nonces that expired more than ``older_than`` ago; returns how many."""
    deleted, _ = SiweNonce.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted
