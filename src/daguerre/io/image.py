"""Read and write image files as float32 RGB tensors in [0, 1].

Reading applies EXIF orientation, keeps the ICC profile, takes the bit depth from the
decoded data type (never from pixel values), splits alpha off, and turns gray, palette,
1-bit and CMYK/YCCK files into RGB. Pillow decodes everything except 16-bit colour PNG/TIFF,
which Pillow reduces to 8 bits; those go through OpenCV. HEIC/HEIF phone photos are read
through pillow-heif and AVIF through Pillow, when installed. Broken metadata never costs
the pixels: it is dropped with one :class:`~daguerre.io.meta.ImageMetadataWarning` line
naming the file and what was ignored. Writing is atomic: the file is encoded into a hidden
temporary file in the target folder and renamed over the target. ``uint8``/``uint16``
arrays exist only inside this module and its private helpers :mod:`daguerre.io._read`
(decode path), :mod:`daguerre.io._metadata` and :mod:`daguerre.io._repair` (broken
metadata), :mod:`daguerre.io._codecs` (decode routes, EXIF, encoders, atomic write) and
:mod:`daguerre.io._pixels` (arrays <-> tensors) (STYLE.md rule 4).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError, features
from torch import Tensor

from daguerre.errors import ConfigError, DecompressionBombError, ImageReadError, ImageWriteError
from daguerre.io import _metadata
from daguerre.io._codecs import (
    _atomic_write,
    _clean_exif,
    _orient_array,  # noqa: F401  # re-exported for tests and tools
    _png16_bytes,
    heif_support,
    sniff_format,
)
from daguerre.io._pixels import _pil_pixels, _to_pixels, _to_tensors
from daguerre.io._read import DECODE_ERRORS, HEADER_BYTES, decode_file
from daguerre.io.meta import ImageMeta

logger = logging.getLogger(__name__)

_HEIF = importlib.util.find_spec("pillow_heif") is not None  # found, not imported: it is heavy
_AVIF = bool(features.check_module("avif"))
_HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".mpo"}
    | (_HEIF_EXTENSIONS if _HEIF else set())
    | ({".avif"} if _AVIF else set())
)  # what read_image reads and folder walks take; decoders that are not installed are left out
_WRITE_FORMATS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
    ".webp": "WEBP", ".bmp": "BMP",
    **({".heic": "HEIF", ".heif": "HEIF"} if _HEIF else {}),
    **({".avif": "AVIF"} if _AVIF else {}),
}  # fmt: skip
WRITE_EXTENSIONS: frozenset[str] = frozenset(_WRITE_FORMATS)  # what write_image writes
DEFAULT_MAX_PIXELS = 200_000_000  # about 14000 x 14000; override with DAGUERRE_MAX_PIXELS
_ALPHA_FORMATS = frozenset({"PNG", "TIFF", "WEBP", "HEIF", "AVIF"})
_DEPTH16_FORMATS = frozenset({"PNG", "TIFF"})
_MISSING_DECODER = {
    "HEIF": "HEIC/HEIF photo, but pillow-heif is not installed (pip install pillow-heif)",
    "AVIF": "AVIF image, but this Pillow was built without AVIF support",
}


def unread_reason(path: Path) -> str | None:
    """Why a folder walk leaves ``path`` out (its extension), or ``None`` when it is read.

    Example:
        >>> unread_reason(Path("notes.txt")), unread_reason(Path("scan.GIF"))
        ("unknown extension '.txt'", None)
    """
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_EXTENSIONS:
        return None
    if suffix in _HEIF_EXTENSIONS:
        return "HEIC/HEIF needs pillow-heif (pip install pillow-heif)"
    if suffix == ".avif":
        return "AVIF needs a Pillow built with AVIF support"
    return f"unknown extension {suffix!r}" if suffix else "no file extension"


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image file.

    Attributes:
        rgb: (3, H, W) float32 in [0, 1]; gray files are repeated over the three channels.
        alpha: (1, H, W) float32 in [0, 1], or ``None`` when the file had no transparency.
        meta: What the file was (format, bit depth, gray, ICC, EXIF).
    """

    rgb: Tensor
    alpha: Tensor | None
    meta: ImageMeta


