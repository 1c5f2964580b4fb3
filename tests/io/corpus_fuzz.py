"""Fuzzing ``read_image`` with mutated corpus files: seeds, mutations and the property.

The property: whatever the bytes, ``read_image`` returns a decoded image or raises
``ImageReadError`` whose message is one line naming the file; no other exception, no hang,
and decoded images never exceed the pixel limit. The seeds are the files of
``tests/badfiles.py`` and ``tests/io/corpus.py``; a mutation is a small typed record, so the
in-suite Hypothesis test and ``scripts/fuzz_read.py`` (seeded ``random.Random``) share them.
"""

from __future__ import annotations

import io
import random
import re
import struct
import tempfile
import traceback
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from daguerre.errors import ImageReadError
from daguerre.io import read_image
from daguerre.io._codecs import heif_support
from tests import badfiles
from tests.io import corpus
from tests.io import corpus_parts as parts

KINDS = (
    "flip", "byte", "int16", "int32", "delete", "duplicate", "insert", "truncate", "splice",
    "segment", "fix_png_crc",
)  # fmt: skip
INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)
MAX_BYTES = 1 << 18  # mutated files stay under 256 KiB
FUZZ_MAX_PIXELS = 4_000_000  # the pixel limit fuzzed reads run under


@dataclass(frozen=True)
class Mutation:
    """One edit: ``kind`` at relative position ``at`` (0..1), with ``value`` and ``length``."""

    kind: str
    at: float
    value: int
    length: int


def random_mutations(rng: random.Random, count: int) -> list[Mutation]:
    """``count`` mutations drawn from ``rng`` (the script's source of randomness)."""
    return [
        Mutation(
            kind=rng.choice(KINDS),
            at=rng.random(),
            value=rng.choice(INTERESTING) if rng.random() < 0.5 else rng.getrandbits(32),
            length=rng.choice((1, 2, 4, 8, 16, 64, 512)),
        )
        for _ in range(count)
    ]


def mutate(data: bytes, mutations: list[Mutation], other: bytes = b"") -> bytes:
    """Apply ``mutations`` in order; ``other`` is spliced in by ``"splice"``."""
    for mutation in mutations:
        data = _apply(data, mutation, other)[:MAX_BYTES]
    return data


def _apply(data: bytes, mutation: Mutation, other: bytes) -> bytes:
    size = len(data)
    at = min(int(mutation.at * size), max(size - 1, 0))
    kind, value, length = mutation.kind, mutation.value, mutation.length
    if kind == "flip" and size:
        return data[:at] + bytes([data[at] ^ (1 << (value % 8))]) + data[at + 1 :]
    if kind == "byte" and size:
        return data[:at] + bytes([value & 0xFF]) + data[at + 1 :]
    if kind in ("int16", "int32"):
        width = 2 if kind == "int16" else 4
        packed = struct.pack(">I", value & 0xFFFFFFFF)[-width:]
        packed = packed[::-1] if value & 1 else packed  # both byte orders (TIFF is either)
        return data[:at] + packed + data[at + width :]
    if kind == "delete":
        return data[:at] + data[at + length :]
    if kind == "duplicate":
        return data[: at + length] + data[at : at + length] + data[at + length :]
    if kind == "insert":
        return data[:at] + random.Random(value).randbytes(length) + data[at:]
    if kind == "truncate":
        return data[: max(at, 1)]
    if kind == "splice" and other:
        cut = int(mutation.at * len(other))
        return data[:at] + other[cut : cut + length * 8]
    if kind == "segment":
        return _insert_segment(data, value, length)
    if kind == "fix_png_crc":
        return fix_png_crcs(data)
    return data


_TIFF_HEADERS = (b"II*\x00\x08\x00\x00\x00", b"MM\x00*\x00\x00\x00\x08", b"")


