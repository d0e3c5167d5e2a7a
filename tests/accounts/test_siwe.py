"""Sign-In with Ethereum (EIP-4361) through the real API, with messages signed by eth_account."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.test import Client
from siwe import SiweMessage

from marketplace.accounts.models import SiweNonce
from marketplace.core.models import AuditLog, User
from tests.siwe import build_message, sign

# anvil answers the EIP-1271 "is this a contract wallet?" question for failed recoveries.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anvil")]

NONCE_URL = "/api/v1/auth/nonce"
LOGIN_URL = "/api/v1/auth/login"


def nonce_for(client: Client) -> str:
    response = client.get(NONCE_URL)
    assert response.status_code == 200, response.content
    return response.json()["nonce"]


def login(client: Client, message: str, signature: str):  # type: ignore[no-untyped-def]
    return client.post(
        LOGIN_URL, {"message": message, "signature": signature}, content_type="application/json"
    )


@pytest.fixture
def wallet(dev_wallets):  # type: ignore[no-untyped-def]
    return dev_wallets[1]


def signed_message(client: Client, wallet, **fields):  # type: ignore[no-untyped-def]
    message = build_message(address=wallet.address, nonce=nonce_for(client), **fields)
    return message, sign(message, wallet.private_key)


def assert_refused(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["detail"]


# -- the happy path -------------------------------------------------------------------------


def test_nonce_is_random_bound_to_the_session_and_expires_in_ten_minutes(client):
    first = client.get(NONCE_URL).json()
    second = client.get(NONCE_URL).json()
    assert first["nonce"] != second["nonce"] and len(first["nonce"]) >= 16
    stored = SiweNonce.objects.get(nonce=first["nonce"])
    assert stored.session_key == client.session.session_key
    assert timedelta(minutes=9) < stored.expires_at - stored.created_at <= timedelta(minutes=10)
    assert (first["domain"], first["uri"], first["chain_id"]) == (
        "testserver",
        "http://testserver",
        31337,
    )


def test_a_signed_message_signs_in_creates_the_user_and_rotates_the_session(client, wallet):
    message, signature = signed_message(client, wallet)
    session_before = client.session.session_key

    response = login(client, message, signature)

    assert response.status_code == 200, response.content
    assert response.json() == {"address": wallet.address}
    assert client.session.session_key != session_before
    user = User.objects.get(address=wallet.address)
    assert not user.has_usable_password()
    assert AuditLog.objects.filter(action="user.signed_up", actor=user).count() == 1
    me = client.get("/api/v1/me").json()
    assert me["address"] == wallet.address
    assert me["roles"] == ["contributor"]


def test_signing_in_again_finds_the_same_user(client, wallet):
    login(client, *signed_message(client, wallet))
    client.post("/api/v1/auth/logout")
    response = login(client, *signed_message(client, wallet))
    assert response.status_code == 200
    assert User.objects.filter(address=wallet.address).count() == 1


def test_the_siwe_package_itself_parses_and_verifies_our_messages(wallet):
    """Guards the pins: siwe 4.4 breaks at import or parse with abnf 2.9 or web3 8."""
    message = build_message(address=wallet.address, nonce="abcdef0123456789")
    parsed = SiweMessage.from_message(message)
    parsed.verify(sign(message, wallet.private_key), domain="testserver", nonce="abcdef0123456789")
    assert parsed.prepare_message() == message


def test_logout_ends_the_session(client, wallet):
    login(client, *signed_message(client, wallet))
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_staff_reach_admin_after_wallet_sign_in(client, wallet):
    User.objects.create_user(wallet.address, is_staff=True, is_superuser=True)
    login(client, *signed_message(client, wallet))
    assert client.get("/admin/").status_code == 200


def test_staff_look_at_nonces_in_admin_and_delete_none(admin_client):
    nonce = SiweNonce.objects.get(nonce=nonce_for(admin_client))
    listing = admin_client.get("/admin/accounts/siwenonce/")
    assert listing.status_code == 200 and nonce.nonce in listing.content.decode()
    assert "delete_selected" not in listing.content.decode()
    assert admin_client.post(f"/admin/accounts/siwenonce/{nonce.pk}/delete/").status_code == 403
    assert SiweNonce.objects.filter(pk=nonce.pk).exists()


# -- every refusal --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"domain": "evil.example"}, "domain_mismatch"),
        ({"domain": "testserver.evil.example"}, "domain_mismatch"),
        ({"uri": "http://evil.example/login"}, "uri_mismatch"),
        ({"uri": "ftp://testserver"}, "uri_mismatch"),
        ({"chain_id": 1}, "chain_mismatch"),
        ({"expiration_time": datetime.now(UTC) - timedelta(seconds=1)}, "expired"),
        ({"not_before": datetime.now(UTC) + timedelta(minutes=5)}, "not_yet_valid"),
        ({"issued_at": datetime.now(UTC) + timedelta(minutes=5)}, "issued_in_future"),
    ],
)
def test_messages_not_for_us_or_out_of_time_are_refused(client, wallet, fields, code):
    response = login(client, *signed_message(client, wallet, **fields))
    assert_refused(response, 400, code)
    assert not User.objects.exists()
    assert not SiweNonce.objects.filter(used_at__isnull=False).exists()


def test_small_clock_skew_in_issued_at_is_tolerated(client, wallet):
    issued = datetime.now(UTC) + timedelta(seconds=20)
    assert login(client, *signed_message(client, wallet, issued_at=issued)).status_code == 200


def test_reused_nonce_is_rejected(client, wallet):
    message, signature = signed_message(client, wallet)
    assert login(client, message, signature).status_code == 200
    assert_refused(login(client, message, signature), 400, "nonce_reused")


def test_replay_after_logout_is_rejected(client, wallet):
    message, signature = signed_message(client, wallet)
    login(client, message, signature)
    client.post("/api/v1/auth/logout")
    assert_refused(login(client, message, signature), 400, "nonce_reused")
    assert client.get("/api/v1/me").status_code == 401


def test_nonce_from_another_session_is_rejected(wallet):
    victim, attacker = Client(), Client()
    message = build_message(address=wallet.address, nonce=nonce_for(attacker))
    assert_refused(
        login(victim, message, sign(message, wallet.private_key)), 400, "nonce_session_mismatch"
    )


def test_nonce_we_never_issued_is_rejected(client, wallet):
    nonce_for(client)
    message = build_message(address=wallet.address, nonce="madeupnonce12345")
    assert_refused(login(client, message, sign(message, wallet.private_key)), 400, "nonce_unknown")


def test_expired_nonce_is_rejected(client, wallet):
    message, signature = signed_message(client, wallet)
    now = datetime.now(UTC)
    SiweNonce.objects.update(
        created_at=now - timedelta(minutes=11), expires_at=now - timedelta(seconds=1)
    )
    assert_refused(login(client, message, signature), 400, "nonce_expired")


def test_tampered_message_is_rejected(client, wallet):
    message, signature = signed_message(client, wallet)
    tampered = message.replace("Sign in to DataBounty.", "Sign in to DataBounty!")
    assert_refused(login(client, tampered, signature), 401, "bad_signature")


def test_someone_elses_signature_is_rejected(client, wallet, dev_wallets):
    message = build_message(address=wallet.address, nonce=nonce_for(client))
    response = login(client, message, sign(message, dev_wallets[2].private_key))
    assert_refused(response, 401, "bad_signature")
    assert not User.objects.exists()


@pytest.mark.parametrize("signature", ["0x", "0x1234", "not hex", "0x" + "zz" * 65])
def test_garbage_signatures_are_rejected(client, wallet, signature):
    message, _ = signed_message(client, wallet)
    assert_refused(login(client, message, signature), 401, "bad_signature")


@pytest.mark.parametrize(
    "text",
    ["hello", "example.com wants you to sign in with your Ethereum account:\n0x123\n\n"],
)
def test_malformed_text_is_rejected(client, text):
    nonce_for(client)
    code = login(client, text, "0x" + "11" * 65).json()["code"]
    assert code in {"malformed_message", "missing_fields"}


def test_message_missing_fields_names_them(client, wallet):
    message, signature = signed_message(client, wallet)
    without_nonce = "\n".join(ln for ln in message.split("\n") if not ln.startswith("Nonce: "))
    response = login(client, without_nonce, signature)
    assert_refused(response, 400, "missing_fields")
    assert response.json()["missing"] == ["Nonce"]


def test_lowercase_address_in_message_is_rejected_as_malformed(client, wallet):
    message, signature = signed_message(client, wallet)
    assert_refused(
        login(client, message.replace(wallet.address, wallet.address.lower()), signature),
        400,
        "malformed_message",
    )


@pytest.mark.parametrize("body", [{}, {"message": "x"}, {"signature": "0x"}])
def test_missing_request_fields_are_rejected(client, body):
    response = client.post(LOGIN_URL, body, content_type="application/json")
    assert_refused(response, 400, "invalid")


def test_failures_log_nothing_secret(client, wallet, dev_wallets, caplog):
    caplog.set_level(logging.DEBUG)
    message = build_message(address=wallet.address, nonce=nonce_for(client))
    signature = sign(message, dev_wallets[2].private_key)
    login(client, message, signature)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert signature[2:20] not in logged
    assert message.split("Nonce: ")[1][:16] not in logged


# -- abuse limits and CSRF ------------------------------------------------------------------


def test_nonce_requests_are_rate_limited_per_ip(client, settings):
    settings.RATE_LIMIT_NONCE_PER_IP = 3
    for _ in range(3):
        assert client.get(NONCE_URL).status_code == 200
    assert_refused(client.get(NONCE_URL), 429, "rate_limited")
    other_ip = client.get(NONCE_URL, REMOTE_ADDR="10.9.8.7")
    assert other_ip.status_code == 200


def test_garbage_signatures_for_an_address_do_not_lock_its_wallet_out(
    settings, wallet, dev_wallets
):
    """Anyone can name a victim's address in a message; only the IP pays for a bad signature."""
    settings.RATE_LIMIT_LOGIN_PER_ADDRESS = 2
    for number in range(5):
        attacker = Client(REMOTE_ADDR=f"10.0.0.{number + 1}")
        message = build_message(address=wallet.address, nonce=nonce_for(attacker))
        junk = "0x" + "11" * 65 if number % 2 else sign(message, dev_wallets[2].private_key)
        assert_refused(login(attacker, message, junk), 401, "bad_signature")
    owner = Client(REMOTE_ADDR="10.0.1.1")
    assert login(owner, *signed_message(owner, wallet)).status_code == 200


