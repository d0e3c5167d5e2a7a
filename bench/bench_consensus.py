"""Dawid-Skene consensus against the plain majority vote on one million labels (no database).

    .venv/bin/python -m bench.bench_consensus [--items 333334] [--per-item 3] [--labelers 5000]
                                              [--classes 5] [--repeat 3]

Generates a crowd (60 % good labelers with accuracy 0.9, 25 % uniform spammers, 15 % who always
answer one class), each item labelled by `--per-item` distinct labelers, as the (item, labeler,
class) tuples the services pass in. Times, in the same run and on the same labels:
  baseline  majority_vote (index the labels, one bincount, argmax)
  feature   dawid_skene with its defaults (max_iter=50, tol=1e-6), indexing included
Prints the median over `--repeat` runs of each, the ratio feature/baseline, EM iterations and
both methods' accuracy against the generated truth. Target: Dawid-Skene <= 10 s on 2 cores.
"""

from __future__ import annotations

import os
import resource
import statistics
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from bench.measure import options, timed
from datasets_app.quality.consensus import dawid_skene, majority_vote

T = TypeVar("T")


def make_crowd(
    n_items: int, per_item: int, n_labelers: int, n_classes: int, seed: int = 0
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, size=n_items)
    kind = rng.choice(3, size=n_labelers, p=[0.60, 0.25, 0.15])  # good, spammer, constant
    constant_class = rng.integers(0, n_classes, size=n_labelers)
    # Distinct labelers per item: per_item draws from shifted, non-overlapping offsets.
    first = rng.integers(0, n_labelers, size=n_items)
    offsets = rng.choice(np.arange(1, n_labelers), size=per_item - 1, replace=False)
    labeler = (first[:, None] + np.r_[0, offsets][None, :]) % n_labelers
    item = np.repeat(np.arange(n_items), per_item)
    labeler = labeler.reshape(-1)
    true_class = truth[item]
    wrong = (true_class + rng.integers(1, n_classes, size=item.size)) % n_classes
    answer = np.where(rng.random(item.size) < 0.9, true_class, wrong)
    answer = np.where(kind[labeler] == 1, rng.integers(0, n_classes, size=item.size), answer)
    answer = np.where(kind[labeler] == 2, constant_class[labeler], answer)
    labels = list(zip(item.tolist(), labeler.tolist(), answer.tolist(), strict=True))
    return truth, labels


def median_run(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    """The median seconds of ``repeat`` calls of ``run`` (each printed as it ends) and what the
    last call returned."""
    last: list[T] = []

    def keep_last() -> None:
        last[:] = [run()]

    seconds: list[float] = []
    for _ in range(repeat):
        seconds += timed(keep_last, 1)
        print(f"    {seconds[-1]:.3f} s", flush=True)
    return statistics.median(seconds), last[0]


def main() -> None:
    args = options(
        __doc__, items=333_334, per_item=3, labelers=5_000, classes=5, repeat=3
    ).parse_args()

    truth, labels = make_crowd(args.items, args.per_item, args.labelers, args.classes)
    print(
        f"{len(labels):,} labels: {args.items:,} items x {args.per_item}, "
        f"{args.labelers:,} labelers, {args.classes} classes; {os.cpu_count()} CPUs"
    )

    def accuracy(decided: dict[int, tuple[int, float]]) -> float:
        return float(np.mean(np.array([decided[i][0] for i in range(args.items)]) == truth))

    print("baseline: majority_vote")
    majority_s, majority = median_run(args.repeat, lambda: majority_vote(labels, args.classes))
    print("feature: dawid_skene")
    ds_s, ds = median_run(args.repeat, lambda: dawid_skene(labels, args.classes))

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"majority_vote  median {majority_s:7.3f} s   accuracy {accuracy(majority):.4f}")
    print(
        f"dawid_skene    median {ds_s:7.3f} s   accuracy {accuracy(ds.labels):.4f}   "
        f"{ds.iterations} EM rounds, converged={ds.converged}"
    )
    print(
        f"ratio dawid_skene / majority_vote: {ds_s / majority_s:.1f}x   peak RSS {peak_mib:.0f} MiB"
    )
    print(f"target dawid_skene <= 10 s: {'met' if ds_s <= 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
