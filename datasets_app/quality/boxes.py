"""Consensus over image bounding-box labels: validation, Hungarian IoU matching, box F1.

Pure functions over plain values (no ORM), like ``consensus``. A label is one labeler's list of
boxes ``{"x", "y", "w", "h", "label"}`` in pixel coordinates of the original image (x, y the
top-left corner), ``label`` one of the dataset's classes (any hashable).

Two boxes of the same class match when their IoU (intersection over union) is >= the threshold
(0.5 by default, the PASCAL VOC / COCO AP50 criterion); between two lists of boxes, the matching
is the one-to-one assignment maximising total IoU (Hungarian, ``scipy.optimize.
linear_sum_assignment``) over the pairs at or above the threshold. Refusals raise
``spans.InvalidAnnotation``; box F1 counts as fractional agreement in
``consensus.labeler_observation``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from datasets_app.quality.consensus import FloatArray
from datasets_app.quality.spans import (
    MAJORITY_EPS,
    InvalidAnnotation,
    LabelerT,
    _class_key,
    _known,
    _labeler_order,
    f1_score,
    labeler_weight_vector,
)

__all__ = [
    "Box",
    "BoxConsensus",
    "box_consensus",
    "box_f1",
    "iou_matrix",
    "match_boxes",
    "validate_boxes",
]


class Box(NamedTuple):
    x: float
    y: float
    w: float
    h: float
    label: Hashable


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def validate_boxes(
    boxes: object, width: int, height: int, classes: Collection[Hashable]
) -> list[dict[str, Any]]:
    """The boxes as stored: ``[{"x", "y", "w", "h", "label"}]`` in the order given.

    Raises ``InvalidAnnotation`` with code
      "boxes_not_a_list"  not a list;
      "box_malformed"     an entry is not an object with exactly x, y, w, h and label, or a
                          coordinate is not a finite number;
      "box_empty"         w or h is not positive;
      "box_outside_image" the box leaves the image: not ``0 <= x``, ``x + w <= width``,
                          ``0 <= y``, ``y + h <= height`` (a box may touch the border);
      "box_unknown_class" the label is not one of ``classes``.
    An empty list is a valid label: the labeler saw no object. Repeated boxes are kept (two
    objects can share a box); consensus matching counts each once per labeler anyway.
    """
    if not isinstance(boxes, list | tuple):
        raise InvalidAnnotation("boxes_not_a_list", "boxes must be a list of {x, y, w, h, label}")
    out: list[dict[str, Any]] = []
    for n, raw in enumerate(boxes):
        if not isinstance(raw, Mapping) or set(raw) != {"x", "y", "w", "h", "label"}:
            raise InvalidAnnotation(
                "box_malformed", f"box {n} must be an object with exactly x, y, w, h and label"
            )
        x, y, w, h = (raw[key] for key in "xywh")
        if not all(_is_number(v) for v in (x, y, w, h)):
            raise InvalidAnnotation("box_malformed", f"box {n}: x, y, w, h must be numbers")
        if w <= 0 or h <= 0:
            raise InvalidAnnotation("box_empty", f"box {n}: w and h must be positive")
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise InvalidAnnotation(
                "box_outside_image",
                f"box {n} ({x}, {y}, {w}, {h}) leaves the {width} x {height} image",
            )
        if not _known(raw["label"], classes):
            raise InvalidAnnotation("box_unknown_class", f"box {n}: unknown class {raw['label']!r}")
        out.append({"x": x, "y": y, "w": w, "h": h, "label": raw["label"]})
    return out


def _as_boxes(boxes: Iterable[Mapping[str, Any] | Box]) -> list[Box]:
    """Boxes in canonical order (so the result never depends on the order they were drawn)."""
    out = [
        b
        if isinstance(b, Box)
        else Box(float(b["x"]), float(b["y"]), float(b["w"]), float(b["h"]), b["label"])
        for b in boxes
    ]
    return sorted(out, key=lambda b: (_class_key(b.label), b.x, b.y, b.w, b.h))


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU of every pair of (x, y, w, h) rows of ``a`` (n, 4) and ``b`` (m, 4): (n, m)."""
    p = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    q = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    left = np.maximum(p[:, None, 0], q[None, :, 0])
    top = np.maximum(p[:, None, 1], q[None, :, 1])
    right = np.minimum(p[:, None, 0] + p[:, None, 2], q[None, :, 0] + q[None, :, 2])
    bottom = np.minimum(p[:, None, 1] + p[:, None, 3], q[None, :, 1] + q[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = (p[:, 2] * p[:, 3])[:, None] + (q[:, 2] * q[:, 3])[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


Coords = tuple[float, float, float, float]


def _iou(p: Coords, q: Coords) -> float:
    """IoU of two (x, y, w, h) boxes, in plain floats: a labeler's few boxes per class make
    matrices of a handful of cells, where NumPy's per-call cost would dominate."""
    px, py, pw, ph = p
    qx, qy, qw, qh = q
    # Conditional expressions, not min()/max(): this is the innermost loop of box consensus.
    across = (px + pw if px + pw < qx + qw else qx + qw) - (px if px > qx else qx)
    if across <= 0:
        return 0.0
    down = (py + ph if py + ph < qy + qh else qy + qh) - (py if py > qy else qy)
    if down <= 0:
        return 0.0
    inter = across * down
    return inter / (pw * ph + qw * qh - inter)


def _match(
    a: Sequence[Coords], b: Sequence[Coords], threshold: float
) -> list[tuple[int, int, float]]:
    edges = [
        (i, j, iou)
        for i, p in enumerate(a)
        for j, q in enumerate(b)
        if (iou := _iou(p, q)) >= threshold
    ]
    rows = {i for i, _, _ in edges}
    cols = {j for _, j, _ in edges}
    if len(rows) == len(edges) == len(cols):
        return edges  # already one-to-one (the common case): nothing to choose
    gain = np.zeros((len(a), len(b)))
    for i, j, iou in edges:
        gain[i, j] = iou
    picked_rows, picked_cols = linear_sum_assignment(gain, maximize=True)
    return sorted(
        (int(i), int(j), float(gain[i, j]))
        for i, j in zip(picked_rows, picked_cols, strict=True)
        if gain[i, j] > 0  # a pair below the threshold is no match (its gain is 0)
    )


def match_boxes(
    a: npt.ArrayLike, b: npt.ArrayLike, iou_threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(row of a, row of b, IoU)`` between two sets of same-class
    (x, y, w, h) boxes, sorted: the assignment maximising total IoU over pairs with
    IoU >= ``iou_threshold`` (pairs below it are never matched)."""
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError("iou_threshold must lie in (0, 1]")
    rows_a, rows_b = (
        [(r[0], r[1], r[2], r[3]) for r in np.asarray(x, dtype=np.float64).reshape(-1, 4).tolist()]
        for x in (a, b)
    )
    return sorted(_match(rows_a, rows_b, iou_threshold))


def _by_class(boxes: Sequence[Box]) -> dict[Hashable, list[Coords]]:
    grouped: dict[Hashable, list[Coords]] = {}
    for box in boxes:
        grouped.setdefault(box.label, []).append((box.x, box.y, box.w, box.h))
    return grouped


def _pair_matches(
    a: dict[Hashable, list[Coords]], b: dict[Hashable, list[Coords]], iou_threshold: float
) -> list[tuple[int, int, float]]:
    """Per-class matches between two labels grouped by ``_by_class`` (indices into each class's
    rows; the count and the IoUs are all a caller needs from them)."""
    return [
        match
        for label, mine in a.items()
        if label in b
        for match in _match(mine, b[label], iou_threshold)
    ]


def box_f1(
    predicted: Iterable[Mapping[str, Any] | Box],
    reference: Iterable[Mapping[str, Any] | Box],
    iou_threshold: float = 0.5,
) -> float:
    """Box F1 at ``iou_threshold`` (F1@0.5 by default) of ``predicted`` against ``reference``
    (gold, or an item's consensus): 2 * matched / (|predicted| + |reference|), matching per
    class. Symmetric in its arguments; both empty: 1.0."""
    mine, theirs = _as_boxes(predicted), _as_boxes(reference)
    matches = _pair_matches(_by_class(mine), _by_class(theirs), iou_threshold)
    return f1_score(len(matches), len(mine), len(theirs))


@dataclass(frozen=True)
class BoxConsensus:
    boxes: list[dict[str, Any]]  # consensus boxes, sorted by (class, x, y, w, h)
    support: list[float]  # each box's share of the item's labeler weight, > 0.5
    mean_iou: float | None  # mean IoU of matched pairs over labeler pairs; None: no match
    f1: float | None  # mean pairwise box F1 at the threshold; None below 2 labelers


class _Cluster:
    """Boxes of one class matched together, at most one per labeler, and their weighted mean."""

    def __init__(self, weight: float, coords: Coords) -> None:
        # Sums of offsets from the first box, so a mean of equal boxes is that box exactly.
        self.origin = coords
        self.weight = weight
        self.count = 1
        self.weighted: Coords = (0.0, 0.0, 0.0, 0.0)
        self.plain: Coords = (0.0, 0.0, 0.0, 0.0)
        self._mean: Coords | None = coords

    def add(self, weight: float, coords: Coords) -> None:
        ox, oy, ow, oh = self.origin
        dx, dy, dw, dh = coords[0] - ox, coords[1] - oy, coords[2] - ow, coords[3] - oh
        wx, wy, ww, wh = self.weighted
        px, py, pw, ph = self.plain
        self.weighted = (wx + weight * dx, wy + weight * dy, ww + weight * dw, wh + weight * dh)
        self.plain = (px + dx, py + dy, pw + dw, ph + dh)
        self.weight += weight
        self.count += 1
        self._mean = None

    @property
    def mean(self) -> Coords:
        if self._mean is None:
            # All weights 0 (weightless labelers alone): the plain mean.
            sums, total = (
                (self.weighted, self.weight) if self.weight > 0 else (self.plain, self.count)
            )
            ox, oy, ow, oh = self.origin
            sx, sy, sw, sh = sums
            self._mean = (ox + sx / total, oy + sy / total, ow + sw / total, oh + sh / total)
        return self._mean


def _class_clusters(held: list[tuple[float, list[Coords]]], iou_threshold: float) -> list[_Cluster]:
    """Clusters of one class: labelers in order (heaviest first) each match their boxes to the
    clusters so far by Hungarian IoU against each cluster's weighted mean; an unmatched box
    starts a cluster. A cluster holds at most one box per labeler."""
    clusters: list[_Cluster] = []
    for weight, coords in held:
        matches = _match(coords, [c.mean for c in clusters], iou_threshold)
        taken = {row for row, _, _ in matches}
        for row, cluster, _ in matches:
            clusters[cluster].add(weight, coords[row])
        clusters += [_Cluster(weight, box) for row, box in enumerate(coords) if row not in taken]
    return clusters


def box_consensus(
    labels: Mapping[LabelerT, Iterable[Mapping[str, Any] | Box]],
    weights: Mapping[LabelerT, float],
    *,
    iou_threshold: float = 0.5,
    default_weight: float | None = None,
    agreement: bool = True,
) -> BoxConsensus:
    """The consensus boxes of one item from its k labelers' labels (``{labeler: boxes}``; a
    labeler who drew nothing is present with an empty list and counts in the total weight).

    Per class, labelers are taken heaviest first (ties by id) and each one's boxes are matched
    to the clusters so far (Hungarian on IoU with each cluster's weighted-mean box, pairs below
    ``iou_threshold`` never match); an unmatched box opens a cluster. A cluster whose labelers
    hold more than half of the item's total weight (a tie is not a majority) is a consensus
    box, at the credibility-weighted mean of its boxes' coordinates. Weights as in
    ``spans.labeler_weight_vector``. ``mean_iou`` and ``f1`` compare every pair of labelers
    directly (per class Hungarian at the threshold, unweighted); ``agreement=False`` skips them
    (both None).
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError("iou_threshold must lie in (0, 1]")
    labelers = sorted(labels, key=_labeler_order)
    boxes = [_as_boxes(labels[labeler]) for labeler in labelers]
    grouped = [_by_class(held) for held in boxes]
    weight = labeler_weight_vector(labelers, weights, default_weight).tolist()
    total = math.fsum(weight)
    heaviest_first = sorted(range(len(labelers)), key=lambda code: -weight[code])

    per_class: dict[Hashable, list[tuple[float, list[Coords]]]] = {}
    for code in heaviest_first:
        for label, coords in grouped[code].items():
            per_class.setdefault(label, []).append((weight[code], coords))
    decided: list[tuple[Box, float]] = []
    for label, held in per_class.items():
        for cluster in _class_clusters(held, iou_threshold):
            share = cluster.weight / total
            if share > 0.5 + MAJORITY_EPS:
                x, y, w, h = cluster.mean
                decided.append((Box(x, y, w, h, label), share))
    decided.sort(key=lambda pair: (_class_key(pair[0].label), *pair[0][:4]))

    ious: list[float] = []
    pair_f1: list[float] = []
    for one, other in combinations(range(len(boxes)) if agreement else (), 2):
        matches = _pair_matches(grouped[one], grouped[other], iou_threshold)
        ious += [iou for _, _, iou in matches]
        pair_f1.append(f1_score(len(matches), len(boxes[one]), len(boxes[other])))
    return BoxConsensus(
        boxes=[{"x": b.x, "y": b.y, "w": b.w, "h": b.h, "label": b.label} for b, _ in decided],
        support=[share for _, share in decided],
        mean_iou=math.fsum(ious) / len(ious) if ious else None,
        f1=math.fsum(pair_f1) / len(pair_f1) if pair_f1 else None,
    )
