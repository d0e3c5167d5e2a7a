"""Near-duplicate images, run by validation on each batch after the text checks: an image whose
perceptual hash (pHash, ``quality.images.perceptual_hash``) is within
``IMAGE_NEAR_DUPLICATE_BITS`` of an image already in the dataset, or of an earlier row of the
batch, rejects its row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import connection
from numpy.typing import NDArray

from datasets_app.models import Dataset
from datasets_app.services.row_quality import Verdict

IMAGE_NEAR_DUPLICATE_BITS = 6  # pHash bits that may differ: resized or re-encoded copies


def _flat(phash: int) -> bool:
    """A flat image (one colour) hashes to (almost) one bit: it carries no picture to compare."""
    return phash.bit_count() <= 1 or phash.bit_count() >= 63


def _phash_ints(hashes: Sequence[str]) -> NDArray[np.uint64]:
    return np.array([int(h, 16) for h in hashes], dtype=np.uint64)


def mark_near_duplicate_images(
    dataset: Dataset, rows: Sequence[Any], verdicts: list[Verdict], inserted: dict[str, int]
) -> None:
    """Reject rows whose image is a perceptual near-duplicate (pHash within
    ``IMAGE_NEAR_DUPLICATE_BITS``) of an image already in the dataset or earlier in the batch.
    Call after ``mark_near_duplicates``, under the dataset's band lock, so concurrent runs see
    each other's committed images. ``inserted`` (content hash -> item id) are this batch's own
    items, which are not compared with themselves."""
    columns = [c["name"] for c in dataset.columns if c["dtype"] == "image"]
    if not columns:
        return
    own = list(inserted.values())
    for column in columns:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, data -> %s ->> 'phash' FROM datasets_app_item "
                "WHERE dataset_id = %s AND data -> %s ? 'phash' AND NOT (id = ANY(%s))",
                [column, dataset.pk, column, own],
            )
            stored = cursor.fetchall()
        stored = [(i, h) for i, h in stored if h and not _flat(int(h, 16))]
        known_ids = [item_id for item_id, _ in stored]
        known = _phash_ints([h for _, h in stored])
        for row, verdict in zip(rows, verdicts, strict=True):
            value = row.data.get(column)
            if verdict.problems or not isinstance(value, dict) or not value.get("phash"):
                continue
            mine = np.uint64(int(value["phash"], 16))
            if _flat(int(mine)):
                continue
            if known.size:
                distances = np.bitwise_count(np.bitwise_xor(known, mine))
                closest = int(np.argmin(distances))
                if int(distances[closest]) <= IMAGE_NEAR_DUPLICATE_BITS:
                    other = known_ids[closest]
                    verdict.problems.append(
                        f"image '{column}' is a near-duplicate of an image already in the "
                        f"dataset (item {other})"
                        if other > 0
                        else f"image '{column}' is a near-duplicate of an earlier image in "
                        "this file"
                    )
                    continue
            known = np.append(known, mine)
            known_ids.append(-1)  # an earlier row of this batch
