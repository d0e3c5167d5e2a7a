"""Span and box consensus (issue 16) against a plain majority baseline, same run (no database).

    .venv/bin/python -m bench.bench_span_box_consensus [--span-items 200000] [--box-items 60000]
        [--per-item 5] [--labelers 2000] [--sample 5000] [--repeat 3] [--seed 0]

A crowd of --labelers: 70 % careful, 15 % lazy (mark only the first entity / draw one box),
15 % random; each item labelled by --per-item distinct labelers. Credibility weights stand in
for what gold scoring would have learned: careful 0.85, lazy 0.45, random 0.25, each +-0.1.

Spans: --span-items texts of 60 five-letter words, 1-5 true entities of 1-3 words in 4 classes.
A careful labeler keeps each entity with p 0.92, moves one end by a word with p 0.08 and adds a
stray entity with p 0.1; a random one marks 3 random spans. 200,000 x 5 = 1M span labels.
  baseline  unweighted exact-match majority: every (item, start, end, class) marked by more
            than half of the item's labelers (one np.unique over packed int64 keys)
  feature   exact_span_consensus_arrays (bench/span_arrays.py; the app's exact decision,
            vectorised): credibility-weighted exact majority, repeats in a label counted once,
            and the mean pairwise span F1 per item (agreement)
Also the same feature without agreement, and the per-item ``span_consensus`` (exact and token
match, pure Python, which the labeling service calls for one item) on --sample items.

Boxes: --box-items 640 x 480 images with 1-7 true boxes in 3 classes. A careful labeler draws
each with p 0.92, every coordinate moved by N(0, 4 % of the box side); a random one draws 4
random boxes. 60,000 x 5 is about 1M boxes.
  baseline  unweighted majority over quantised boxes: (x, y, w, h) rounded to a 16 px grid, a
            grid box is in when more than half of the item's labelers drew it (np.unique over
            packed keys); the simplest vectorised majority, and jitter splits it across cells
  feature   box_consensus per item (Python loop; Hungarian IoU clustering, weighted means,
            pairwise mean IoU and F1@0.5)
Both take their natural input, built before timing: flat arrays for the vectorised ones, one
``{labeler: [Box]}`` per item for the per-item function. Prints medians of wall and CPU
seconds (this process's; steadier when other work shares the machine) over --repeat runs
(3 x --repeat for the baselines, which take a fraction of a second and swing most on a shared
machine), labels (or boxes) per second, the ratio feature / baseline, and each method's micro
F1 against the generated truth (spans exact; boxes F1@0.5 on --sample items).
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.measure import options, timed
from bench.span_arrays import exact_span_consensus_arrays
from datasets_app.quality.boxes import Box, box_consensus, box_f1
from datasets_app.quality.spans import Span, span_consensus

WORDS = 60  # words per text, each 5 letters and a space: word t is [6t, 6t + 5)
SPAN_CLASSES = 4
BOX_CLASSES = 3
WIDTH, HEIGHT = 640, 480
GRID = 16


def crowd(rng: np.random.Generator, n_labelers: int) -> tuple[np.ndarray, np.ndarray]:
    """(kind per labeler: 0 careful, 1 lazy, 2 random; credibility weight per labeler)."""
    kind = rng.choice(3, size=n_labelers, p=[0.70, 0.15, 0.15])
    weight = np.array([0.85, 0.45, 0.25])[kind] + rng.uniform(-0.1, 0.1, n_labelers)
    return kind, weight


def assign(rng: np.random.Generator, n_items: int, per_item: int, n_labelers: int) -> np.ndarray:
    """(n_items, per_item) distinct labelers per item."""
    first = rng.integers(0, n_labelers, size=n_items)
    offsets = rng.choice(np.arange(1, n_labelers), size=per_item - 1, replace=False)
    return (first[:, None] + np.r_[0, offsets][None, :]) % n_labelers


def make_spans(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    kind, weight = crowd(rng, args.labelers)
    n = args.span_items
    # Truth: up to 5 entities per text in disjoint 12-word slots, 1-3 words each.
    n_true = rng.integers(1, 6, size=n)
    slot = np.repeat(np.arange(5)[None, :], n, axis=0)
    present = slot < n_true[:, None]
    t_item = np.repeat(np.arange(n), 5)[present.ravel()]
    t_word = (slot * 12 + rng.integers(0, 9, size=(n, 5)))[present]
    t_len = rng.integers(1, 4, size=t_word.size)
    t_class = rng.integers(0, SPAN_CLASSES, size=t_word.size)
    t_first = np.searchsorted(t_item, np.arange(n))  # each item's first entity row

    labelers = assign(rng, n, args.per_item, args.labelers)
    label_item = np.repeat(np.arange(n), args.per_item)
    label_labeler = labelers.ravel()
    label_kind = kind[label_labeler]
    rows: list[tuple[np.ndarray, ...]] = []
    # Careful labelers: each true entity, kept with p 0.92, one end moved by a word with p 0.08.
    per_label = np.bincount(t_item, minlength=n)[label_item]
    careful = np.flatnonzero(label_kind == 0)
    c_label = np.repeat(careful, per_label[careful])
    c_entity = t_first[label_item[c_label]] + _ranks(per_label[careful])
    keep = rng.random(c_label.size) < 0.92
    c_label, c_entity = c_label[keep], c_entity[keep]
    length = t_len[c_entity] + np.where(rng.random(c_label.size) < 0.08, 1, 0)
    rows.append((c_label, t_word[c_entity], length, t_class[c_entity]))
    stray = careful[rng.random(careful.size) < 0.1]
    rows.append(
        (
            stray,
            rng.integers(0, WORDS - 3, stray.size),
            np.ones(stray.size, np.int64),
            rng.integers(0, SPAN_CLASSES, stray.size),
        )
    )
    lazy = np.flatnonzero(label_kind == 1)
    first = t_first[label_item[lazy]]
    rows.append((lazy, t_word[first], t_len[first], t_class[first]))
    random_labels = np.repeat(np.flatnonzero(label_kind == 2), 3)
    rows.append(
        (
            random_labels,
            rng.integers(0, WORDS - 3, random_labels.size),
            rng.integers(1, 4, random_labels.size),
            rng.integers(0, SPAN_CLASSES, random_labels.size),
        )
    )
    span_label, word, length, cls = (np.concatenate(column) for column in zip(*rows, strict=True))
    return {
        "label_item": label_item,
        "label_labeler": label_labeler,
        "label_weight": weight[label_labeler],
        "span_label": span_label,
        "start": word * 6,
        "end": (word + length) * 6 - 1,
        "cls": cls,
        "truth": _pack(t_item, t_word * 6, (t_word + t_len) * 6 - 1, t_class),
        "weight": weight,
    }


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - offsets


def _pack(item: np.ndarray, start: np.ndarray, end: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """One int64 key per (item, start, end, class): 12 bits per offset, 4 for the class."""
    return (item.astype(np.int64) << 28) | (start << 16) | (end << 4) | cls


def span_majority(data: dict[str, Any], per_item: int) -> np.ndarray:
    """Baseline: packed keys of every span more than half of the item's labelers marked."""
    item = data["label_item"][data["span_label"]]
    keys, counts = np.unique(
        _pack(item, data["start"], data["end"], data["cls"]), return_counts=True
    )
    return keys[counts * 2 > per_item]