def test_failed_checks_of_a_verified_signature_count_against_the_address(settings, wallet):
    settings.RATE_LIMIT_LOGIN_PER_ADDRESS = 2
    for ip in ("10.0.0.1", "10.0.0.2"):
        client = Client(REMOTE_ADDR=ip)
        response = login(client, *signed_message(client, wallet, domain="evil.example"))
        assert_refused(response, 400, "domain_mismatch")
    client = Client(REMOTE_ADDR="10.0.0.3")
    response = login(client, *signed_message(client, wallet))
    assert_refused(response, 429, "rate_limited")
    assert not User.objects.exists()


def test_login_attempts_are_rate_limited_per_ip(settings, client, wallet):
    settings.RATE_LIMIT_LOGIN_PER_IP = 1
    login(client, "garbage", "0x")
    assert_refused(login(client, *signed_message(client, wallet)), 429, "rate_limited")


def test_login_needs_the_csrf_token(wallet):
    client = Client(enforce_csrf_checks=True)
    message, signature = signed_message(client, wallet)
    assert login(client, message, signature).status_code == 403
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else None
    if token is None:
        client.get("/")  # the page sets the CSRF cookie
        token = client.cookies["csrftoken"].value
    response = client.post(
        LOGIN_URL,
        {"message": message, "signature": signature},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.content


# -- concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_message_sent_twice_at_once_signs_in_once(wallet):
    first = Client()
    message, signature = signed_message(first, wallet)
    second = Client()
    second.cookies = first.cookies
    barrier = threading.Barrier(2)
    results: list[int] = []

    def attempt(c: Client) -> None:
        barrier.wait()
        try:
            results.append(login(c, message, signature).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 400]
    assert SiweNonce.objects.get().used_at is not None
