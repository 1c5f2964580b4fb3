"""What a decoded image file looked like before it became a float32 RGB tensor.

:class:`ImageMeta` travels next to the pixels so :func:`daguerre.io.write_image` can write
the result back the way the input was: same bit depth, gray stays gray, ICC profile kept.
:class:`ImageMetadataWarning` is what :func:`daguerre.io.read_image` warns with when it reads
the pixels of a file but has to ignore some of its metadata (broken EXIF, ICC, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ImageMeta:
    """Facts about an image file, read from its header and its decoded data type.

    Attributes:
        path: File the image came from, or ``None`` for images built in memory.
        format: Container format as Pillow names it: ``"PNG"``, ``"JPEG"``, ``"TIFF"``,
            ``"WEBP"``, ``"BMP"``, ...
        mode: Original pixel mode: a Pillow mode (``"L"``, ``"I;16"``, ``"P"``, ``"CMYK"``,
            ``"RGBA"``, ...) or, for 16-bit colour files decoded by OpenCV, ``"RGB;16"``,
            ``"RGBA;16"`` or ``"LA;16"``.
        bit_depth: Bits per sample of the decoded data, 8 or 16. Taken from the data type,
            never guessed from pixel values (a dark 16-bit scan stays 16-bit).
        has_alpha: Whether the file carried transparency (alpha channel or palette/tRNS
            transparency).
        is_gray: Whether the file stored one colour channel (gray, gray+alpha, 1-bit).
        size: ``(width, height)`` in pixels after EXIF orientation was applied.
        icc_profile: Raw ICC profile bytes, or ``None``. ``None`` too for CMYK files,
            whose pixels are converted to RGB on read.
        exif: Raw EXIF bytes with the orientation tag removed (the pixels are already
            upright), or ``None``.

    Example:
        >>> meta = ImageMeta(path=None, format="PNG", mode="RGB", bit_depth=8,
        ...                  has_alpha=False, is_gray=False, size=(32, 24))
        >>> meta.size, meta.bit_depth
        ((32, 24), 8)
    """

    path: Path | None
    format: str
    mode: str
    bit_depth: int
    has_alpha: bool
    is_gray: bool
    size: tuple[int, int]
    icc_profile: bytes | None = field(default=None, repr=False)
    exif: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {self.bit_depth}")
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"size must be (width, height) with both >= 1, got {self.size}")


class ImageMetadataWarning(UserWarning):
    """A file's pixels were read, but some of its metadata was broken and ignored.

    The message is one line: ``"<path>: ignored broken metadata: <what> (<why>); ..."``.
    Archive scans often carry broken EXIF, ICC or Photoshop blocks around sound pixels;
    those never cost the pixels (filter this category to silence the notes).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warnings.warn("a.jpg: ignored broken metadata: EXIF", ImageMetadataWarning)
        >>> caught[0].category.__name__
        'ImageMetadataWarning'
    """
