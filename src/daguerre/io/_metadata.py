"""Metadata that never costs the pixels: EXIF and ICC read defensively, Pillow's notes kept.

Archive scans carry every kind of broken metadata around sound pixels: EXIF whose TIFF header
is garbage, IFDs that point past the end of their block, orientation values outside 1-8,
profiles that are not ICC profiles. Each reader here returns what can be kept and appends a
short note (``"EXIF (not a TIFF file ...)"``) to a list instead of raising; ``read_image``
turns the notes into one :class:`~daguerre.io.meta.ImageMetadataWarning` line per file.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageCms

from daguerre.io.meta import ImageMetadataWarning

ORIENTATION_TAG = 0x0112
# What Pillow's EXIF/TIFF-tag and ICC parsers raise on malformed bytes. MemoryError and
# RecursionError are left out on purpose: they are not a property of the metadata alone.
METADATA_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
    ZeroDivisionError, OverflowError, AttributeError, struct.error, zlib.error,
    ImageCms.PyCMSError,
)  # fmt: skip
_MAX_NOTE = 120  # characters kept of one parser message


def describe(exc: BaseException) -> str:
    """First line of an exception's message, cut to ``_MAX_NOTE`` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_NOTE else text[: _MAX_NOTE - 3] + "..."


def read_exif(image: Image.Image, notes: list[str]) -> tuple[int, bytes | None]:
    """EXIF orientation (1-8) and the EXIF bytes without it, whatever shape the block is in.

    Args:
        image: An opened (not necessarily decoded) Pillow image.
        notes: Gets one entry when the EXIF block or its orientation is ignored.

    Returns:
        ``(orientation, exif)``: orientation 1 when absent or unusable; ``exif`` is the
        re-encoded block minus orientation, or ``None`` when absent or unreadable.
    """
    raw = image.info.get("exif")
    if image.format == "PNG" and raw is None:
        return 1, None  # PngImageFile.getexif() would decode the whole image to look further
    try:
        if raw:  # parsed afresh: Pillow's JPEG reader may have hidden an error at open
            exif = Image.Exif()
            exif.load(raw)
        else:  # TIFF tags, or orientation from XMP only
            exif = image.getexif()
        raw_orientation = exif.get(ORIENTATION_TAG)
        if raw_orientation is None and raw:
            raw_orientation = image.getexif().get(ORIENTATION_TAG)  # XMP tiff:Orientation
    except METADATA_ERRORS as exc:
        notes.append(f"EXIF ({describe(exc)})")
        return 1, None
    orientation = _orientation_value(1 if raw_orientation is None else raw_orientation, notes)
    if not raw:
        return orientation, None  # nothing to carry into the output
    try:
        exif.pop(ORIENTATION_TAG, None)
        data = exif.tobytes() if len(exif) else None
        if data is not None:
            Image.Exif().load(data)  # what we carry must load again when it is written
    except METADATA_ERRORS as exc:
        notes.append(f"EXIF tags ({describe(exc)}); the orientation was still applied")
        return orientation, None
    return orientation, data


def _orientation_value(raw: object, notes: list[str]) -> int:
    """An EXIF orientation as 1-8; anything else is noted and read as 1 (as stored)."""
    value = raw[0] if isinstance(raw, tuple) and len(raw) == 1 else raw
    if isinstance(value, int) and 1 <= value <= 8:
        return value
    notes.append(f"EXIF orientation {str(value)[:20]!r} (not 1-8; shown as stored)")
    return 1


def read_icc(image: Image.Image, notes: list[str]) -> bytes | None:
    """The ICC profile when it parses as one; a garbage profile is dropped with a note.

    A dropped profile is also removed from ``image.info``, so later colour conversions
    (CMYK to RGB) use the plain formula instead of failing on it.
    """
    icc = image.info.get("icc_profile")
    if not icc:
        return None
    if not isinstance(icc, bytes):
        notes.append(f"ICC profile (stored as {type(icc).__name__}, not bytes)")
        image.info.pop("icc_profile", None)
        return None
    try:
        ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except METADATA_ERRORS as exc:
        notes.append(f"ICC profile ({describe(exc)})")
        image.info.pop("icc_profile", None)
        return None
    return icc


@contextmanager
def pillow_notes(notes: list[str]) -> Iterator[None]:
    """Turn the warnings Pillow's parsers raise inside the block into notes.

    Pillow warns once per damaged tag ("Possibly corrupt EXIF data. ..."), which would
    print many lines for one file; they become one note each here, repeats dropped.
    Warnings raised from outside Pillow pass through unchanged. (``catch_warnings`` is
    process-wide in Python 3.11; a warning another thread raises meanwhile is re-issued.)
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    pillow_dir = str(Path(Image.__file__).parent)
    for record in caught:
        if record.filename.startswith(pillow_dir):
            where = "EXIF/TIFF tags" if "TiffImagePlugin" in record.filename else "Pillow"
            note = f"{where} ({describe(Warning(str(record.message)))})"
            if note not in notes:
                notes.append(note)
        else:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)


def warn_ignored(source: Path, notes: list[str], *, stacklevel: int = 3) -> None:
    """Issue one :class:`ImageMetadataWarning` line naming ``source`` and what was ignored."""
    if not notes:
        return
    shown = notes[:4] + ([f"{len(notes) - 4} more"] if len(notes) > 4 else [])
    message = f"{source}: ignored broken metadata: {'; '.join(shown)}; pixels read"
    warnings.warn(message, ImageMetadataWarning, stacklevel=stacklevel)
