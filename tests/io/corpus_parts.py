"""Building blocks of the real-world corpus (tests/io/corpus.py): reference pixels, bytes.

Reference pixels say what a correct reader returns for each corpus file; the byte-surgery
helpers put metadata blocks into JPEG and PNG files the way cameras, scanners and Photoshop
do (and break them the way archives do). Nothing here uses ``daguerre.io``.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, features

WIDTH, HEIGHT = 32, 24
CMYK_STRIPES = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 255, 0), (0, 0, 0, 255)]
CMYK_AS_RGB = [(255, 255, 255), (0, 255, 255), (255, 0, 0), (0, 0, 0)]
BROKEN_TIFF_HEADER = b"\xff\xff\xbeZ\x17#\xff\xff"  # the header of the archive's bicycles.jpg


def heif_available() -> bool:
    """Whether pillow-heif (HEIC/HEIF decoder and encoder) is installed."""
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return False
    return True


def avif_available() -> bool:
    """Whether this Pillow reads and writes AVIF."""
    return bool(features.check("avif"))


# ---------------------------------------------------------------- reference pixels


def rgb_pixels() -> np.ndarray:
    """(24, 32, 3) uint8: smooth gradients (JPEG keeps them within a few levels)."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    channels = [x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), (x + y) * 255 // 54]
    return np.stack(channels, axis=-1).astype(np.uint8)


def gray_pixels() -> np.ndarray:
    """(24, 32) uint8 diagonal ramp."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return ((x * 5 + y * 3) % 256).astype(np.uint8)


def rgb16_pixels() -> np.ndarray:
    """(24, 32, 3) uint16 with values 8 bits cannot hold."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.int64)
    channels = [x * 2011 + y * 7 + 1, y * 2731 + x * 3 + 2, (x * 977 + y * 1409) * 3 + 3]
    return (np.stack(channels, axis=-1) % 65536).astype(np.uint16)


def frame_pixels(index: int) -> np.ndarray:
    """(24, 32, 3) uint8 flat-coloured frame ``index`` of the animations (palette-exact)."""
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    pixels = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    pixels[:, : WIDTH // 2] = colours[index % 3]
    pixels[:, WIDTH // 2 :] = colours[(index + 1) % 3]
    return pixels


def as_rgb(gray: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 3) by repetition, as the reader returns gray files."""
    return np.repeat(gray[:, :, None], 3, axis=2)


def cmyk_as_rgb_pixels() -> np.ndarray:
    """(24, 32, 3) uint8: what the four CMYK stripes look like in RGB."""
    stripes = np.repeat(np.array(CMYK_AS_RGB, np.uint8)[None, :, :], 8, axis=1)
    return np.repeat(stripes, HEIGHT, axis=0)


def gray16_lzw_pixels() -> np.ndarray:
    """(24, 32) uint16 of ``tiff16_lzw_gray``."""
    return (gray_pixels().astype(np.uint16) * 257 + 3).astype(np.uint16)


def one_bit_pixels() -> np.ndarray:
    """(24, 32, 3) uint8 of ``png_1bit``: 0 or 255."""
    return as_rgb(np.where(gray_pixels() > 100, 255, 0).astype(np.uint8))


def palette_pixels() -> np.ndarray:
    """(24, 32, 3) uint8 of ``png_palette``: the gradients through a 16-colour palette."""
    return np.asarray(Image.fromarray(rgb_pixels()).quantize(16).convert("RGB"))


# ---------------------------------------------------------------- byte surgery


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    """``image`` saved to bytes by Pillow."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    """A JPEG marker segment: ``FF <marker> <length> <payload>``."""
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_segments(data: bytes, *segments: bytes) -> bytes:
    """Insert ``segments`` after SOI and the JFIF APP0 (where cameras and Photoshop put them)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    position = 2
    if data[2:4] == b"\xff\xe0":  # keep JFIF first, as real files have it
        position = 4 + struct.unpack(">H", data[4:6])[0]
    return data[:position] + b"".join(segments) + data[position:]


def png_chunk(kind: bytes, payload: bytes, *, crc: int | None = None) -> bytes:
    """A PNG chunk; ``crc`` overrides the correct checksum."""
    good = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", good if crc is None else crc)
    )


def png_with_chunks(data: bytes, *chunks: bytes) -> bytes:
    """Insert ``chunks`` right after IHDR (signature 8 + IHDR 25 bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return data[:33] + b"".join(chunks) + data[33:]


def photoshop_block(caption: bytes = b"Bicycles at the station, about 1900") -> bytes:
    """APP13 payload: ``Photoshop 3.0`` with one 8BIM IPTC resource (caption)."""
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc))
    resource += iptc + (b"\x00" if len(iptc) % 2 else b"")
    return b"Photoshop 3.0\x00" + resource


def tiff_ifd(entries: list[tuple[int, int, int, bytes]], *, next_ifd: int = 0) -> bytes:
    """Little-endian TIFF header + one IFD of ``(tag, type, count, 4-byte value)`` entries."""
    body = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
    return b"II*\x00" + struct.pack("<I", 8) + body + struct.pack("<I", next_ifd)


SCANNER_MAKE = "Archive Scanner Co."


def scanner_exif() -> bytes:
    """A sound EXIF block naming the scanner (``Make``)."""
    exif = Image.Exif()
    exif[0x010F] = SCANNER_MAKE
    return exif.tobytes()


def cmyk_image() -> Image.Image:
    """32x24 CMYK, four 8-pixel stripes (aligned to JPEG blocks, so they stay flat)."""
    stripes = np.repeat(np.array(CMYK_STRIPES, np.uint8)[None, :, :], 8, axis=1)
    return Image.fromarray(np.repeat(stripes, HEIGHT, axis=0), mode="CMYK")
