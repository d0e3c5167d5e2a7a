"""Thumbnails for image items (Pillow)."""

from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps

THUMBNAIL_SIZE = (256, 256)


def make_thumbnail(source: Path) -> bytes:
    """A WebP of at most 256 x 256, oriented by its EXIF tag, for catalogue and labeling pages."""
    with Image.open(source) as opened:
        return thumbnail_of(opened)


def thumbnail_of(opened: Image.Image) -> bytes:
    """``make_thumbnail`` of an image already open (whose header the caller also reads)."""
    image: Image.Image = ImageOps.exif_transpose(opened)
    image.thumbnail(THUMBNAIL_SIZE)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = BytesIO()
    image.save(out, format="WEBP", quality=80)
    return out.getvalue()
