"""Personal data and secrets in free text: find them, and redact them.

Pure functions over one string, called by the validation service for every text cell. Each kind
is a regular expression narrowed by a check that random text rarely passes (Luhn for cards,
ISO 13616 mod-97 for IBANs, the SSA's unissued ranges for SSNs, Shannon entropy for generic
secrets), so that order numbers, years and ids are not reported as personal data.

Choices a reader may trip over:
- phone: 9 to 15 digits, and either a ``+`` prefix (E.164: ``+44 20 7946 0958``,
  ``+442079460958``) or a national shape with one kind of separator: North American 3-3-4
  (``555-123-4567``, ``(555) 123-4567``, ``555.123.4567``), or three or more groups of 2+
  digits after a trunk ``0`` (``020 7946 0958``, ``06 12 34 56 78``). So runs of years, prices
  and ids (``2024 2024 2024``, ``12.99 12.99``, ``order 2024-000123``) are not phones; neither
  are two-group national numbers (``030 1234567``), SSN shapes or dotted quads (IPv4).
- credit_card: 13 to 19 digits passing Luhn, starting with 2-6 (the payment networks), written
  whole or in groups of 3-6 digits with one kind of separator; not all one digit.
- secret, Ethereum: a bare ``0x`` + 64 hex is a transaction or block hash far more often than a
  private key, so it is reported only when ``key``, ``private`` or ``secret`` appears in the 20
  characters before it.
- secret, generic: only the value after ``api_key=`` / ``secret: ...`` is reported (so the
  redacted text keeps the field name), when it has 20+ characters, a digit, a letter and an
  entropy of at least 3 bits per character.
- Where two hits overlap, the earlier kind in this order wins: secret, card, IBAN, national id,
  email, phone (a card number inside an API key is reported once, as the secret).
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class PiiKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CREDIT_CARD = "credit_card"
    IBAN = "iban"
    SECRET = "secret"  # noqa: S105 - the name of a kind, not a password
    NATIONAL_ID = "national_id"

    @property
    def label(self) -> str:
        """The kind as people read it in reports and on pages ("card number", not
        "credit_card")."""
        return _LABELS[self]


_LABELS = {
    PiiKind.EMAIL: "email",
    PiiKind.PHONE: "phone number",
    PiiKind.CREDIT_CARD: "card number",
    PiiKind.IBAN: "IBAN",
    PiiKind.SECRET: "API key or secret",
    PiiKind.NATIONAL_ID: "national ID number",
}


@dataclass(frozen=True, slots=True)
class PiiHit:
    """``text[start:end]`` is personal data or a secret of this kind."""

    kind: PiiKind
    start: int
    end: int


# Overlapping hits: the earlier kind in this list wins.
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate(
        [
            PiiKind.SECRET,
            PiiKind.CREDIT_CARD,
            PiiKind.IBAN,
            PiiKind.NATIONAL_ID,
            PiiKind.EMAIL,
            PiiKind.PHONE,
        ]
    )
}

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

# Digit groups with one separator between them; an optional "+" and parenthesised area code.
_PHONE_RE = re.compile(
    r"(?<![\w+.-])"
    r"(?:\+\d{8,15}"  # E.164 without separators
    r"|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:[ .-]\d{1,8}){0,6})"
    r"(?![\w-]|\.\d)"
)
_SEPARATOR_RE = re.compile(r"[ .-]")
_NANP_PAREN_RE = re.compile(r"\(\d{3}\) ?\d{3}[ .-]\d{4}")
_SSN_SHAPE_RE = re.compile(r"\d{3}-\d{2}-\d{4}")
_IPV4_SHAPE_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")

# Card numbers start with 2-6 (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover 6) and are
# written whole or in groups of 3-6 digits with one kind of separator (4-4-4-4, Amex 4-6-5).
_CARD_RE = re.compile(
    r"(?<![\d-])[2-6]\d{3}(?:(?P<sep>[ -])\d{3,6}(?:(?P=sep)\d{3,6}){1,3}|\d{9,15})(?![\d-])"
)

_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,9}(?![A-Za-z0-9])")

_SSN_RE = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
# HMRC: the first letter is not D, F, I, Q, U or V; the second not those or O; some prefixes
# are never issued; the suffix is A-D.
_UK_NINO_RE = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
)

_TOKEN_RES = [
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),  # AWS access key id
    re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])"),  # GitHub classic
    re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,255}"),  # GitHub fine-grained
    re.compile(r"(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,250}"),  # Slack
]
_PEM_RE = re.compile(
    r"-----BEGIN (?P<label>(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"
    r"(?:[\s\S]{0,16384}?-----END (?P=label)-----)?"  # a key is a few KiB
)
_ETH_KEY_RE = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_ETH_KEY_CONTEXT_RE = re.compile(r"key|private|secret", re.IGNORECASE)
_ETH_KEY_CONTEXT_CHARS = 20
_ASSIGNED_SECRET_RE = re.compile(
    r"(?i)(?:api[_-]?key|secret|token|passw(?:or)?d)[\w.-]{0,40}"
    r"[\"']?\s*[:=]\s*[\"']?(?P<value>[A-Za-z0-9_\-+/=.~]{20,512})"
)
_MIN_SECRET_ENTROPY = 3.0  # bits per character; English words with underscores stay below


def find_pii(text: str) -> list[PiiHit]:
    """Every non-overlapping hit in ``text``, in order of position."""
    # Most text has no digit, no "@" and no secret's marker: one cheap search each rules out
    # the finders that could not match, before their far costlier patterns run; for ASCII text
    # (nearly all of it) one search of its lower-case form rules out both at once.
    quiet = not _may_hold_digits_or_secrets(text)
    has_digit = not quiet and _DIGIT_RE.search(text) is not None
    candidates: list[PiiHit] = []
    if not quiet and _SECRET_HINT_RE.search(text):
        candidates.extend(_secrets(text))
    if has_digit:
        for finder in _DIGIT_FINDERS:
            candidates.extend(finder(text))
    if "@" in text:
        candidates.extend(_emails(text))
    return _without_overlaps(candidates) if candidates else candidates


def _may_hold_digits_or_secrets(text: str) -> bool:
    """False only when ``text`` has neither a digit (``_DIGIT_RE``) nor a secret's marker
    (``_SECRET_HINT_RE``): ASCII text is searched once, lower-cased (half the time of the two
    searches, whose case-insensitive part is the slow one); other text is not ruled out here."""
    return not text.isascii() or _ASCII_HINT_RE.search(text.lower()) is not None


def redact(text: str, hits: Iterable[PiiHit]) -> str:
    """``text`` with each hit replaced by its kind in brackets, e.g. ``[EMAIL]``. Overlapping hits
    are folded into the first one, which then covers them all."""
    parts: list[str] = []
    position = 0
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.start < position:  # overlaps the previous placeholder: widen it
            position = max(position, hit.end)
            continue
        parts.append(text[position : hit.start])
        parts.append(f"[{hit.kind.value.upper()}]")
        position = hit.end
    parts.append(text[position:])
    return "".join(parts)


def _without_overlaps(candidates: list[PiiHit]) -> list[PiiHit]:
    # ``starts``/``kept`` stay sorted by position and never overlap, so a new hit only has to
    # be checked against its two neighbours.
    starts: list[int] = []
    kept: list[PiiHit] = []
    for hit in sorted(candidates, key=lambda h: (_PRIORITY[h.kind], h.start, -h.end)):
        index = bisect.bisect_left(starts, hit.start)
        if index > 0 and kept[index - 1].end > hit.start:
            continue
        if index < len(kept) and kept[index].start < hit.end:
            continue
        starts.insert(index, hit.start)
        kept.insert(index, hit)
    return kept


def _emails(text: str) -> Iterator[PiiHit]:
    if "@" not in text:
        return
    for match in _EMAIL_RE.finditer(text):
        yield PiiHit(PiiKind.EMAIL, match.start(), match.end())


def _phones(text: str) -> Iterator[PiiHit]:
    for match in _PHONE_RE.finditer(text):
        found = match.group()
        # A run of numbers may end in a phone number ("room 12 020 7946 0958"): try each
        # group boundary as the start.
        for offset in [0] + [m.end() for m in _SEPARATOR_RE.finditer(found)]:
            if _is_phone(found[offset:]):
                yield PiiHit(PiiKind.PHONE, match.start() + offset, match.end())
                break


def _is_phone(found: str) -> bool:
    if not 9 <= sum(ch.isdigit() for ch in found) <= 15:
        return False
    if found.startswith("+"):
        return True
    if _NANP_PAREN_RE.fullmatch(found):
        return True
    if _SSN_SHAPE_RE.fullmatch(found) or _IPV4_SHAPE_RE.fullmatch(found):
        return False
    if found.startswith("(0"):  # "(020) 7946 0958": the trunk prefix in parentheses
        found = found[1:].replace(") ", " ").replace(")", " ")
    separators = set(_SEPARATOR_RE.findall(found))
    groups = _SEPARATOR_RE.split(found)
    if len(separators) != 1 or not all(group.isdigit() for group in groups):
        return False
    lengths = [len(group) for group in groups]
    # The 3-3-4 shape alone: data often holds made-up numbers (555-123-4567) that are still
    # meant as phone numbers, and NANP's digit rules would miss them.
    north_american = lengths == [3, 3, 4]
    trunk_prefixed = groups[0][0] == "0" and len(groups) >= 3 and min(lengths) >= 2
    return north_american or trunk_prefixed


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check digit of card numbers (ISO/IEC 7812-1)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _credit_cards(text: str) -> Iterator[PiiHit]:
    for match in _CARD_RE.finditer(text):
        found = match.group()
        # Grouped numbers may run on into the next number ("... 1111 2024"): try shorter ends
        # at each separator, longest first.
        ends = [len(found)] + [m.start() for m in reversed(list(_SEPARATOR_RE.finditer(found)))]
        for end in ends:
            digits = re.sub(r"[ -]", "", found[:end])
            # All-same digits pass Luhn (4444 4444 4444 4448 does not) but are placeholders.
            if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits):
                yield PiiHit(PiiKind.CREDIT_CARD, match.start(), match.start() + end)
                break


def iban_valid(iban: str) -> bool:
    """ISO 13616 check: letters become 10..35, the first four characters move to the end, and
    the number must be 1 modulo 97. Spaces are ignored."""
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum() or not compact.isascii():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _ibans(text: str) -> Iterator[PiiHit]:
    for match in _IBAN_RE.finditer(text):
        found = match.group()
        # The pattern may run on into a following code ("... 3000 BIC ..."): try shorter ends
        # at each space, longest first.
        ends = [len(found)] + [i for i in range(len(found) - 1, 0, -1) if found[i] == " "]
        for end in ends:
            if iban_valid(found[:end]):
                yield PiiHit(PiiKind.IBAN, match.start(), match.start() + end)
                break


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    """Never issued: area 000, 666 or 900-999; group 00; serial 0000."""
    return area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000"


def _national_ids(text: str) -> Iterator[PiiHit]:
    for match in _SSN_RE.finditer(text):
        if _ssn_valid(*match.groups()):
            yield PiiHit(PiiKind.NATIONAL_ID, match.start(), match.end())
    for match in _UK_NINO_RE.finditer(text):
        yield PiiHit(PiiKind.NATIONAL_ID, match.start(), match.end())


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    if not value:
        return 0.0
    length = len(value)
    return -sum(n / length * math.log2(n / length) for n in Counter(value).values())


def _looks_random(value: str) -> bool:
    return (
        any(ch.isdigit() for ch in value)
        and any(ch.isalpha() for ch in value)
        and shannon_entropy(value) >= _MIN_SECRET_ENTROPY
    )


def _secrets(text: str) -> Iterator[PiiHit]:
    for pattern in _TOKEN_RES:
        for match in pattern.finditer(text):
            yield PiiHit(PiiKind.SECRET, match.start(), match.end())
    if "PRIVATE KEY" in text:
        for match in _PEM_RE.finditer(text):
            yield PiiHit(PiiKind.SECRET, match.start(), match.end())
    for match in _ETH_KEY_RE.finditer(text):
        before = text[max(0, match.start() - _ETH_KEY_CONTEXT_CHARS) : match.start()]
        if _ETH_KEY_CONTEXT_RE.search(before):
            yield PiiHit(PiiKind.SECRET, match.start(), match.end())
    for match in _ASSIGNED_SECRET_RE.finditer(text):
        value = match.group("value")
        if _looks_random(value):
            yield PiiHit(PiiKind.SECRET, match.start("value"), match.end("value"))


# Kinds that cannot match without a digit (cards, IBANs, SSNs and NINOs, phone numbers).
_DIGIT_FINDERS: list[Callable[[str], Iterator[PiiHit]]] = [
    _credit_cards,
    _ibans,
    _national_ids,
    _phones,
]
_DIGIT_RE = re.compile(r"\d")
# Every secret pattern holds one of these: a token prefix, a PEM header, "0x" before an
# Ethereum key, or the name in front of an assigned secret.
_SECRET_HINT_RE = re.compile(
    r"AKIA|ASIA|gh[pousr]_|github_pat_|xox[baprs]-|PRIVATE KEY|0x"
    r"|(?i:api[_-]?key|secret|token|passw)"
)
# Both of them at once, on lower-cased ASCII text (where a case-insensitive match is a match of
# the lower-case form): every marker lower-cased, and digits.
_ASCII_HINT_RE = re.compile(
    r"\d|akia|asia|gh[pousr]_|github_pat_|xox[baprs]-|private key|0x"
    r"|api[_-]?key|secret|token|passw"
)
