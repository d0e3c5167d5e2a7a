"""Perceptual hashes of real (Pillow-made) images: copies that were resized, re-encoded,
recoloured slightly or rotated by an EXIF tag stay close; different pictures are far. Size
problems. No database needed."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from datasets_app.quality.images import image_problems, perceptual_hash

NEAR = 6  # at most this many of 64 bits differ for a copy


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes (validation compares them the same way, as
    64-bit integers, in ``image_duplicates.mark_near_duplicate_images``)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A photo-like scene: a gradient sky and random shapes, softened."""
    rng = random.Random(seed)  # noqa: S311 - test data
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    for y in range(height):
        mix = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(20, width // 2), y0 + rng.randrange(20, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    return image.filter(ImageFilter.GaussianBlur(1.5))


def encoded(image: Image.Image, format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=format, **options)
    return out.getvalue()


@pytest.fixture
def original() -> Image.Image:
    return picture(seed=1)


def test_the_hash_is_sixteen_hex_digits_and_the_same_from_bytes_or_a_path(
    original: Image.Image, tmp_path: Path
) -> None:
    data = encoded(original, "PNG")
    path = tmp_path / "original.png"
    path.write_bytes(data)
    digest = perceptual_hash(data)
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert perceptual_hash(path) == digest
    assert perceptual_hash(str(path)) == digest


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda im: encoded(im.resize((160, 120)), "PNG"), id="half size"),
        pytest.param(lambda im: encoded(im.resize((1000, 750)), "PNG"), id="upscaled"),
        pytest.param(lambda im: encoded(im, "JPEG", quality=40), id="jpeg q40"),
        pytest.param(
            lambda im: encoded(im.resize((200, 150)), "JPEG", quality=70), id="resized jpeg"
        ),
        pytest.param(lambda im: encoded(im, "WEBP", quality=60), id="webp"),
        pytest.param(
            lambda im: encoded(ImageEnhance.Brightness(im).enhance(1.15), "JPEG"), id="brighter"
        ),
        pytest.param(lambda im: encoded(im.convert("L"), "PNG"), id="greyscale"),
    ],
)
def test_a_resized_or_re_encoded_copy_stays_close(
    original: Image.Image, variant: Callable[[Image.Image], bytes]
) -> None:
    distance = hamming(
        perceptual_hash(encoded(original, "PNG")), perceptual_hash(variant(original))
    )
    assert distance <= NEAR


def test_an_exif_rotated_copy_hashes_like_the_upright_picture(original: Image.Image) -> None:
    # Stored on its side with orientation 6 ("rotate 90 clockwise to display").
    sideways = original.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(sideways, "JPEG", quality=90, exif=exif.tobytes())
    assert hamming(perceptual_hash(encoded(original, "PNG")), perceptual_hash(data)) <= NEAR


def test_different_pictures_are_far_apart() -> None:
    hashes = [perceptual_hash(encoded(picture(seed), "PNG")) for seed in range(2, 12)]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > 3 * NEAR
    assert 24 <= sum(distances) / len(distances) <= 40  # about half of 64 bits


def test_a_mirrored_picture_is_not_a_near_duplicate(original: Image.Image) -> None:
    mirrored = original.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    distance = hamming(
        perceptual_hash(encoded(original, "PNG")), perceptual_hash(encoded(mirrored, "PNG"))
    )
    assert distance > NEAR


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_data_that_is_not_an_image_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a readable image"):
        perceptual_hash(data)


def test_image_size_problems() -> None:
    assert image_problems(640, 480) == []
    assert image_problems(32, 32) == []
    assert image_problems(31, 200) == ["too small: 31x200 pixels (each side at least 32)"]
    assert image_problems(100, 100, min_side=128) == [
        "too small: 100x100 pixels (each side at least 128)"
    ]
    assert image_problems(0, 100) == ["has no pixels (0x100)"]
    assert image_problems(4000, 100) == ["extreme aspect ratio: 4000x100 is 40:1 (at most 20:1)"]
    assert image_problems(4000, 100, max_aspect_ratio=50) == []