def span_feature(data: dict[str, Any], agreement: bool) -> Any:
    return exact_span_consensus_arrays(
        data["label_item"],
        data["label_weight"],
        data["span_label"],
        data["start"],
        data["end"],
        data["cls"],
        agreement=agreement,
    )


def micro_f1(found: np.ndarray, truth: np.ndarray) -> float:
    tp = np.intersect1d(found, truth).size
    return 2 * tp / (found.size + truth.size)


def per_item_span_labels(data: dict[str, Any], sample: int) -> list[tuple[dict, dict]]:
    """The first ``sample`` items as ``span_consensus`` takes them."""
    n_labels = sample * int(np.bincount(data["label_item"]).max())
    in_sample = data["span_label"] < n_labels
    labels: list[dict[int, list[Span]]] = [{} for _ in range(sample)]
    weights: list[dict[int, float]] = [{} for _ in range(sample)]
    for label in range(n_labels):
        item, labeler = int(data["label_item"][label]), int(data["label_labeler"][label])
        labels[item][labeler] = []
        weights[item][labeler] = float(data["label_weight"][label])
    for label, start, end, cls in zip(
        *(data[k][in_sample].tolist() for k in ("span_label", "start", "end", "cls")),
        strict=True,
    ):
        item = int(data["label_item"][label])
        labels[item][int(data["label_labeler"][label])].append(Span(start, end, cls))
    return list(zip(labels, weights, strict=True))


