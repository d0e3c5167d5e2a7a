"""Near-duplicate text detection (MinHash LSH) against a hashlib baseline, in one process.

    .venv/bin/python bench/bench_near_duplicates.py [--texts 100000] [--queries 10000] [--repeat 3]

For each run, on the same generated texts (reviews of 20-60 words over a 20,000-word Zipfian
vocabulary):
  baseline    sha256 of each text's UTF-8: what the exact-duplicate content hash costs
  signatures  minhash_signatures over all texts (128 hashes; normalise, shingle, hash, min)
  one by one  minhash_signature per text (the per-row call)
  band keys   band_keys_many over all signatures (32 bands of 4 rows)
  index add   NearDuplicateIndex.add for every text
  query       NearDuplicateIndex.query for --queries texts at threshold 0.8, half of them
              indexed texts with one word changed, half new
Prints texts/s for each, medians over the runs, and each one's ratio to the baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datasets_app.quality.near_duplicates import (
    NearDuplicateIndex,
    band_keys_many,
    minhash_signature,
    minhash_signatures,
)


def make_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)  # noqa: S311 - test data
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = [
        "".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(20_000)
    ]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]  # Zipf, like real words
    texts = []
    for _ in range(count):
        words = rng.choices(vocabulary, weights, k=rng.randint(20, 60))
        words[0] = words[0].capitalize()
        texts.append(" ".join(words) + ".")
    return texts


def make_queries(texts: list[str], count: int, seed: int) -> list[str]:
    """Half are copies of indexed texts with one word changed, half are new texts."""
    rng = random.Random(seed)  # noqa: S311 - test data
    queries = []
    for text in rng.sample(texts, count // 2):
        words = text.split()
        words[rng.randrange(len(words))] = "changed"
        queries.append(" ".join(words))
    return queries + make_texts(count - len(queries), seed + 1)


T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def one_run(texts: list[str], queries: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    seconds, _ = timed(lambda: [hashlib.sha256(text.encode()).digest() for text in texts])
    rates["baseline sha256"] = len(texts) / seconds

    seconds, signatures = timed(lambda: minhash_signatures(texts))
    rates["signatures (batch)"] = len(texts) / seconds
    sample = texts[: len(texts) // 5]
    seconds, _ = timed(lambda: [minhash_signature(text) for text in sample])
    rates["signatures (one by one)"] = len(sample) / seconds

    seconds, _ = timed(lambda: band_keys_many(signatures))
    rates["band keys (batch)"] = len(texts) / seconds

    index: NearDuplicateIndex[int] = NearDuplicateIndex()

    def add_all() -> None:
        for key, signature in enumerate(signatures):
            index.add(key, signature)

    seconds, _ = timed(add_all)
    rates["index add"] = len(texts) / seconds

    query_signatures = minhash_signatures(queries)
    seconds, matches = timed(lambda: [index.query(sig, 0.8) for sig in query_signatures])
    rates["index query"] = len(queries) / seconds
    found = sum(1 for match in matches if match)
    rates["query hit share"] = found / len(queries)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    texts = make_texts(args.texts, seed=1)
    queries = make_queries(texts, args.queries, seed=2)
    runs = []
    for run in range(1, args.repeat + 1):
        rates = one_run(texts, queries)
        runs.append(rates)
        print(
            f"run {run}: "
            + ", ".join(
                f"{name} {rate:,.0f}/s" for name, rate in rates.items() if name != "query hit share"
            )
        )

    baseline = statistics.median(run["baseline sha256"] for run in runs)
    print(f"\nmedians over {args.repeat} runs, {args.texts:,} texts, {args.queries:,} queries:")
    for name in runs[0]:
        median = statistics.median(run[name] for run in runs)
        if name == "query hit share":
            # Only the edited copies can match; short ones fall below 0.8 with one word changed.
            print(f"  {name:<26} {median:.3f} of queries matched (at most 0.5)")
        else:
            print(f"  {name:<26} {median:>12,.0f}/s   {median / baseline:8.4f} x baseline")


if __name__ == "__main__":
    main()
