"""A corpus of good and bad image files for the io tests and the CLI tests.

``make_corpus(folder)`` writes every file and returns ``{key: path}``. The pixel data of the
lossless files comes from the ``*_pixels`` functions below, so tests can compare exactly.
Files are written with Pillow and OpenCV directly (never with ``daguerre.io``), so the
reader is tested against independent encoders. Everything is tiny: 24x17 unless noted.

Keys in ``GOOD_KEYS`` decode; keys in ``BAD_KEYS`` raise ``ImageReadError`` on read
(``"bomb"`` raises its subclass ``DecompressionBombError``).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

WIDTH, HEIGHT = 24, 17
BOMB_SIZE = (30000, 30000)  # header claim: 900 million pixels
ROTATED_STORED_SIZE = (48, 32)  # (width, height) as stored, before EXIF orientation 6
PALETTE = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]  # index 0 is transparent
CMYK_STRIPES = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 255, 0), (0, 0, 0, 255)]
CMYK_AS_RGB = [(255, 255, 255), (0, 255, 255), (255, 0, 0), (0, 0, 0)]
QUADRANT_COLOURS = {  # stored quadrant -> RGB
    "top_left": (255, 0, 0),
    "top_right": (0, 255, 0),
    "bottom_left": (0, 0, 255),
    "bottom_right": (255, 255, 255),
}
GOOD_KEYS = (
    "good_rgb", "good_jpeg", "png16", "gray16", "tiff16", "gray_tiff", "rgba", "gray_alpha",
    "palette", "cmyk", "exif_rotated", "multipage_tiff", "webp", "bmp",
)  # fmt: skip
BAD_KEYS = ("corrupt", "truncated_png", "truncated_jpeg", "empty", "not_image", "bomb")


# ---------------------------------------------------------------- reference pixels


def _grid() -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return y.astype(np.int64), x.astype(np.int64)


def rgb8_pixels() -> np.ndarray:
    """(17, 24, 3) uint8 gradients plus a product pattern."""
    y, x = _grid()
    channels = [x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), (x * y * 7) % 256]
    return np.stack(channels, axis=-1).astype(np.uint8)


def rgb16_pixels() -> np.ndarray:
    """(17, 24, 3) uint16 spanning the range, with values that 8 bits cannot hold."""
    y, x = _grid()
    channels = [x * 2741 + y * 13 + 1, y * 3851 + x * 5 + 2, (x * 977 + y * 1409) * 3 + 3]
    return (np.stack(channels, axis=-1) % 65536).astype(np.uint16)


def gray8_pixels() -> np.ndarray:
    """(17, 24) uint8."""
    y, x = _grid()
    return ((x * 11 + y * 5) % 256).astype(np.uint8)


def gray16_pixels() -> np.ndarray:
    """(17, 24) uint16, all below 256: a max-value guess would wrongly call it 8-bit."""
    y, x = _grid()
    return (x * 7 + y * 3 + 1).astype(np.uint16)  # 1 .. 210


def alpha8_pixels() -> np.ndarray:
    """(17, 24) uint8 alpha ramp, fully transparent and fully opaque included."""
    y, x = _grid()
    return np.clip(x * 12 + y * 2 - 10, 0, 255).astype(np.uint8)


def palette_indices() -> np.ndarray:
    """(17, 24) uint8 indices into ``PALETTE``."""
    y, x = _grid()
    return ((x // 3 + y // 2) % len(PALETTE)).astype(np.uint8)


def _noise(seed: int) -> np.ndarray:
    """(17, 24, 3) uint8 noise, so compressed files are long enough to truncate mid-data."""
    return np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


# ---------------------------------------------------------------- files


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _cv2_bytes(ext: str, rgb: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(ext, np.ascontiguousarray(rgb[:, :, ::-1]))  # RGB -> BGR
    assert ok, ext
    return buffer.tobytes()


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _palette_image() -> Image.Image:
    image = Image.fromarray(palette_indices(), mode="P")
    image.putpalette([value for colour in PALETTE for value in colour])
    image.info["transparency"] = 0
    return image


def _quadrants() -> Image.Image:
    width, height = ROTATED_STORED_SIZE
    pixels = np.zeros((height, width, 3), np.uint8)
    half_w, half_h = width // 2, height // 2
    pixels[:half_h, :half_w] = QUADRANT_COLOURS["top_left"]
    pixels[:half_h, half_w:] = QUADRANT_COLOURS["top_right"]
    pixels[half_h:, :half_w] = QUADRANT_COLOURS["bottom_left"]
    pixels[half_h:, half_w:] = QUADRANT_COLOURS["bottom_right"]
    return Image.fromarray(pixels)


def _cmyk_image() -> Image.Image:
    """32x16 CMYK, four 8-pixel stripes (aligned to JPEG blocks, so they stay flat)."""
    stripes = np.repeat(np.array(CMYK_STRIPES, np.uint8)[None, :, :], 8, axis=1)
    return Image.fromarray(np.repeat(stripes, 16, axis=0), mode="CMYK")


def _bomb_png() -> bytes:
    """A valid 24x17 1-bit PNG whose IHDR is patched to claim ``BOMB_SIZE`` (CRC fixed)."""
    data = bytearray(_encoded(Image.new("1", (WIDTH, HEIGHT)), "PNG"))
    ihdr = struct.pack(">II", *BOMB_SIZE) + bytes(data[24:29])  # keep depth/colour/...
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def _multipage_tiff(path: Path) -> Path:
    first = Image.fromarray(rgb8_pixels())
    second = Image.fromarray(255 - rgb8_pixels())
    first.save(path, save_all=True, append_images=[second])
    return path


def make_corpus(folder: Path) -> dict[str, Path]:
    """Write the corpus into ``folder`` (created if needed); return ``{key: path}``."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb8, alpha = rgb8_pixels(), alpha8_pixels()
    rotated = Image.Exif()
    rotated[0x0112] = 6  # display = stored rotated 90 degrees clockwise
    png_noise, jpeg_noise = (
        _encoded(Image.fromarray(_noise(1)), "PNG"),
        _encoded(Image.fromarray(_noise(2)), "JPEG", quality=95),
    )
    return {
        "good_rgb": _save(Image.fromarray(rgb8), folder / "good_rgb.png"),
        "good_jpeg": _save(Image.fromarray(rgb8), folder / "good_jpeg.jpg", quality=95),
        "png16": _write(folder / "png16.png", _cv2_bytes(".png", rgb16_pixels())),
        "gray16": _save(Image.fromarray(gray16_pixels()), folder / "gray16.png"),
        "tiff16": _write(folder / "tiff16.tif", _cv2_bytes(".tiff", rgb16_pixels())),
        "gray_tiff": _save(Image.fromarray(gray8_pixels()), folder / "gray.tif"),
        "rgba": _save(Image.fromarray(np.dstack([rgb8, alpha])), folder / "rgba.png"),
        "gray_alpha": _save(
            Image.fromarray(np.dstack([gray8_pixels(), alpha])), folder / "gray_alpha.png"
        ),
        "palette": _save(_palette_image(), folder / "palette.png", transparency=0),
        "cmyk": _save(_cmyk_image(), folder / "cmyk.jpg", quality=95, subsampling=0),
        "exif_rotated": _save(
            _quadrants(), folder / "exif_rotated.jpg", quality=95, subsampling=0, exif=rotated
        ),
        "multipage_tiff": _multipage_tiff(folder / "multipage.tif"),
        "webp": _save(Image.fromarray(rgb8), folder / "lossless.webp", lossless=True),
        "bmp": _save(Image.fromarray(rgb8), folder / "good.bmp"),
        "corrupt": _write(folder / "corrupt.png", np.random.default_rng(3).bytes(600)),
        "truncated_png": _write(folder / "truncated.png", png_noise[: len(png_noise) // 2]),
        "truncated_jpeg": _write(folder / "truncated.jpg", jpeg_noise[: len(jpeg_noise) // 2]),
        "empty": _write(folder / "empty.jpg", b""),
        "not_image": _write(folder / "not_image.jpg", b"This is a text file, not a JPEG.\n"),
        "bomb": _write(folder / "bomb.png", _bomb_png()),
    }
