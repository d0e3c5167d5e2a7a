"""The client IP that rate limits count: REMOTE_ADDR unless we run trusted proxies, and then
only the X-Forwarded-For entry our outermost proxy wrote, whatever the client adds."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from marketplace.core.client_ip import client_ip

NONCE_URL = "/api/v1/auth/nonce"
PROXY = "10.1.0.2"  # REMOTE_ADDR: the proxy nearest the app
CLIENT = "203.0.113.7"  # what the proxy saw and appended


def ip_of(*, forwarded_for: str | None, remote_addr: str = PROXY) -> str:
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)
    if forwarded_for is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client_ip(request)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert ip_of(forwarded_for=None) == PROXY
    assert ip_of(forwarded_for="198.51.100.9") == PROXY
    assert ip_of(forwarded_for=f"198.51.100.9, {CLIENT}") == PROXY


def test_behind_one_proxy_a_spoofed_entry_does_not_change_the_ip(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert ip_of(forwarded_for=CLIENT) == CLIENT
    assert ip_of(forwarded_for=f"198.51.100.9, {CLIENT}") == CLIENT
    assert ip_of(forwarded_for=f"1.1.1.1, garbage, 8.8.8.8, {CLIENT}") == CLIENT


def test_behind_two_proxies_the_outer_proxys_entry_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    outer_proxy = "10.1.0.1"
    assert ip_of(forwarded_for=f"{CLIENT}, {outer_proxy}") == CLIENT
    assert ip_of(forwarded_for=f"198.51.100.9, {CLIENT}, {outer_proxy}") == CLIENT


def test_a_request_that_bypassed_the_proxies_counts_as_its_own_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert ip_of(forwarded_for=None, remote_addr="192.0.2.50") == "192.0.2.50"


@pytest.mark.django_db
@pytest.mark.parametrize("proxies", [0, 1])
def test_rotating_a_spoofed_header_does_not_dodge_the_nonce_limit(settings, proxies):
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.RATE_LIMIT_NONCE_PER_IP = 2
    client = Client(REMOTE_ADDR=PROXY)
    answers = [
        client.get(NONCE_URL, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, {CLIENT}").status_code
        for n in range(3)
    ]
    assert answers == [200, 200, 429]
    # Someone else behind the same proxy still gets one (with a proxy: it is not their IP).
    other = Client(REMOTE_ADDR=PROXY).get(NONCE_URL, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == (200 if proxies else 429)
