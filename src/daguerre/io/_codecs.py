"""File-format helpers behind :mod:`daguerre.io.image`: decode routes, EXIF, encoders, writes.

The OpenCV decode path for 16-bit colour PNG/TIFF (which Pillow cuts to 8 bits), HEIF/AVIF
sniffing and the lazy pillow-heif registration, EXIF orientation handling, the 16-bit PNG
encoder, and the atomic write (hidden temp file in the
target folder, renamed over the target). ``uint8``/``uint16`` arrays exist only inside
:mod:`daguerre.io` (STYLE.md rule 4).
"""

from __future__ import annotations

import functools
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
from daguerre.io._metadata import METADATA_ERRORS, describe

logger = logging.getLogger(__name__)

_ORIENTATION_TAG = 0x0112
_ENCODE_ERRORS = (OSError, ValueError, KeyError, TypeError, cv2.error)
# ISO-BMFF brands of HEIF stills (HEVC) and AVIF stills (AV1); mif1/msf1 are shared.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
)  # fmt: skip


# ---------------------------------------------------------------- reading


def _opencv_route(header: bytes, image: Image.Image) -> tuple[bool, bool]:
    """Whether the file is 16-bit colour PNG/TIFF, which Pillow cuts to 8 bits.

    Args:
        header: The file's first bytes (at least 26 for PNG's IHDR bit depth).
        image: The opened file.

    Returns:
        ``(use_opencv, header_says_gray)``. Pillow's ``RGB``, ``RGBA`` and ``LA`` modes
        are 8-bit; 16-bit gray without alpha decodes exactly as ``I;16``.
    """
    if image.mode not in ("RGB", "RGBA", "LA"):
        return False, False  # I;16 is exact; CMYK, P, 1, ... are 8-bit or need Pillow
    if image.format == "PNG":
        if len(header) < 26 or header[24] != 16:  # IHDR bit-depth byte
            return False, False
        return True, header[25] in (0, 4)  # PNG colour types 0/4: gray, gray+alpha
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, 8)  # type: ignore[attr-defined]  # BitsPerSample
        if max(bits if isinstance(bits, tuple) else (bits,)) != 16:
            return False, False
        return True, image.tag_v2.get(262) in (0, 1)  # type: ignore[attr-defined]  # gray
    return False, False


def _decode_cv2(data: Path | bytes) -> np.ndarray:
    """Decode a file (path or bytes) with OpenCV, unchanged depth: (H, W, C) in RGB(A) order."""
    if isinstance(data, Path):
        raw = np.fromfile(data, dtype=np.uint8)
    else:
        raw = np.frombuffer(data, dtype=np.uint8)
    try:
        decoded = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # OpenCV raises instead of returning None for some damage
        raise OSError(f"OpenCV could not decode it ({describe(exc)})") from exc
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


def sniff_format(header: bytes) -> str | None:
    """The format a file's first bytes announce: PNG, JPEG, GIF, TIFF, WEBP, HEIF, AVIF or None.

    Used to register the HEIF decoder only when needed, to pick the files whose metadata
    can be repaired, and to word the error for a file Pillow cannot identify.

    Example:
        >>> sniff_format(bytes(4) + b"ftypheic" + bytes(4) + b"mif1heic")
        'HEIF'
        >>> sniff_format(b"This is a text file"), sniff_format(b"GIF89a...")
        (None, 'GIF')
    """
    for signature, name in _SIGNATURES:
        if header.startswith(signature):
            return name
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "WEBP"
    if header[4:8] != b"ftyp":
        return None
    brands = {header[i : i + 4] for i in range(8, min(len(header), 64), 4)}  # major, compatible
    if brands & _AVIF_BRANDS:  # AVIF files list "avif"; HEIC files never do
        return "AVIF"
    return "HEIF" if brands & _HEIF_BRANDS else None


@functools.cache
def heif_support() -> bool:
    """Register pillow-heif's HEIC/HEIF opener and saver once; ``False`` when not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


# ---------------------------------------------------------------- writing


def _clean_exif(exif: bytes | None) -> bytes | None:
    """Drop the orientation tag (written pixels are upright); EXIF that does not parse is dropped.

    ``read_image`` only hands on EXIF that loads again; this guards EXIF built elsewhere.
    """
    if not exif:
        return None
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        parsed.pop(_ORIENTATION_TAG, None)
        return parsed.tobytes() if len(parsed) else None
    except METADATA_ERRORS as exc:
        logger.warning("EXIF not written: it does not parse (%s)", describe(exc))
        return None


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
