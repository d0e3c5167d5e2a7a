"""Box coordinates are pixels of the picture as shown: with its EXIF orientation applied. The
size an upload records, and the image a release ships, are of that upright picture, so a box
drawn in the browser lands on the same pixels in ``datasets`` (which, through PIL, ignores EXIF)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from datasets_app.integrations.images import EXIF_ORIENTATION, inspect_image, upright_bytes


def photo(width: int, height: int, orientation: int | None, fmt: str = "JPEG") -> bytes:
    """A ``width`` x ``height`` picture stored as it came off the sensor, with a red block in
    its stored top-left corner, tagged with ``orientation``."""
    image = Image.new("RGB", (width, height), "white")
    image.paste((255, 0, 0), (0, 0, 20, 10))
    exif = Image.Exif()
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize(
    ("orientation", "size"),
    [(None, (120, 80)), (1, (120, 80)), (3, (120, 80)), (6, (80, 120)), (8, (80, 120))],
)
def test_the_recorded_size_is_the_upright_one(orientation: int | None, size: tuple[int, int]):
    info = inspect_image(photo(120, 80, orientation))
    assert (info.width, info.height) == size


def test_a_turned_photo_is_shipped_upright_and_untagged():
    stored = photo(120, 80, 6)  # 6: turn 90° clockwise to show
    shipped = upright_bytes(stored)
    with Image.open(io.BytesIO(shipped)) as image:
        assert (
            image.size == (80, 120) == (inspect_image(stored).width, inspect_image(stored).height)
        )
        assert image.getexif().get(EXIF_ORIENTATION, 1) == 1
        # The stored top-left corner is now the top-right: a box drawn there in the browser
        # covers the red block in the shipped picture.
        red, green, _blue = image.convert("RGB").getpixel((75, 5))  # type: ignore[misc]
        assert red > 200 and green < 80, (red, green)
    untagged = photo(120, 80, None, fmt="PNG")
    assert upright_bytes(untagged) is untagged  # nothing to turn: the same bytes, not re-encoded