def make_boxes(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 1)
    kind, weight = crowd(rng, args.labelers)
    n = args.box_items
    n_true = rng.integers(1, 8, size=n)
    t_item = np.repeat(np.arange(n), n_true)
    size = rng.uniform(20, 160, size=(t_item.size, 2))
    corner = rng.uniform(0, 1, size=(t_item.size, 2)) * ([WIDTH, HEIGHT] - size)
    t_box = np.hstack([corner, size])
    t_class = rng.integers(0, BOX_CLASSES, size=t_item.size)
    t_first = np.searchsorted(t_item, np.arange(n))

    labelers = assign(rng, n, args.per_item, args.labelers)
    label_item = np.repeat(np.arange(n), args.per_item)
    label_labeler = labelers.ravel()
    label_kind = kind[label_labeler]
    careful = np.flatnonzero(label_kind == 0)
    per_label = n_true[label_item]
    c_label = np.repeat(careful, per_label[careful])
    c_box = t_first[label_item[c_label]] + _ranks(per_label[careful])
    keep = rng.random(c_label.size) < 0.92
    c_label, c_box = c_label[keep], c_box[keep]
    side = t_box[c_box][:, [2, 3, 2, 3]]
    drawn = t_box[c_box] + rng.normal(0, 0.04, size=(c_label.size, 4)) * side
    lazy = np.flatnonzero(label_kind == 1)
    random_labels = np.repeat(np.flatnonzero(label_kind == 2), 4)
    r_size = rng.uniform(20, 160, size=(random_labels.size, 2))
    r_box = np.hstack(
        [rng.uniform(0, 1, (random_labels.size, 2)) * ([WIDTH, HEIGHT] - r_size), r_size]
    )
    box_label = np.concatenate([c_label, lazy, random_labels])
    box = np.vstack([drawn, t_box[t_first[label_item[lazy]]], r_box])
    box[:, 2:] = np.maximum(box[:, 2:], 1.0)
    box_class = np.concatenate(
        [
            t_class[c_box],
            t_class[t_first[label_item[lazy]]],
            rng.integers(0, BOX_CLASSES, random_labels.size),
        ]
    )
    return {
        "label_item": label_item,
        "label_labeler": label_labeler,
        "label_weight": weight[label_labeler],
        "box_label": box_label,
        "box": box,
        "cls": box_class,
        "t_item": t_item,
        "t_box": t_box,
        "t_class": t_class,
    }