# ---------------------------------------------------------------- reading


def read_image(path: str | Path, *, max_pixels: int | None = None) -> LoadedImage:
    """Decode an image file into float32 RGB in [0, 1] plus its metadata.

    Broken or unreadable metadata (EXIF, ICC, XMP, Photoshop/IPTC blocks, PNG ancillary
    chunks with a bad CRC) never costs the pixels: what cannot be kept is dropped and one
    :class:`~daguerre.io.meta.ImageMetadataWarning` names the file and what was ignored.
    Multi-frame files (GIF, animated WebP, MPO, multi-page TIFF) give their first frame and
    a ``UserWarning``.

    Args:
        path: PNG (8/16-bit), JPEG (incl. CMYK/YCCK, progressive), TIFF (8/16-bit; first
            page only), WebP, BMP, GIF, MPO, HEIC/HEIF (with pillow-heif) or AVIF file.
        max_pixels: Refuse images with more pixels than this, checked from the header
            before decoding. Default: ``DAGUERRE_MAX_PIXELS`` or 200,000,000.

    Returns:
        rgb (3, H, W) and alpha (1, H, W) or ``None``, float32 in [0, 1], upright per EXIF.

    Raises:
        ImageReadError: Missing, empty, truncated, corrupt or non-image file; the message
            is one line naming the file.
        DecompressionBombError: The header claims more than ``max_pixels`` pixels.
        ConfigError: ``DAGUERRE_MAX_PIXELS`` is not a positive integer.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = write_image(Path(folder) / "a.png", torch.full((3, 4, 5), 0.5))
        ...     loaded = read_image(Path(folder) / "a.png")
        >>> loaded.rgb.shape, loaded.meta.size, loaded.meta.bit_depth
        (torch.Size([3, 4, 5]), (5, 4), 8)
    """
    source = Path(path)
    limit = _resolve_max_pixels(max_pixels)
    _check_readable(source)
    notes: list[str] = []
    try:
        decoded = decode_file(source, limit, notes)
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(source, f"{exc} (set DAGUERRE_MAX_PIXELS)") from exc
    except PermissionError as exc:
        raise ImageReadError(source, "permission denied") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(source, _unidentified_reason(source)) from exc
    except DECODE_ERRORS as exc:
        detail = _metadata.describe(exc)
        raise ImageReadError(source, f"corrupt or truncated image data ({detail})") from exc
    if decoded.frames != 1:
        count = f"{decoded.frames} pages/frames" if decoded.frames else "several frames"
        warnings.warn(f"{source}: {count}; only the first is read", stacklevel=2)
    _metadata.warn_ignored(source, notes, stacklevel=3)
    rgb, alpha = _to_tensors(decoded.pixels)
    return LoadedImage(rgb=rgb, alpha=alpha, meta=decoded.meta)


def _unidentified_reason(source: Path) -> str:
    """Why Pillow found no format: a missing decoder, a broken header, or not an image."""
    try:
        with source.open("rb") as handle:
            kind = sniff_format(handle.read(HEADER_BYTES))
    except OSError:
        kind = None
    if (kind == "HEIF" and not heif_support()) or (kind == "AVIF" and not _AVIF):
        return _MISSING_DECODER[kind]
    if kind is not None:
        return f"corrupt {kind} file (its header does not parse)"
    return "not an image file (unknown or corrupt format)"


def _resolve_max_pixels(max_pixels: int | None) -> int:
    """Pick the pixel limit: the argument, else ``DAGUERRE_MAX_PIXELS``, else the default."""
    if max_pixels is not None:
        if max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, got {max_pixels}")
        return max_pixels
    raw = os.environ.get("DAGUERRE_MAX_PIXELS")
    if raw is None or not raw.strip():
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"DAGUERRE_MAX_PIXELS must be a positive integer, got {raw!r}")
    return value


