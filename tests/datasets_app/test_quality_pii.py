"""PII and secret detection: each kind on values that must be found, and near misses that must
not (years, order numbers, ids, numbers failing their check digits). No database needed."""

from __future__ import annotations

import random

import pytest

from datasets_app.quality import pii
from datasets_app.quality.pii import (
    PiiHit,
    PiiKind,
    find_pii,
    iban_valid,
    luhn_valid,
    redact,
    shannon_entropy,
)


def found(text: str) -> list[tuple[str, str]]:
    return [(hit.kind.value, text[hit.start : hit.end]) for hit in find_pii(text)]


def kinds(text: str) -> set[str]:
    return {kind for kind, _ in found(text)}


@pytest.mark.parametrize(
    "email",
    [
        "jane.doe@example.com",
        "john.doe+newsletter@mail.example.co.uk",
        "a_b-c%d@sub-domain.example.io",
        "UPPER.Case@Example.ORG",
    ],
)
def test_email_is_found_in_running_text(email: str) -> None:
    assert found(f"Contact: {email}, thanks.") == [("email", email)]


@pytest.mark.parametrize(
    "text",
    [
        "meet me @ the station",
        "twitter handle @janedoe",
        "user@localhost is not routable",
        "version 1.2@3 of the file",
        "price: 5@10.00",
    ],
)
def test_things_with_an_at_sign_are_not_emails(text: str) -> None:
    assert "email" not in kinds(text)


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+1-202-555-0143",
        "+442079460958",
        "+49 30 1234567",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "020 7946 0958",
        "(020) 7946 0958",
        "06 12 34 56 78",
        "06.12.34.56.78",
    ],
)
def test_international_and_national_phone_numbers_are_found(phone: str) -> None:
    assert found(f"call me on {phone} tomorrow") == [("phone", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "founded in 2024",
        "the 1999-2024 season",
        "order 2024-000123 shipped",
        "order #123456789 shipped",
        "customer id 12345678901",
        "on 2024-01-15 at noon",
        "from 192.168.100.200",
        "a crowd of 1 234 567 890 people",
        "short 555-1234 number",
        "+12345 is too short",
        "SKU-555-123-4567 in stock",
        "years 2024 2024 2024 again",
        "prices 12.99 12.99 12.99 EUR",
        "counts 100 200 300 400",
        "scores 10 20 30 40 50 60",
        "codes 123-456-789",
        "part 0 1 2 3 4 5 6 7 8",
        "mixed 020-7946 0958",
    ],
)
def test_years_ids_dates_and_addresses_are_not_phone_numbers(text: str) -> None:
    assert found(text) == []


def test_a_phone_number_at_the_end_of_a_run_of_numbers_is_found() -> None:
    assert found("room 12 020 7946 0958") == [("phone", "020 7946 0958")]


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",  # Visa test number
        "4111-1111-1111-1111",
        "5500005555555559",  # Mastercard
        "378282246310005",  # Amex, 15 digits
        "6011111111111117",  # Discover
        "4222222222222",  # 13-digit Visa
    ],
)
def test_card_numbers_passing_luhn_are_found(card: str) -> None:
    assert found(f"paid with {card} yesterday") == [("credit_card", card)]


def test_a_card_number_followed_by_another_number_is_cut_after_its_last_group() -> None:
    assert found("card 4111 1111 1111 1111 2024 exp") == [("credit_card", "4111 1111 1111 1111")]


def test_random_sixteen_digit_numbers_failing_luhn_are_not_cards() -> None:
    rng = random.Random(7)  # noqa: S311 - test data
    misses = 0
    for _ in range(200):
        number = "".join(rng.choice("0123456789") for _ in range(16))
        if not luhn_valid(number):
            misses += 1
            assert "credit_card" not in kinds(f"ref {number}")
    assert misses > 150  # about 9 in 10 random numbers fail the check digit


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # one digit off
        "0000 0000 0000 0000",  # passes Luhn, but a placeholder
        "41111111111111111111",  # 20 digits
        "4111 11 11 11 11 11 11",  # not how cards are grouped
        "4111 1111-1111 1111",  # mixed separators
        "9111 1111 1111 1110",  # passes Luhn, but no card network starts with 9
        "555 0 0 555 0 2024",  # passes Luhn: a run of small numbers
        "tracking 1Z999AA10123456784",
    ],
)
def test_card_near_misses_are_not_cards(text: str) -> None:
    assert "credit_card" not in kinds(text)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
    ],
)
def test_ibans_passing_mod_97_are_found(iban: str) -> None:
    assert found(f"please transfer to {iban} today") == [("iban", iban)]