def _insert_segment(data: bytes, value: int, length: int) -> bytes:
    """A random metadata block where readers parse metadata: JPEG APPn, PNG ancillary chunk.

    EXIF blocks mostly start with a valid TIFF header, so the IFD parser gets exercised.
    """
    rng = random.Random(value)
    payload = _TIFF_HEADERS[value % 3] + rng.randbytes(length)
    if data.startswith(b"\xff\xd8"):
        prefixes = (b"Exif\x00\x00", b"ICC_PROFILE\x00\x01\x01", b"Photoshop 3.0\x008BIM", b"")
        marker = (0xE1, 0xE2, 0xED, 0xE0 + value % 16)[value % 4]
        body = prefixes[value % 4] + payload
        return data[:2] + parts.jpeg_segment(marker, body[:65000]) + data[2:]
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 33:
        kinds = (b"eXIf", b"iCCP", b"tEXt", b"zTXt", b"iTXt", b"pHYs", b"sBIT", b"tRNS")
        return parts.png_with_chunks(data, parts.png_chunk(kinds[value % 8], payload))
    return data


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute every PNG chunk CRC, so mutations reach past the CRC checks."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, position = bytearray(data[:8]), 8
    while position + 12 <= len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        end = position + 12 + length
        if end > len(data):
            break
        body = data[position + 4 : end - 4]
        out += data[position : end - 4] + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        position = end
    return bytes(out + data[position:])


def seeds() -> dict[str, bytes]:
    """``{name: bytes}`` of every corpus file that decodes (mutating garbage finds little)."""
    with tempfile.TemporaryDirectory() as folder:
        files = badfiles.make_corpus(Path(folder) / "bad")
        found = {f"badfiles/{key}": files[key].read_bytes() for key in badfiles.GOOD_KEYS}
        real = corpus.make_realworld(Path(folder) / "real", list(corpus.READABLE))
        found.update({f"realworld/{key}": path.read_bytes() for key, path in real.items()})
    return found


def check_read(path: Path, *, max_pixels: int = FUZZ_MAX_PIXELS) -> str:
    """Read ``path`` and hold the property; return the outcome (``"ok PNG"``, ``"refused ..."``).

    Raises:
        AssertionError: An ``ImageReadError`` that does not name the file in one line, or an
            image over the pixel limit. Any other exception propagates: that is a finding.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loaded = read_image(path, max_pixels=max_pixels)
        except ImageReadError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ") and "\n" not in message, message
            return "refused " + re.sub(r"[0-9]+", "#", exc.reason)[:80]  # kinds, not numbers
    width, height = loaded.meta.size
    assert width * height <= max_pixels, (width, height)
    return f"ok {loaded.meta.format}"


# ---------------------------------------------------------------- findings


_PILLOW_DOCUMENTED = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    struct.error,
)


def raw_leak(data: bytes) -> str | None:
    """What raw Pillow leaks on ``data`` beyond its documented errors, as ``"Type at file:line"``.

    Open, count frames, decode, parse EXIF: the steps ``read_image`` takes, without its
    handling. Used to shrink a finding to the bytes that still make Pillow leak.
    """
    heif_support()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                getattr(image, "n_frames", 1)
                image.seek(0)
                image.load()
                image.getexif()
    except _PILLOW_DOCUMENTED:
        return None
    except Exception as exc:  # noqa: BLE001  # recording what leaks is the point
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
    return None


def minimize(data: bytes, keeps: Callable[[bytes], bool], *, budget: int = 3000) -> bytes:
    """Remove byte ranges (halves down to single bytes) while ``keeps(candidate)`` holds."""
    chunk = max(len(data) // 2, 1)
    while budget > 0:
        position, removed = 0, False
        while position < len(data) and budget > 0:
            candidate = data[:position] + data[position + chunk :]
            budget -= 1
            if candidate and keeps(candidate):
                data, removed = candidate, True
            else:
                position += chunk
        if chunk == 1 and not removed:
            break
        chunk = max(chunk // 2, 1) if not removed else chunk
    return data
