"""Image checks for uploaded ZIPs: which images Pillow may open, how big they may be, and where
accepted images are stored (under their content's sha256, so equal images are stored once).

Pure functions over bytes; the ZIP handling (member names, sizes, zip bombs) is in
``readers.zip_images``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

# Pillow format name -> the extension an accepted image is stored under. Only these decoders are
# ever tried (``Image.open(formats=...)``), so a crafted file cannot reach Pillow's rarer plugins.
ALLOWED_IMAGE_FORMATS: dict[str, str] = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})
# Width x height. Decoding holds up to 4 bytes a pixel, so this bounds one image at ~160 MB of
# memory (Pillow's own bomb check only starts at ~89 Mpx and fails at twice that).
MAX_IMAGE_PIXELS = 40_000_000


class ImageRejectedError(Exception):
    """The bytes are not an image we accept; ``reason`` finishes "image 'x.png' ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    format: str  # lower-case Pillow format: "jpeg", "png", "webp", "gif"
    extension: str  # what it is stored under: "jpg", "png", "webp", "gif"
    width: int  # upright: with the EXIF orientation applied (``upright_size``)
    height: int


def inspect_image(payload: bytes, *, max_pixels: int | None = None) -> ImageInfo:
    """Open ``payload`` with Pillow, check its format and size, and decode it fully (a header
    alone proves little: a truncated JPEG has a perfect header). Raises ``ImageRejectedError``."""
    limit = MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    formats = tuple(ALLOWED_IMAGE_FORMATS)
    try:
        with Image.open(io.BytesIO(payload), formats=formats) as image:
            image_format = image.format or ""
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageRejectedError("has no pixels")
            if width * height > limit:
                raise ImageRejectedError(
                    f"is {width}x{height} pixels; the limit is {limit:,} pixels"
                )
            image.verify()
        with Image.open(io.BytesIO(payload), formats=formats) as image:
            if image_format == "JPEG":
                # Decode at 1/8 scale: every entropy-coded block is still read (so truncation and
                # corruption are caught) at a 64th of the memory.
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
            upright = upright_size(image, stored=(width, height))  # (verify() must come first)
    except ImageRejectedError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageRejectedError(
            "is not a JPEG, PNG, WebP or GIF image (or its header is damaged)"
        ) from None
    except Image.DecompressionBombError:
        raise ImageRejectedError(f"is larger than {limit:,} pixels") from None
    except Exception as exc:  # Pillow's decoders raise many types on hostile input
        raise ImageRejectedError(f"could not be decoded ({type(exc).__name__})") from exc
    if image_format not in ALLOWED_IMAGE_FORMATS:  # pragma: no cover - formats= already limits it
        raise ImageRejectedError(f"is a {image_format or 'unknown'} image")
    return ImageInfo(
        format=image_format.lower(),
        extension=ALLOWED_IMAGE_FORMATS[image_format],
        width=upright[0],
        height=upright[1],
    )


# EXIF orientations that turn the picture a quarter: its upright width is the stored height.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
EXIF_ORIENTATION = 0x0112


def upright_size(image: Image.Image, *, stored: tuple[int, int] | None = None) -> tuple[int, int]:
    """(width, height) as the picture is shown: its EXIF orientation applied, as browsers,
    our thumbnails and release images show it. Box coordinates are pixels of this picture.
    ``stored``: the full stored size, when ``image`` was decoded at a reduced (draft) size."""
    width, height = stored or image.size
    if image.getexif().get(EXIF_ORIENTATION) in _QUARTER_TURNS:
        return height, width
    return width, height


def upright_bytes(payload: bytes) -> bytes:
    """``payload`` unchanged, or, for an image with an EXIF orientation other than "as stored",
    the picture turned upright and saved again without the tag (JPEG at quality 95, others in
    their own format), so readers that ignore EXIF (PIL, Hugging Face ``datasets``) see what a
    browser shows and what box coordinates refer to."""
    with Image.open(io.BytesIO(payload), formats=tuple(ALLOWED_IMAGE_FORMATS)) as image:
        if image.getexif().get(EXIF_ORIENTATION, 1) == 1:
            return payload
        image_format = image.format or "PNG"
        turned = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        turned.save(out, format=image_format, **({"quality": 95} if image_format == "JPEG" else {}))
        return out.getvalue()


def store_image(payload: bytes, *, sha256: str, extension: str, image_dir: Path) -> str:
    """Write ``payload`` to ``image_dir/<sha256>.<extension>`` unless it is already there, and
    return that path relative to ``image_dir``. The write is atomic (temp file + rename), so a
    crashed or concurrent worker never leaves half an image under the final name."""
    name = f"{sha256}.{extension}"
    target = image_dir / name
    if target.exists():
        return name
    image_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=image_dir, prefix=".partial-", suffix=f".{extension}")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(payload)
        os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; the web process may be another user
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return name