def test_an_iban_followed_by_a_bic_is_cut_at_the_right_group() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX"
    assert found(text) == [("iban", "DE89 3704 0044 0532 0130 00")]


@pytest.mark.parametrize(
    "text",
    [
        "GB82WEST12345698765431",  # check digits do not match
        "DE89 3704 0044 0532 0130 01",
        "ABCD1234EFGH5678",
        "XX00",
    ],
)
def test_iban_near_misses_are_not_ibans(text: str) -> None:
    assert "iban" not in kinds(text)


def test_iban_checksum_ignores_spaces_and_case() -> None:
    assert iban_valid("gb82 west 1234 5698 7654 32")
    assert not iban_valid("GB82 WEST 1234 5698 7654 3")


@pytest.mark.parametrize("ssn", ["123-45-6789", "078-05-1120", "899-99-9999"])
def test_us_social_security_numbers_are_found(ssn: str) -> None:
    assert found(f"SSN {ssn}.") == [("national_id", ssn)]


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",  # area 000 never issued
        "666-12-3456",  # area 666 never issued
        "912-12-3456",  # 900-999 never issued
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "123-45-67890",  # too long
        "2024-01-15",
    ],
)
def test_never_issued_social_security_numbers_are_not_found(text: str) -> None:
    assert "national_id" not in kinds(f"ref {text}")


@pytest.mark.parametrize("nino", ["AB 12 34 56 C", "AB123456C", "JG103759A"])
def test_uk_national_insurance_numbers_are_found(nino: str) -> None:
    assert found(f"NI number {nino}.") == [("national_id", nino)]


@pytest.mark.parametrize(
    "text",
    [
        "QQ123456C",  # Q is never a first letter
        "GB123456A",  # GB never issued
        "AB123456E",  # suffix is A-D
        "ab123456c",  # lower case: a code, not an NI number
        "XAB123456C",
    ],
)
def test_uk_national_insurance_near_misses_are_not_found(text: str) -> None:
    assert "national_id" not in kinds(text)


@pytest.mark.parametrize(
    "secret",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "aB3" * 12,
        "gho_" + "Zx9" * 12,
        "github_pat_11ABCDEFG0123456789abc_" + "x1Y2" * 14,
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-123456789012-abcdefghij",
    ],
)
def test_cloud_and_chat_tokens_are_secrets(secret: str) -> None:
    assert found(f"token {secret} leaked") == [("secret", secret)]


def test_a_pem_private_key_is_a_secret_through_its_end_line() -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"
    text = f"here it is:\n{key}\nbye"
    assert found(text) == [("secret", key)]
    assert found("-----BEGIN OPENSSH PRIVATE KEY-----") == [
        ("secret", "-----BEGIN OPENSSH PRIVATE KEY-----")
    ]
    assert found("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----") == []


@pytest.mark.parametrize(
    "assignment",
    [
        "api_key=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "API-KEY: 'sk_live_51H8aZ2eZvKYlo2C0aBcDeFgH'",
        'secret = "Xq3vT9pL2mN8rK4wY7zB1cD6"',
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        'client_secret: "a1B2c3D4e5F6g7H8i9J0k1L2"',
    ],
)
def test_assigned_high_entropy_values_are_secrets_but_the_name_is_kept(assignment: str) -> None:
    hits = found(assignment)
    assert len(hits) == 1 and hits[0][0] == "secret"
    value = hits[0][1]
    assert len(value) >= 20 and value in assignment
    assert "[SECRET]" in redact(assignment, find_pii(assignment))
    assert redact(assignment, find_pii(assignment)).lower().startswith(assignment[:5].lower())


@pytest.mark.parametrize(
    "text",
    [
        "api_key=aaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # no entropy
        "secret=this_is_not_a_real_secret_value",  # words, no digit
        "api_key=short123",  # fewer than 20 characters
        "the secret of a good 1234567890123456789012 soup",  # no assignment
        "token: ${GITHUB_TOKEN}",
    ],
)
def test_low_entropy_short_or_unassigned_values_are_not_secrets(text: str) -> None:
    assert "secret" not in kinds(text)


