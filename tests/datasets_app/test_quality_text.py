"""Row checks on text values (length, control characters, garbage, language) and the normal
form used for near-duplicate hashing. No database needed."""

from __future__ import annotations

import pytest

from datasets_app.quality.text import (
    DETECTION_PREFIX_CHARS,
    check_text,
    detect_language,
    normalise_for_hash,
    supported_languages,
)

ENGLISH = "The delivery arrived two days late, but the blender works well and is quiet."
GERMAN = "Die Lieferung kam zwei Tage zu spät, aber der Mixer funktioniert gut und ist leise."
FRENCH = "La livraison est arrivée avec deux jours de retard, mais le mixeur fonctionne bien."
SPANISH = "El pedido llegó dos días tarde, pero la batidora funciona bien y es muy silenciosa."


@pytest.mark.parametrize(
    "value",
    [
        "ok",
        ENGLISH,
        "Tabs\tand\nnew lines\r\nare fine",
        "Emoji 👍🏽 and ZWJ sequences 👩‍👩‍👧 are fine",
        "Ünïcödé, 中文, العربية, हिन्दी are fine",
        "  padded  ",
    ],
)
def test_ordinary_rows_pass(value: str) -> None:
    assert check_text(value) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("a\x00b", "control character"),
        ("bell\x07 and escape\x1b[0m", "2 control characters"),
        ("C1 control \x85 here", "control character"),
        ("delete\x7f", "control character"),
        ("\ufffd\ufffd\ufffd\ufffdab", "mostly non-printable or replacement"),
        ("\ue000\ue001\ue002 x", "mostly non-printable or replacement"),
        ("lone \udc80 surrogate", "lone surrogates"),
    ],
)
def test_broken_rows_fail_with_a_readable_reason(value: str, expected: str) -> None:
    problems = check_text(value)
    assert any(expected in problem for problem in problems), problems


def test_the_first_control_character_is_located() -> None:
    assert check_text("abc\x01def") == ["contains 1 control character (first U+0001 at position 3)"]


def test_a_few_replacement_characters_in_long_text_are_not_mostly_garbage() -> None:
    assert check_text(ENGLISH + "\ufffd") == []


def test_length_limits_count_characters_and_ignore_padding_for_the_minimum() -> None:
    assert check_text("abcd", min_length=5) == ["too short: 4 characters (at least 5)"]
    assert check_text("  abcd  ", min_length=5) == ["too short: 4 characters (at least 5)"]
    assert check_text("abcde", min_length=5) == []
    assert check_text("ü" * 10, max_length=10) == []
    assert check_text("ü" * 11, max_length=10) == ["too long: 11 characters (at most 10)"]
    assert check_text("", min_length=0) == []


@pytest.mark.parametrize(
    ("value", "language"),
    [(ENGLISH, "en"), (GERMAN, "de"), (FRENCH, "fr"), (SPANISH, "es"), (ENGLISH.upper(), "en")],
)
def test_text_in_the_expected_language_passes(value: str, language: str) -> None:
    assert check_text(value, language=language) == []


@pytest.mark.parametrize(
    ("value", "language", "detected"),
    [(GERMAN, "en", "de"), (ENGLISH, "de", "en"), (FRENCH, "es", "fr")],
)
def test_text_confidently_in_another_language_is_flagged(
    value: str, language: str, detected: str
) -> None:
    problems = check_text(value, language=language)
    assert len(problems) == 1
    assert f"language looks like {detected!r}" in problems[0]
    assert f"expected {language!r}" in problems[0]


@pytest.mark.parametrize(
    "value",
    [
        "iPhone 15 Pro Max 256GB",  # fewer than 20 letters
        "Das ist gut",
        "SKU-1234-ABCD-5678-EFGH-90",
        "1234 5678 9012 3456 7890 1234 5678",  # no letters at all
        "https://example.com/a/b/c?x=1&y=2&z=3",
    ],
)
def test_short_or_letterless_values_are_not_language_checked(value: str) -> None:
    assert check_text(value, language="en") == []


def test_closely_related_languages_are_not_flagged() -> None:
    norwegian = "Leveringen kom to dager for sent, men blenderen fungerer godt og er stille."
    assert check_text(norwegian, language="da") == []
    assert check_text(norwegian, language="nb") == []  # the model says "no"


def test_language_detection_is_deterministic() -> None:
    first = check_text(GERMAN, language="en")
    assert all(check_text(GERMAN, language="en") == first for _ in range(5))


@pytest.mark.parametrize(
    ("value", "language"),
    [
        (ENGLISH, "en"),
        (GERMAN, "de"),
        (FRENCH, "fr"),
        (SPANISH, "es"),
        ("Доставка пришла на два дня позже, но блендер работает хорошо и тихо.", "ru"),
        ("Η παράδοση έφτασε δύο μέρες αργότερα, αλλά το μπλέντερ δουλεύει καλά.", "el"),  # noqa: RUF001
        ("وصل الطلب متأخرا يومين، لكن الخلاط يعمل بشكل جيد وهادئ جدا.", "ar"),
        ("המשלוח הגיע באיחור של יומיים, אבל הבלנדר עובד טוב ושקט מאוד.", "he"),  # CLD2 says iw
        ("配送は二日遅れましたが、ミキサーはよく動き、とても静かです。", "ja"),
        ("快递晚了两天才到，但是搅拌机很好用，而且很安静。", "zh"),  # noqa: RUF001
    ],
)
def test_the_detector_names_common_languages_reliably(value: str, language: str) -> None:
    assert detect_language(value) == (language, True)


def test_the_detector_has_no_opinion_on_invalid_unicode() -> None:
    assert detect_language("lone \udc80 surrogate " + ENGLISH) == ("un", False)


def test_only_a_bounded_prefix_is_language_checked() -> None:
    english_start = (ENGLISH + " ") * (DETECTION_PREFIX_CHARS // len(ENGLISH) + 1)
    german_tail = (GERMAN + " ") * 200
    assert len(english_start) > DETECTION_PREFIX_CHARS
    # Whatever follows the prefix is not read: a long German tail does not make it German...
    assert check_text(english_start + german_tail, language="en") == []
    problems = check_text(english_start + german_tail, language="de")
    assert len(problems) == 1 and "language looks like 'en'" in problems[0]
    # ...and letters after the prefix do not count towards the minimum.
    assert check_text("0123456789 " * 30 + german_tail, language="en") == []
    assert check_text("0123456789 " * 2 + german_tail, language="en") != []


def test_an_unknown_language_code_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="not one the detector knows"):
        check_text(ENGLISH, language="xx")
    assert {"en", "de", "fr", "es", "zh", "nb"} <= supported_languages()


def test_normalise_for_hash_folds_width_case_ligatures_and_whitespace() -> None:
    assert (
        normalise_for_hash("  \uff28\uff45\uff4c\uff4c\uff4f\n\tWORLD  \ufb01ne ")
        == "hello world fine"
    )
    assert normalise_for_hash("Straße") == normalise_for_hash("STRASSE")
    assert normalise_for_hash("e\u0301") == normalise_for_hash("\u00e9")  # composed
    assert normalise_for_hash("") == ""
    assert normalise_for_hash("a\u00a0b\u2003c") == "a b c"