def _check_readable(source: Path) -> None:
    """Reject missing, non-regular and empty files with a one-line reason."""
    if not source.exists():
        raise ImageReadError(source, "no such file")
    if source.is_dir():
        raise ImageReadError(source, "is a folder, not an image file")
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise ImageReadError(source, f"cannot access file ({exc.strerror})") from exc
    if size == 0:
        raise ImageReadError(source, "file is empty (0 bytes)")


# ---------------------------------------------------------------- arrays and tensors


def from_pil(image: Image.Image) -> tuple[Tensor, Tensor | None]:
    """Convert a Pillow image of any common mode (no EXIF orientation applied).

    Args:
        image: Pillow image: 1, L, LA, I, I;16, P (transparency becomes alpha), RGB, RGBA, CMYK.

    Returns:
        rgb (3, H, W) and alpha (1, H, W) or ``None``, float32 in [0, 1].

    Example:
        >>> rgb, alpha = from_pil(Image.new("LA", (5, 4), (255, 0)))
        >>> rgb.shape, float(rgb.max()), alpha.shape, float(alpha.max())
        (torch.Size([3, 4, 5]), 1.0, torch.Size([1, 4, 5]), 0.0)
    """
    pixels, _ = _pil_pixels(image)
    return _to_tensors(pixels)


def to_pil(rgb: Tensor, alpha: Tensor | None = None) -> Image.Image:
    """Convert to an 8-bit Pillow image, ``RGB`` or ``RGBA``.

    Args:
        rgb: (3, H, W) float in [0, 1] (clamped), rounded with ``round(x * 255)``.
        alpha: Optional (1, H, W) or (H, W) float in [0, 1].

    Example:
        >>> to_pil(torch.ones(3, 4, 5), torch.zeros(1, 4, 5)).getpixel((0, 0))
        (255, 255, 255, 0)
    """
    return Image.fromarray(_to_pixels(rgb, alpha, bit_depth=8, gray=False))


def from_array(array: np.ndarray) -> Tensor:
    """Convert an RGB(A)/gray array (RGB order, not OpenCV's BGR) to a float32 tensor.

    Args:
        array: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) (alpha dropped); uint8 (/255),
            uint16 (/65535) or float already in [0, 1].

    Returns:
        (3, H, W) float32 in [0, 1].

    Raises:
        ValueError: Other shapes or dtypes, or float values outside [0, 1].

    Example:
        >>> from_array(np.full((4, 5), 65535, dtype=np.uint16)).shape
        torch.Size([3, 4, 5])
    """
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or 0 in array.shape:
        raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if array.dtype in (np.uint8, np.uint16):
        return _to_tensors(np.ascontiguousarray(array[:, :, :3]))[0]
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"expected uint8, uint16 or float, got {array.dtype}")
    values = torch.from_numpy(np.asarray(array[:, :, :3], dtype=np.float32)).permute(2, 0, 1)
    if not bool(((values >= 0) & (values <= 1)).all()):
        raise ValueError("float arrays must hold values in [0, 1]")
    return values.expand(3, -1, -1).contiguous()


# ---------------------------------------------------------------- writing


