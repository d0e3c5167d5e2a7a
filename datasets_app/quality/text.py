"""Row checks for text cells, and the normal form that near-duplicate shingling hashes.

``check_text`` returns the problems a contributor can act on, worded for the validation report;
an empty list means the value passes.

Language: a value's first ``DETECTION_PREFIX_CHARS`` characters go to CLD2 (pycld2, C++ with its
tables compiled in) first; when it reliably names the expected language (or a close relative)
the row passes, which is what nearly every row does. Otherwise py3langid's bundled model gives
the verdict, as it did alone before, on the same prefix: a row is flagged only when py3langid is
confident it is another language. About 20x less time per row than py3langid alone, and never
more flags (bench/bench_language.py). Neither downloads anything; both are deterministic, and
py3langid's model is loaded once per process on first use.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import pycld2

# C0 and C1 control characters and DEL, except tab, line feed and carriage return.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHITESPACE_RE = re.compile(r"\s+")
REPLACEMENT_CHARACTER = "\ufffd"

# A value is "mostly" garbage when more than this share of its characters are not printable
# (controls, unassigned, private use, lone surrogates, ...) or U+FFFD.
MAX_GARBAGE_SHARE = 0.5
# The language check needs enough letters to say anything, and a confident detector: below
# these, short product names, codes and mixed-language rows would be flagged at random.
MIN_LETTERS_FOR_LANGUAGE = 20
MIN_LANGUAGE_CONFIDENCE = 0.8
# Detection reads the start of values only: the answer settles long before this, and the cost
# of a row stays bounded however long the value is.
DETECTION_PREFIX_CHARS = 300
# Matches when a string starts with at least MIN_LETTERS_FOR_LANGUAGE letters among other
# characters; it stops at the last letter it needs. A letter is a word character but a digit or
# underscore (str.isalpha, near enough); the two classes are disjoint, so no backtracking blowup.
_ENOUGH_LETTERS_RE = re.compile(rf"(?:[\W\d_]*[^\W\d_]){{{MIN_LETTERS_FOR_LANGUAGE}}}")

# ISO 639-1 codes the model labels differently.
_LANGUAGE_ALIASES = {"nb": "no"}
# Languages the model confuses with each other on short text: a row in one is not flagged when
# the dataset expects another of the same group.
_RELATED_LANGUAGES = [
    frozenset({"no", "nn", "da", "sv"}),
    frozenset({"sr", "hr", "bs"}),
    frozenset({"ms", "id"}),
    frozenset({"es", "gl", "ca"}),
    frozenset({"pt", "gl"}),
]
_NO_LANGUAGE = "zxx"  # py3langid's label for "no linguistic content"
_UNKNOWN = "un"  # CLD2's
# CLD2's codes that are not the ISO 639-1 ones py3langid uses.
_CLD2_CODES = {"iw": "he", "jw": "jv", "zh-Hant": "zh", "nb": "no", "fil": "tl", "ckb": "ku"}


def normalise_for_hash(text: str) -> str:
    """NFKC, case-folded, whitespace runs collapsed to one space and trimmed: two renderings of
    the same words (full-width letters, ligatures, case, line breaks) give one string."""
    return _WHITESPACE_RE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def supported_languages() -> frozenset[str]:
    """Codes ``check_text(language=...)`` accepts: py3langid's labels plus aliases."""
    return _known_languages() | frozenset(_LANGUAGE_ALIASES)


def detect_language(text: str) -> tuple[str, bool]:
    """CLD2's language for ``text`` (its first ``DETECTION_PREFIX_CHARS`` characters) as an ISO
    639-1 code, ``"un"`` when it cannot tell, and whether CLD2 calls the answer reliable."""
    try:
        reliable, _bytes, details = pycld2.detect(text[:DETECTION_PREFIX_CHARS])
    except (pycld2.error, UnicodeEncodeError):  # lone surrogates, invalid UTF-8: no opinion
        return _UNKNOWN, False
    code = details[0][1]
    return _CLD2_CODES.get(code, code), bool(reliable)


def check_text(
    value: str,
    *,
    min_length: int = 1,
    max_length: int = 100_000,
    language: str | None = None,
) -> list[str]:
    """Problems with one text value. Lengths count characters; ``min_length`` ignores leading
    and trailing whitespace. ``language`` is an ISO 639-1 code; a value in another language is
    flagged only when it has at least ``MIN_LETTERS_FOR_LANGUAGE`` letters and the detector is
    at least ``MIN_LANGUAGE_CONFIDENCE`` sure. Raises ``ValueError`` for a code the model does
    not know (check the dataset's setting once, with ``supported_languages``)."""
    expected = _LANGUAGE_ALIASES.get(language, language) if language else None
    if expected is not None and expected not in _known_languages():
        raise ValueError(f"language {language!r} is not one the detector knows")

    problems: list[str] = []
    length = len(value)
    if length > max_length:
        problems.append(f"too long: {length:,} characters (at most {max_length:,})")
    stripped_length = len(value.strip())
    if stripped_length < min_length:
        if stripped_length == 0:
            problems.append("empty")
        else:
            problems.append(f"too short: {stripped_length} characters (at least {min_length})")

    first = _CONTROL_RE.search(value)
    if first is not None:
        controls = len(_CONTROL_RE.findall(value))
        problems.append(
            f"contains {controls} control character{'s' if controls > 1 else ''} "
            f"(first U+{ord(first.group()):04X} at position {first.start()})"
        )
    if _has_lone_surrogates(value):
        problems.append("contains invalid Unicode (lone surrogates): check the file's encoding")
    if length and _garbage_share(value) > MAX_GARBAGE_SHARE:
        problems.append(
            "mostly non-printable or replacement characters (U+FFFD): "
            "the file was probably read with the wrong encoding, or is binary"
        )

    if expected is not None and not problems:
        mismatch = _language_mismatch(value, expected)
        if mismatch:
            problems.append(mismatch)
    return problems


def _has_lone_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _garbage_share(value: str) -> float:
    if value.isprintable():  # C fast path: no controls, unassigned or private-use characters
        return value.count(REPLACEMENT_CHARACTER) / len(value)
    garbage = sum(
        1
        for char in value
        if char == REPLACEMENT_CHARACTER or (not char.isprintable() and not char.isspace())
    )
    return garbage / len(value)


def _language_mismatch(value: str, expected: str) -> str | None:
    sample = value[:DETECTION_PREFIX_CHARS]
    if _ENOUGH_LETTERS_RE.match(sample) is None:  # letters counted in C, and only 20 of them
        return None
    first_guess, reliable = detect_language(sample)
    if reliable and _same_language(first_guess, expected):
        return None
    detected, confidence = _identifier().classify(sample)
    if (
        detected == _NO_LANGUAGE
        or confidence < MIN_LANGUAGE_CONFIDENCE
        or _same_language(detected, expected)
    ):
        return None
    return f"language looks like {detected!r} ({confidence:.0%} sure), expected {expected!r}"


def _same_language(detected: str, expected: str) -> bool:
    return detected == expected or any(
        detected in group and expected in group for group in _RELATED_LANGUAGES
    )


@functools.cache
def _known_languages() -> frozenset[str]:
    """py3langid's labels, once per process: its ``labels`` property builds a new list on every
    read (7 µs, as long as the rest of a row's text checks)."""
    return frozenset(_identifier().labels)


@functools.cache
def _identifier() -> Any:
    """py3langid's model with probabilities normalised, so confidence is in [0, 1]. Our own
    instance: the package's module-level one is shared and can be restricted by other code."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