def test_hex_64_is_a_private_key_only_after_key_private_or_secret() -> None:
    value = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    assert found(f"private key: {value}") == [("secret", value)]
    assert found(f"PRIVATE_KEY={value}") == [("secret", value)]
    assert found(f"my wallet secret is {value}") == [("secret", value)]
    # The same shape is, far more often, a transaction or block hash.
    assert found(f"tx hash {value}") == []
    assert found(f"{value}") == []
    assert found(f"see block {value} for the key") == []
    # Context further back than 20 characters does not count.
    assert found(f"key, then a long unrelated note: {value}") == []
    # Not 64 hex digits: an address, or too long.
    assert found("private key 0x" + "ab" * 20) == []
    assert found("private key 0x" + "ab" * 33) == []


def test_entropy_of_random_and_repetitive_strings() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)


def test_overlapping_candidates_keep_the_most_specific_kind() -> None:
    # The key's value ends in digits that are also a valid card number.
    value = "aB3dE5fG7hJ9kL2mN4pQ6rS8tU0vW1xY_4111111111111111"
    assert found(f"api_key={value} ok") == [("secret", value)]


def test_several_kinds_in_one_text_come_back_in_order() -> None:
    text = (
        "Jane (jane@example.com, +44 20 7946 0958) paid with 4111 1111 1111 1111 "
        "from DE89 3704 0044 0532 0130 00; SSN 123-45-6789; key AKIAIOSFODNN7EXAMPLE."
    )
    assert found(text) == [
        ("email", "jane@example.com"),
        ("phone", "+44 20 7946 0958"),
        ("credit_card", "4111 1111 1111 1111"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("national_id", "123-45-6789"),
        ("secret", "AKIAIOSFODNN7EXAMPLE"),
    ]
    assert redact(text, find_pii(text)) == (
        "Jane ([EMAIL], [PHONE]) paid with [CREDIT_CARD] "
        "from [IBAN]; SSN [NATIONAL_ID]; key [SECRET]."
    )


def test_clean_text_has_no_hits_and_redacts_to_itself() -> None:
    text = "Great blender, 5 stars. Bought it in 2023 for 49.99 EUR; order 2023-88812."
    assert find_pii(text) == []
    assert redact(text, []) == text


def test_redact_folds_overlapping_hits_given_by_the_caller() -> None:
    hits = [PiiHit(PiiKind.EMAIL, 0, 10), PiiHit(PiiKind.PHONE, 5, 15)]
    assert redact("0123456789abcdefghij", hits) == "[EMAIL]fghij"


# Every marker of _SECRET_HINT_RE in several cases, with digits, around ordinary words.
_MARKERS = ["AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xoxb-",
            "xoxs-", "PRIVATE KEY", "0x", "api_key", "api-key", "apikey", "secret", "token",
            "passw", "7"]  # fmt: skip


@pytest.mark.parametrize("marker", _MARKERS)
def test_the_one_search_prefilter_never_rules_out_what_the_two_searches_would_not(
    marker: str,
) -> None:
    """The ASCII fast path of find_pii must keep every text in which the digit or secret-marker
    search matches (else a secret or number would go unchecked)."""
    for variant in {marker, marker.lower(), marker.upper(), marker.title(), marker.swapcase()}:
        for text in (
            variant,
            f"a quiet lamp {variant} by the door",
            f"x{variant}y",
            f"é {variant}",
        ):
            slow = bool(pii._DIGIT_RE.search(text) or pii._SECRET_HINT_RE.search(text))
            assert pii._may_hold_digits_or_secrets(text) or not slow, text
    plain = "The small lamp arrived quickly, and my friend likes it: bright, quiet. " * 3
    assert not pii._may_hold_digits_or_secrets(plain)  # the fast path does rule out plain text
    assert pii._may_hold_digits_or_secrets(plain + " café")  # non-ASCII: left to the searches


def test_a_secret_in_upper_case_is_still_found_through_the_fast_path() -> None:
    text = "config: API_KEY = 'sk_live_9f8e7d6c5b4a39281706f5e4'"
    assert kinds(text) == {"secret"}
    assert kinds("my ghp_" + "a1B2" * 9 + " token") == {"secret"}
