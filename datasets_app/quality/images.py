"""Image checks: a perceptual hash for near-duplicate images, and size problems.

The perceptual hash is imagehash's pHash (a 64-bit sign pattern of the low frequencies of the
32x32 grey image's DCT), written as 16 hex digits: resizing, re-encoding and mild colour changes
move it by a few bits, a different picture by about 32. Two images are near duplicates when few
bits of their hashes differ (6 or less is a safe choice for pHash at 64 bits; validation compares
them in ``image_duplicates.mark_near_duplicate_images``).
"""

from __future__ import annotations

import io
from pathlib import Path

import imagehash
from PIL import Image, ImageOps, UnidentifiedImageError

# pHash reads a 32x32 grey image: a JPEG decoder may skip straight to a scale near this.
_DRAFT_SIZE = (128, 128)


def perceptual_hash(source: str | Path | bytes) -> str:
    """pHash of an image file (a path, or its bytes), as 16 hex digits. The EXIF orientation is
    applied first, so a photo and its rotated-by-tag copy hash alike. Raises ``ValueError`` when
    the data is not an image Pillow can read."""
    stream: str | Path | io.BytesIO = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(stream) as image:
            image.draft("L", _DRAFT_SIZE)
            upright = ImageOps.exif_transpose(image)
            return str(imagehash.phash(upright))
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        # Pillow raises OSError for truncated files and SyntaxError from some decoders.
        raise ValueError(f"not a readable image: {error}") from error


def image_problems(
    width: int, height: int, *, min_side: int = 32, max_aspect_ratio: float = 20.0
) -> list[str]:
    """Problems with an image's size, worded for the contributor's report."""
    if width <= 0 or height <= 0:
        return [f"has no pixels ({width}x{height})"]
    problems: list[str] = []
    if min(width, height) < min_side:
        problems.append(f"too small: {width}x{height} pixels (each side at least {min_side})")
    ratio = max(width, height) / min(width, height)
    if ratio > max_aspect_ratio:
        problems.append(
            f"extreme aspect ratio: {width}x{height} is {ratio:.0f}:1 "
            f"(at most {max_aspect_ratio:.0f}:1)"
        )
    return problems
