"""File-format helpers behind :mod:`daguerre.io.image`: decode routes, EXIF, encoders, writes.

The OpenCV decode path for 16-bit colour PNG/TIFF (which Pillow cuts to 8 bits), EXIF
orientation handling, the 16-bit PNG encoder, and the atomic write (hidden temp file in the
target folder, renamed over the target). ``uint8``/``uint16`` arrays exist only inside
:mod:`daguerre.io` (STYLE.md rule 4).
"""

from __future__ import annotations

import logging
import os
import secrets
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image

from daguerre.errors import ImageWriteError

logger = logging.getLogger(__name__)

_ORIENTATION_TAG = 0x0112
_ENCODE_ERRORS = (OSError, ValueError, KeyError, TypeError, cv2.error)


# ---------------------------------------------------------------- reading


def _opencv_route(source: Path, image: Image.Image) -> tuple[bool, bool]:
    """Whether the file is 16-bit colour PNG/TIFF, which Pillow cuts to 8 bits.

    Returns:
        ``(use_opencv, header_says_gray)``. Pillow's ``RGB``, ``RGBA`` and ``LA`` modes
        are 8-bit; 16-bit gray without alpha decodes exactly as ``I;16``.
    """
    if image.mode not in ("RGB", "RGBA", "LA"):
        return False, False  # I;16 is exact; CMYK, P, 1, ... are 8-bit or need Pillow
    if image.format == "PNG":
        with source.open("rb") as handle:
            header = handle.read(26)
        if len(header) < 26 or header[24] != 16:  # IHDR bit-depth byte
            return False, False
        return True, header[25] in (0, 4)  # PNG colour types 0/4: gray, gray+alpha
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, 8)  # type: ignore[attr-defined]  # BitsPerSample
        if max(bits if isinstance(bits, tuple) else (bits,)) != 16:
            return False, False
        return True, image.tag_v2.get(262) in (0, 1)  # type: ignore[attr-defined]  # gray
    return False, False


def _decode_cv2(source: Path) -> np.ndarray:
    """Decode with OpenCV, unchanged depth: (H, W, C) uint16 in RGB(A) order."""
    decoded = cv2.imdecode(np.fromfile(source, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise OSError("OpenCV could not decode it")
    if decoded.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"unsupported sample type {decoded.dtype}")
    if decoded.ndim == 2:
        return decoded[:, :, None]
    order = {2: [0, 1], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[decoded.shape[2]]  # BGR(A) -> RGB(A)
    return np.ascontiguousarray(decoded[:, :, order])


def _orient_array(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to (H, W, C) pixels, like ``ImageOps.exif_transpose``."""
    ops: dict[int, Callable[[np.ndarray], np.ndarray]] = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, k=-1),  # 90 degrees clockwise
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, k=1),  # 90 degrees counter-clockwise
    }
    op = ops.get(orientation)
    return pixels if op is None else np.ascontiguousarray(op(pixels))


def _orientation(image: Image.Image) -> int:
    """EXIF orientation from the header, without letting Pillow decode the pixels."""
    if image.format == "PNG" and "exif" not in image.info:
        return 1  # PngImageFile.getexif() would decode the whole image to look further
    return int(image.getexif().get(_ORIENTATION_TAG, 1))


def _exif_without_orientation(image: Image.Image) -> bytes | None:
    """EXIF bytes minus the orientation tag (pixels are upright), or ``None``."""
    if not image.info.get("exif"):
        return None
    exif = image.getexif()
    exif.pop(_ORIENTATION_TAG, None)
    return exif.tobytes() if len(exif) else None


# ---------------------------------------------------------------- writing


def _clean_exif(exif: bytes | None) -> bytes | None:
    """Drop the orientation tag: written pixels are already upright."""
    if not exif:
        return None
    parsed = Image.Exif()
    parsed.load(exif)
    parsed.pop(_ORIENTATION_TAG, None)
    return parsed.tobytes() if len(parsed) else None


def _png16_bytes(pixels: np.ndarray, *, icc: bytes | None, exif: bytes | None) -> bytes:
    """Encode (H, W, C) uint16 as a 16-bit PNG with optional iCCP and eXIf chunks.

    Pillow cannot write 16-bit colour PNG, and OpenCV cannot write ICC profiles (before
    5.x) or gray+alpha, so the few chunks are written here (PNG spec, w3.org/TR/png).
    Rows use the "Sub" filter, which suits photographs and is one numpy subtraction.
    """
    height, width, channels = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    raw = pixels.astype(">u2").reshape(height, width * channels).view(np.uint8)
    step = 2 * channels  # bytes per pixel
    filtered = raw.copy()
    filtered[:, step:] -= raw[:, :-step]  # uint8 wrap-around is what PNG specifies
    rows = np.concatenate([np.ones((height, 1), np.uint8), filtered], axis=1)  # 1 = Sub

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    parts = [
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)),
    ]
    if icc:
        parts.append(chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    if exif:
        parts.append(chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00")))
    parts += [chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)), chunk(b"IEND", b"")]
    return b"".join(parts)


def _atomic_write(target: Path, encode: Callable[[BinaryIO], None]) -> None:
    """Encode into ``.<name>.<random>.tmp<ext>`` beside ``target``, then rename over it."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp{target.suffix}")
    created = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: never reuse a file someone else made; 0o666 minus umask, like open().
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        created = True
        with os.fdopen(descriptor, "wb") as handle:
            encode(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as exc:  # clean up on anything, then re-raise
        if created:
            _remove_quietly(temp)
        if isinstance(exc, _ENCODE_ERRORS):
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ImageWriteError(target, f"could not write image ({detail})") from exc
        raise


def _remove_quietly(temp: Path) -> None:
    """Remove a temp file during error handling; a failure here must not hide the cause."""
    try:
        temp.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("could not remove temporary file %s: %s", temp, exc)
