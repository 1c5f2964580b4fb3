"""Byte-level repair of files that Pillow refuses to open because of their metadata alone.

Pillow parses JPEG APPn segments and PNG ancillary chunks while it opens a file, and some
damage there makes it refuse the whole file: a Photoshop APP13 block that ends inside a
resource, a ``tEXt`` chunk with a bad CRC (libpng only warns), an ``iCCP`` chunk with an
unknown compression method; and libavif refuses an AVIF whose EXIF item is not a TIFF block
("Invalid Exif payload"). :func:`repairs` yields copies of the file with such metadata left
out (in HEIF/AVIF the EXIF item is hidden by renaming its item type), gentlest first;
``read_image`` opens the first copy Pillow accepts and names what was left out.
Pixel-carrying parts (JPEG tables, frame and scan headers, entropy-coded data; PNG critical
chunks and ``tRNS``; HEIF/AVIF image items) are always kept byte for byte, so a file whose
pixel data is broken stays broken and is still refused.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import TypeVar

_Kind = TypeVar("_Kind", str, bytes)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"
# JPEG segments that carry only metadata: APP1-APP13, APP15, COM. APP0 (JFIF) and APP14
# (Adobe: says whether 3/4 channels are YCbCr/YCCK or RGB/CMYK) affect the pixels.
_JPEG_METADATA = frozenset({*range(0xE1, 0xEE), 0xEF, 0xFE})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: no length field
# PNG ancillary chunks that affect the pixels (transparency, APNG frames) are kept.
_PNG_KEEP = frozenset({b"tRNS", b"acTL", b"fcTL", b"fdAT"})
_MAX_SINGLES = 4  # kinds tried one at a time before all at once: each try is one header parse


def repairs(data: bytes) -> Iterator[tuple[bytes, list[str]]]:
    r"""Copies of a JPEG or PNG file with metadata left out, gentlest first.

    Args:
        data: The whole file.

    Yields:
        ``(repaired_bytes, what_was_left_out)``; nothing for other formats, for files
        whose structure cannot be walked, or when there is no metadata to leave out.

    Example:
        >>> jpeg = b"\xff\xd8" + b"\xff\xfe\x00\x04hi" + b"\xff\xda\x00\x02scan\xff\xd9"
        >>> [(len(copy), left_out) for copy, left_out in repairs(jpeg)]
        [(12, ['comment (unreadable)'])]
    """
    if data.startswith(_JPEG_SOI):
        yield from _jpeg_repairs(data)
    elif data.startswith(PNG_SIGNATURE):
        yield from _png_repairs(data)
    elif data[4:8] == b"ftyp":
        yield from _bmff_repairs(data)


def _groups(kinds: list[_Kind]) -> list[list[_Kind]]:
    """Each kind alone (the first few), then all together: gentlest first, bounded tries."""
    singles = [[kind] for kind in kinds[:_MAX_SINGLES]]
    return singles + ([kinds] if len(kinds) > 1 else [])


# ---------------------------------------------------------------- JPEG


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]] | None:
    """``[(marker, segment_bytes), ...]`` up to and including the first scan (rest of file).

    ``None`` when a segment length runs past the end or bytes between segments are not a
    marker: such a header cannot be cut safely.
    """
    segments: list[tuple[int, bytes]] = [(0xD8, data[:2])]
    position = 2
    while position + 2 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            segments.append((marker, data[position : position + 2]))
            position += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: keep the rest as is
            segments.append((marker, data[position:]))
            return segments
        if position + 4 > len(data):
            return None
        end = position + 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
        if end > len(data) or end < position + 4:
            return None
        segments.append((marker, data[position:end]))
        position = end
    return None


def _jpeg_kind(marker: int, segment: bytes) -> str:
    """What a metadata segment holds, in the words a user knows."""
    payload = segment[4:]
    known = (
        (0xE1, b"Exif", "EXIF"),
        (0xE1, b"http://ns.adobe.com/", "XMP"),
        (0xE2, b"ICC_PROFILE", "ICC profile"),
        (0xE2, b"MPF", "MPO index"),
        (0xED, b"Photoshop", "Photoshop/IPTC block"),
    )
    for kind_marker, prefix, name in known:
        if marker == kind_marker and payload.startswith(prefix):
            return name
    return "comment" if marker == 0xFE else f"APP{marker - 0xE0} block"


def _jpeg_repairs(data: bytes) -> Iterator[tuple[bytes, list[str]]]:
    """Leave out one kind of metadata segment at a time, then all of them."""
    segments = _jpeg_segments(data)
    if segments is None:
        return
    kinds = [
        _jpeg_kind(marker, segment) if marker in _JPEG_METADATA else None
        for marker, segment in segments
    ]
    present = list(dict.fromkeys(kind for kind in kinds if kind is not None))
    if not present:
        return
    for drop in _groups(present):
        kept = (
            segment for (_, segment), kind in zip(segments, kinds, strict=True) if kind not in drop
        )
        yield b"".join(kept), [f"{kind} (unreadable)" for kind in drop]


# ---------------------------------------------------------------- PNG


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, bool]] | None:
    """``[(type, chunk_bytes, crc_ok), ...]`` after the signature, up to IEND (rest kept).

    ``None`` when a chunk length runs past the end of the file.
    """
    chunks: list[tuple[bytes, bytes, bool]] = []
    position = len(PNG_SIGNATURE)
    while position + 12 <= len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        end = position + 12 + length
        if end > len(data):
            return None
        kind = data[position + 4 : position + 8]
        body = data[position + 4 : end - 4]
        crc_ok = zlib.crc32(body) & 0xFFFFFFFF == struct.unpack(">I", data[end - 4 : end])[0]
        if kind == b"IEND":
            chunks.append((kind, data[position:], crc_ok))
            return chunks
        chunks.append((kind, data[position:end], crc_ok))
        position = end
    return chunks or None


def _png_droppable(kind: bytes) -> bool:
    """Ancillary (lower-case first letter) and not one that changes the pixels."""
    return bool(kind[:1].islower()) and kind not in _PNG_KEEP


def _png_repairs(data: bytes) -> Iterator[tuple[bytes, list[str]]]:
    """Leave out ancillary chunks with a bad CRC first, then each metadata kind, then all."""
    chunks = _png_chunks(data)
    if chunks is None:
        return

    def without(drop: set[bytes], *, bad_crc_only: bool) -> bytes:
        kept = [
            chunk for kind, chunk, crc_ok in chunks if kind not in drop or (bad_crc_only and crc_ok)
        ]
        return PNG_SIGNATURE + b"".join(kept)

    bad = {kind for kind, _, crc_ok in chunks if not crc_ok and _png_droppable(kind)}
    if bad:
        names = [f"PNG {kind.decode('latin-1')} chunk (bad CRC)" for kind in sorted(bad)]
        yield without(bad, bad_crc_only=True), names
    present = list(dict.fromkeys(kind for kind, _, _ in chunks if _png_droppable(kind)))
    for drop in map(set, _groups(present)):
        names = [f"PNG {kind.decode('latin-1')} chunk (unreadable)" for kind in sorted(drop)]
        yield without(drop, bad_crc_only=False), names


# ---------------------------------------------------------------- HEIF / AVIF (ISO-BMFF)


def _bmff_repairs(data: bytes) -> Iterator[tuple[bytes, list[str]]]:
    """Hide the EXIF items: rename their type in each ``infe`` box (ISO/IEC 23008-12).

    An ``infe`` box (version 2 or 3) holds ``item_ID`` (2 or 4 bytes), a 2-byte protection
    index, then the 4-byte item type; a decoder skips items of a type it does not know.
    """
    repaired = bytearray(data)
    found = False
    start = data.find(b"infe")
    while start >= 4:
        version = data[start + 4] if start + 4 < len(data) else -1
        if version in (2, 3):
            kind_at = start + 8 + (2 if version == 2 else 4) + 2
            if data[kind_at : kind_at + 4] == b"Exif":
                repaired[kind_at : kind_at + 4] = b"Exi_"  # unknown type: ignored
                found = True
        start = data.find(b"infe", start + 4)
    if found:
        yield bytes(repaired), ["EXIF item (unreadable)"]