def box_majority(data: dict[str, Any], per_item: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline: (item, grid box, class) cells more than half of the item's labelers drew;
    returns (item per consensus box, its (x, y, w, h) at the cell's grid values, class)."""
    grid = np.rint(data["box"] / GRID).astype(np.int64)
    item = data["label_item"][data["box_label"]]
    key = (item << 28) | (grid[:, 0] << 21) | (grid[:, 1] << 14) | (grid[:, 2] << 7) | grid[:, 3]
    key = key * BOX_CLASSES + data["cls"]
    keys, counts = np.unique(key, return_counts=True)
    chosen = keys[counts * 2 > per_item]
    cls = chosen % BOX_CLASSES
    packed = chosen // BOX_CLASSES
    cells = np.stack([(packed >> shift) & 127 for shift in (21, 14, 7, 0)], axis=1)
    return packed >> 28, cells * GRID, cls


def per_item_boxes(data: dict[str, Any]) -> list[tuple[dict, dict]]:
    n_items = int(data["label_item"].max()) + 1
    labels: list[dict[int, list[Box]]] = [{} for _ in range(n_items)]
    weights: list[dict[int, float]] = [{} for _ in range(n_items)]
    for item, labeler, weight in zip(
        data["label_item"].tolist(),
        data["label_labeler"].tolist(),
        data["label_weight"].tolist(),
        strict=True,
    ):
        labels[item][labeler] = []
        weights[item][labeler] = weight
    label_item, label_labeler = data["label_item"], data["label_labeler"]
    for label, (x, y, w, h), cls in zip(
        data["box_label"].tolist(), data["box"].tolist(), data["cls"].tolist(), strict=True
    ):
        labels[label_item[label]][int(label_labeler[label])].append(Box(x, y, w, h, cls))
    return list(zip(labels, weights, strict=True))


def truth_boxes(data: dict[str, Any], item: int) -> list[Box]:
    rows = np.flatnonzero(data["t_item"] == item)
    return [_box(data["t_box"][r], int(data["t_class"][r])) for r in rows]


def _box(coords: np.ndarray, cls: int) -> Box:
    x, y, w, h = coords.tolist()
    return Box(x, y, w, h, cls)


@dataclass
class Runs:
    wall: list[float]  # seconds of each run
    cpu: list[float]  # this process's CPU seconds of each run (steadier on a loaded machine)


def measure(work: Callable[[], Any], repeat: int) -> Runs:
    cpu: list[float] = []
    return Runs(timed(work, repeat, cpu=cpu), cpu)


def report(name: str, runs: Runs, rows: int, unit: str) -> tuple[float, float]:
    """Prints the medians of wall and CPU seconds and rows/s (by wall); returns both medians."""
    wall, cpu = statistics.median(runs.wall), statistics.median(runs.cpu)
    each = " ".join(f"{s:.3f}" for s in runs.wall)
    print(
        f"  {name:<42} wall {wall:7.3f} s  cpu {cpu:7.3f} s  {rows / wall:11,.0f} {unit}/s"
        f"  ({each})"
    )
    return wall, cpu


def ratio(name: str, feature: tuple[float, float], baseline: tuple[float, float]) -> str:
    return f"{name} {feature[0] / baseline[0]:.2f}x wall, {feature[1] / baseline[1]:.2f}x cpu"


def main() -> None:
    args = options(
        __doc__,
        span_items=200_000,
        box_items=60_000,
        per_item=5,
        labelers=2_000,
        sample=5_000,
        repeat=3,
        seed=0,
    ).parse_args()
    print(
        f"{os.cpu_count()} CPUs, numpy {np.__version__}, load {os.getloadavg()[0]:.1f}; medians "
        f"of {args.repeat} runs ({3 * args.repeat} for the baselines)"
    )

    spans = make_spans(args)
    n_labels, n_spans = spans["label_item"].size, spans["span_label"].size
    print(
        f"\nSPANS: {n_labels:,} span labels ({args.span_items:,} items x {args.per_item}), "
        f"{n_spans:,} spans"
    )
    base = report(
        "baseline: unweighted exact majority",
        measure(lambda: span_majority(spans, args.per_item), 3 * args.repeat),
        n_labels,
        "labels",
    )
    feature = report(
        "feature: exact_span_consensus_arrays",
        measure(lambda: span_feature(spans, True), args.repeat),
        n_labels,
        "labels",
    )
    bare = report(
        "  the same without agreement",
        measure(lambda: span_feature(spans, False), args.repeat),
        n_labels,
        "labels",
    )
    print("  " + ratio("feature / baseline:", feature, base))
    print("  " + ratio("without agreement / baseline:", bare, base))
    decided = span_feature(spans, True)
    found = _pack(decided.item, decided.start, decided.end, decided.label)
    print(
        f"  micro F1 against the truth: baseline "
        f"{micro_f1(span_majority(spans, args.per_item), spans['truth']):.4f}, weighted "
        f"{micro_f1(found, spans['truth']):.4f}; mean agreement "
        f"{np.nanmean(decided.agreement):.3f}"
    )
    sample = min(args.sample, args.span_items)
    per_item = per_item_span_labels(spans, sample)
    text = " ".join(f"w{t:04d}" for t in range(WORDS))
    for match in ("exact", "token"):

        def run(match: str = match) -> None:
            for labels, weights in per_item:
                span_consensus(labels, weights, match=match, text=text)  # type: ignore[arg-type]

        report(
            f"per-item span_consensus({match!r}), {sample:,} items",
            measure(run, args.repeat),
            sample * args.per_item,
            "labels",
        )

    boxes = make_boxes(args)
    n_box_labels, n_boxes = boxes["label_item"].size, boxes["box_label"].size
    print(
        f"\nBOXES: {n_boxes:,} boxes in {n_box_labels:,} labels ({args.box_items:,} images x "
        f"{args.per_item})"
    )
    per_image = per_item_boxes(boxes)
    base = report(
        "baseline: unweighted majority, 16 px grid",
        measure(lambda: box_majority(boxes, args.per_item), 3 * args.repeat),
        n_boxes,
        "boxes",
    )

    def consensus_all(agreement: bool = True) -> list[Any]:
        return [box_consensus(item, w, agreement=agreement) for item, w in per_image]

    feature = report(
        "feature: box_consensus per item", measure(consensus_all, args.repeat), n_boxes, "boxes"
    )
    bare = report(
        "  the same without agreement",
        measure(lambda: consensus_all(False), args.repeat),
        n_boxes,
        "boxes",
    )
    print("  " + ratio("feature / baseline:", feature, base))
    print("  " + ratio("without agreement / baseline:", bare, base))
    results = consensus_all()
    b_item, b_xywh, b_cls = box_majority(boxes, args.per_item)
    check = min(args.sample, args.box_items)
    f_tp = b_tp = n_found = n_base = n_truth = 0
    for item in range(check):
        truth = truth_boxes(boxes, item)
        mine = results[item].boxes
        theirs = [_box(b_xywh[r], int(b_cls[r])) for r in np.flatnonzero(b_item == item)]
        n_truth += len(truth)
        n_found += len(mine)
        n_base += len(theirs)
        f_tp += round(box_f1(mine, truth) * (len(mine) + len(truth)) / 2)
        b_tp += round(box_f1(theirs, truth) * (len(theirs) + len(truth)) / 2)
    print(
        f"  micro F1@0.5 against the truth on {check:,} images: baseline "
        f"{2 * b_tp / (n_base + n_truth):.4f}, box_consensus {2 * f_tp / (n_found + n_truth):.4f}; "
        f"mean pairwise F1@0.5 {np.mean([r.f1 for r in results]):.3f}, mean IoU "
        f"{np.mean([r.mean_iou for r in results if r.mean_iou is not None]):.3f}"
    )


if __name__ == "__main__":
    main()