def write_image(
    path: str | Path,
    rgb: Tensor,
    *,
    alpha: Tensor | None = None,
    meta: ImageMeta | None = None,
    bit_depth: int | None = None,
    quality: int = 95,
) -> Path:
    """Write an image atomically; the format comes from the file extension.

    Args:
        path: Target ``.png``, ``.tif``/``.tiff`` (8 or 16 bit), ``.jpg``/``.jpeg``,
            ``.webp``, ``.bmp``, ``.heic``/``.heif`` (with pillow-heif) or ``.avif`` (8 bit).
            Missing parent folders are created.
        rgb: (3, H, W) float in [0, 1]; clamped, then ``round(x * 255)`` or
            ``round(x * 65535)``.
        alpha: Optional (1, H, W) float in [0, 1]; PNG, TIFF, WebP, HEIC and AVIF only.
        meta: Metadata of the source image: its ICC profile and EXIF are written where the
            format allows, a gray source is written gray (Rec. 601 luma), and its bit depth
            is the default (cut to 8 for formats without 16-bit support).
        bit_depth: 8 or 16; overrides ``meta``. Default: ``meta.bit_depth`` or 8.
        quality: JPEG/WebP/HEIC/AVIF quality, 1-100 (WebP 100 is lossless).

    Returns:
        The path written.

    Raises:
        ImageWriteError: Unknown extension, alpha or 16 bits asked of a format without them,
            or an I/O failure. The target is then left as it was and no temp file remains.
        ValueError: Bad tensor shapes, non-finite values, bit_depth or quality.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     written = write_image(Path(folder) / "b.png", torch.rand(3, 4, 5), bit_depth=16)
        ...     read_image(written).meta.bit_depth
        16
    """
    target = Path(path)
    fmt = _WRITE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        choices = ", ".join(sorted(_WRITE_FORMATS))
        raise ImageWriteError(target, f"unknown image extension {target.suffix!r}; use {choices}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    if fmt == "HEIF" and not heif_support():
        raise ImageWriteError(target, "writing HEIC needs pillow-heif (pip install pillow-heif)")
    depth = _resolve_bit_depth(target, fmt, bit_depth, meta)
    if alpha is not None and fmt not in _ALPHA_FORMATS:
        raise ImageWriteError(
            target, f"{fmt} cannot store an alpha channel; write .png, .tif or .webp instead"
        )
    pixels = _to_pixels(rgb, alpha, bit_depth=depth, gray=meta is not None and meta.is_gray)
    icc = meta.icc_profile if meta is not None else None
    exif = _clean_exif(meta.exif) if meta is not None else None

    def encode(handle: BinaryIO) -> None:
        _encode(handle, fmt, pixels, icc=icc, exif=exif, quality=quality)

    _atomic_write(target, encode)
    return target


def _resolve_bit_depth(
    target: Path, fmt: str, bit_depth: int | None, meta: ImageMeta | None
) -> int:
    if bit_depth is not None and bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    if bit_depth == 16 and fmt not in _DEPTH16_FORMATS:
        raise ImageWriteError(target, f"{fmt} supports only 8 bits; write .png or .tif for 16")
    depth = bit_depth or (meta.bit_depth if meta is not None else 8)
    if depth == 16 and fmt not in _DEPTH16_FORMATS:
        logger.info("%s: %s holds 8 bits only; writing 8-bit", target, fmt)
        return 8
    return depth


def _encode(
    handle: BinaryIO, fmt: str, pixels: np.ndarray, *, icc: bytes | None,
    exif: bytes | None, quality: int,
) -> None:  # fmt: skip
    """Encode (H, W, C) pixels into an open binary file."""
    channels, wide = pixels.shape[2], pixels.dtype == np.uint16
    if fmt == "PNG" and wide:
        handle.write(_png16_bytes(pixels, icc=icc, exif=exif))
        return
    if fmt == "TIFF" and wide and channels > 1:  # Pillow has no 16-bit colour modes
        if icc:
            logger.warning("16-bit colour TIFF is written without its ICC profile")
        if channels == 2:  # OpenCV writes 1, 3 or 4 channels
            pixels = pixels[:, :, [0, 0, 0, 1]]
        order = [2, 1, 0, 3][: pixels.shape[2]]
        ok, buffer = cv2.imencode(".tiff", np.ascontiguousarray(pixels[:, :, order]))
        if not ok:
            raise OSError("OpenCV could not encode the TIFF")
        handle.write(buffer.tobytes())
        return
    if fmt in ("WEBP", "HEIF", "AVIF") and channels <= 2:  # these store RGB(A) only
        pixels = pixels[:, :, [0, 0, 0, 1][: channels + 2]]
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    options: dict[str, object] = {"icc_profile": icc} if icc else {}
    if exif and fmt in ("JPEG", "PNG", "WEBP", "HEIF", "AVIF"):
        options["exif"] = exif
    if fmt in ("JPEG", "HEIF", "AVIF"):
        options["quality"] = quality
    elif fmt == "WEBP":
        options.update(quality=quality, lossless=quality == 100)
    elif fmt == "TIFF":
        options["compression"] = "tiff_deflate"
    elif fmt == "BMP":
        options.pop("icc_profile", None)
    image.save(handle, format=fmt, **options)
