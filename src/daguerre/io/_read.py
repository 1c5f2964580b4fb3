"""The decode path behind :func:`daguerre.io.read_image`: open, check size, decode, orient.

Opening is lazy (header only) so the pixel limit is checked before any pixel is decoded.
When Pillow refuses to open a JPEG or PNG, copies of the file with metadata left out are
tried (:mod:`daguerre.io._repair`); metadata read after opening (EXIF, ICC) never raises
(:mod:`daguerre.io._metadata`). What was ignored goes into ``notes``. Pixel-data damage is
never worked around: the caller turns it into ``ImageReadError``.
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from daguerre.errors import DecompressionBombError
from daguerre.io import _metadata, _repair
from daguerre.io._codecs import (
    _decode_cv2,
    _opencv_route,
    _orient_array,
    heif_support,
    sniff_format,
)
from daguerre.io._pixels import _pil_pixels
from daguerre.io.meta import ImageMeta

# Pillow raises its own errors for corrupt data; these are the documented ones plus those
# its plugins leak on malformed files: TypeError ("Missing dimensions", TIFF pages counted
# by n_frames) and RuntimeError (libavif and libheif decode failures). Each leak was found
# by scripts/fuzz_read.py and is a regression test (tests/io/corpus_regressions.py).
# Anything else is a bug and propagates.
DECODE_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, struct.error, TypeError,
    RuntimeError,
)  # fmt: skip
HEADER_BYTES = 64  # enough for PNG's IHDR and an ISO-BMFF ftyp box
_REPAIRABLE = frozenset({"PNG", "JPEG", "HEIF", "AVIF"})  # formats _repair can edit
_PILLOW_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Decoded:
    """A decoded first frame: (H, W, C) uint8/uint16 pixels, upright, and what the file was."""

    pixels: np.ndarray
    meta: ImageMeta
    frames: int  # pages/frames in the file; 0 when they could not be counted


def decode_file(source: Path, limit: int, notes: list[str]) -> Decoded:
    """Open ``source``, check its size against ``limit`` pixels, decode its first frame.

    Raises:
        DecompressionBombError: The header claims more than ``limit`` pixels.
        OSError, SyntaxError, ...: ``DECODE_ERRORS`` for files that cannot be decoded.
    """
    header = _read_header(source)
    if sniff_format(header) == "HEIF":
        heif_support()  # registers pillow-heif's opener, if installed
    with _metadata.pillow_notes(notes), _open_any(source, header, notes) as (image, data):
        _check_pixels(source, image.size, limit)
        return _decode(source, image, data or source, header, notes)


def _read_header(source: Path) -> bytes:
    with source.open("rb") as handle:
        return handle.read(HEADER_BYTES)


def _open_lazy(file: Path | BinaryIO) -> Image.Image:
    """Open lazily (header only) with Pillow's own bomb check off: ours runs instead."""
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(file)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


@contextmanager
def _open_any(
    source: Path, header: bytes, notes: list[str]
) -> Iterator[tuple[Image.Image, bytes | None]]:
    """Open the file, or else the first repaired copy Pillow accepts (``bytes``)."""
    data: bytes | None = None
    try:
        image = _open_lazy(source)
    except PermissionError:
        raise
    except DECODE_ERRORS:
        repaired = None
        if sniff_format(header) in _REPAIRABLE:
            repaired = _open_repaired(source.read_bytes(), notes)
        if repaired is None:
            raise  # the original file's error
        image, data = repaired
    with image:
        yield image, data


def _open_repaired(data: bytes, notes: list[str]) -> tuple[Image.Image, bytes] | None:
    """The first copy of ``data`` without some metadata that Pillow opens, or ``None``."""
    for repaired, left_out in _repair.repairs(data):
        try:
            image = _open_lazy(io.BytesIO(repaired))
        except DECODE_ERRORS:
            continue
        notes.extend(left_out)
        return image, repaired
    return None


def _check_pixels(source: Path, size: tuple[int, int], limit: int) -> None:
    width, height = size
    if width * height > limit:
        raise DecompressionBombError(
            source,
            f"{width}x{height} = {width * height:,} pixels exceeds the limit of {limit:,} "
            "(set DAGUERRE_MAX_PIXELS or max_pixels to raise it)",
        )


def _frame_count(image: Image.Image, notes: list[str]) -> int:
    """Pages/frames in the file (Pillow may walk the whole file to count them); 0: unknown."""
    try:
        return int(getattr(image, "n_frames", 1))
    except DECODE_ERRORS as exc:
        notes.append(f"frame index ({_metadata.describe(exc)})")
        return 0


def _decode(
    source: Path, image: Image.Image, data: Path | bytes, header: bytes, notes: list[str]
) -> Decoded:
    """Decode the first frame: (H, W, C) uint8/uint16 pixels, upright, plus metadata."""
    frames = _frame_count(image, notes)
    if frames == 0:
        image.seek(0)  # a count that failed half-way may leave a later frame selected
    use_opencv, header_gray = _opencv_route(header, image)
    if use_opencv:
        orientation, exif = _metadata.read_exif(image, notes)
        icc = _metadata.read_icc(image, notes)
        pixels = _decode_cv2(data)
        is_gray = header_gray or pixels.shape[2] <= 2
        colour = "LA" if is_gray and pixels.shape[2] in (2, 4) else "L" if is_gray else "RGB"
        mode = colour + ("A" if colour == "RGB" and pixels.shape[2] == 4 else "") + ";16"
    else:
        image.load()  # decode here, so truncation raises inside read_image's try
        icc = _metadata.read_icc(image, notes)  # before CMYK conversion, which uses it
        pixels, is_gray = _pil_pixels(image, notes=notes)
        orientation, exif = _metadata.read_exif(image, notes)  # after load: PNG eXIf may trail
        mode = image.mode
    pixels = _orient_array(pixels, orientation)
    meta = ImageMeta(
        path=source,
        format=image.format or source.suffix.lstrip(".").upper(),
        mode=mode,
        bit_depth=16 if pixels.dtype == np.uint16 else 8,
        has_alpha=pixels.shape[2] in (2, 4),
        is_gray=is_gray,
        size=(pixels.shape[1], pixels.shape[0]),
        icc_profile=None if image.mode == "CMYK" else icc,
        exif=exif,
    )
    return Decoded(pixels=pixels, meta=meta, frames=frames)
