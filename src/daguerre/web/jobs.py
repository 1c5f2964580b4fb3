"""What the web page does with uploaded photos, without any Gradio: check, process, write.

The Gradio layer (:mod:`daguerre.web.app`) hands over the temporary paths Gradio stored the
uploads at; :func:`run_job` checks each file (size, pixel count, decodability), runs one task
on it through the Python API, and writes the full-resolution result in the input's own format
(16-bit, alpha, gray and ICC kept, via :func:`daguerre.io.image.write_image`) into a fresh
per-request folder. Output names come from the sanitized upload stem, never from a path the
user chose. One bad file never stops the others: its one-line reason is reported instead.
The tasks themselves are built in :mod:`daguerre.web.restore_jobs`,
:mod:`daguerre.web.age_jobs` and :mod:`daguerre.web.stylize_jobs`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from daguerre.errors import DaguerreError, ImageReadError
from daguerre.io.image import LoadedImage, read_image, to_pil, write_image
from daguerre.io.meta import ImageMeta

logger = logging.getLogger(__name__)

__all__ = [
    "FileResult",
    "JobReport",
    "Progress",
    "Task",
    "WebSettings",
    "WorkDirs",
    "display_name",
    "output_extension",
    "read_upload",
    "run_job",
    "sanitize_stem",
]

Progress = Callable[[float, str], None]  # (fraction done in [0, 1], description)
Task = Callable[[LoadedImage, str, Callable[[float], None]], torch.Tensor]
"""(loaded image, output stem, per-file progress in [0, 1]) -> (3,H,W) float32 [0,1] result."""

DEFAULT_MAX_PIXELS = 25_000_000  # ~5000x5000; aging peaks near 20 float32 copies (~6 GB)
_EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}
_ALPHA_EXTENSIONS = frozenset({".png", ".tif", ".webp"})
_STEM_MAX = 60  # characters kept of an upload's stem


@dataclass(frozen=True)
class WebSettings:
    """Server-wide settings of the web app (from ``daguerre serve`` options).

    Args:
        model: shipped restoration model name or model folder.
        max_upload_mb: uploads larger than this many megabytes (10**6 bytes) are refused.
        max_pixels: images with more pixels are refused before decoding (bomb guard).
        tile: tile side for restoration, pixels (bounds memory on big scans).
        device: torch device for restoration ("auto", "cpu", "cuda", ...).
        preview_side: longest side, pixels, of the before/after previews shown in the page.
        scratch_model: the defect detector used when scratch removal is ticked.
    """

    model: str = "restore"
    max_upload_mb: float = 50.0
    max_pixels: int = DEFAULT_MAX_PIXELS
    tile: int = 512
    device: str = "auto"
    preview_side: int = 1024
    scratch_model: str = "scratch"

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0:
            raise ValueError(f"max_upload_mb must be positive, got {self.max_upload_mb}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")
        if self.preview_side < 16:
            raise ValueError(f"preview_side must be at least 16, got {self.preview_side}")

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * 1_000_000)


@dataclass(frozen=True)
class FileResult:
    """The outcome for one uploaded file.

    Attributes:
        name: the upload's file name as shown to the user (sanitized).
        output: the written full-resolution result, or ``None`` on failure.
        error: one-line reason of the failure, or ``None`` on success.
        before: preview of the input (8-bit RGB, at most ``preview_side``), on success.
        after: preview of the result, same size as ``before``, on success.
        size: ``(width, height)`` of input and output, on success.
    """

    name: str
    output: Path | None = None
    error: str | None = None
    before: Image.Image | None = None
    after: Image.Image | None = None
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class JobReport:
    """Every file's outcome for one request, in upload order, and the folder written to."""

    results: list[FileResult]
    workdir: Path

    @property
    def succeeded(self) -> list[FileResult]:
        """Results that were written."""
        return [r for r in self.results if r.output is not None]

    @property
    def errors(self) -> list[str]:
        """``"name: reason"`` lines of the failed files."""
        return [f"{r.name}: {r.error}" for r in self.results if r.error is not None]


# --- names and formats ----------------------------------------------------------------------


def sanitize_stem(name: str) -> str:
    """A safe output stem from an upload's file name: ASCII letters, digits, ``-`` and ``_``.

    Example:
        >>> sanitize_stem("../../étè photo (1).JPG")
        'ete_photo_1'
        >>> sanitize_stem("...")
        'image'
    """
    stem = Path(name.replace("\\", "/")).stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_stem).strip("_-.")
    return cleaned[:_STEM_MAX] or "image"


def output_extension(loaded: LoadedImage) -> str:
    """The input's own format as an extension; ``.png`` when that format cannot hold alpha.

    Example:
        >>> from daguerre.io.meta import ImageMeta
        >>> meta = ImageMeta(path=None, format="JPEG", mode="RGB", bit_depth=8,
        ...                  has_alpha=False, is_gray=False, size=(4, 4))
        >>> output_extension(LoadedImage(torch.zeros(3, 4, 4), None, meta))
        '.jpg'
    """
    extension = _EXTENSIONS.get(loaded.meta.format.upper(), ".png")
    if loaded.alpha is not None and extension not in _ALPHA_EXTENSIONS:
        return ".png"
    return extension


def display_name(path: Path) -> str:
    """The upload's name for messages: printable characters only, length-capped."""
    name = "".join(ch for ch in path.name if ch.isprintable())
    return (name[:80] + "...") if len(name) > 80 else name or "upload"


def _unique(stem: str, used: set[str]) -> str:
    candidate, index = stem, 2
    while candidate in used:
        candidate, index = f"{stem}_{index}", index + 1
    used.add(candidate)
    return candidate


# --- processing -----------------------------------------------------------------------------


def read_upload(path: str | Path, settings: WebSettings) -> LoadedImage:
    """Decode one upload within the page's limits (file size, pixel count).

    Raises:
        ImageReadError: over a limit, or not a readable image (one-line ``reason``).
    """
    _check_size(Path(path), settings)
    return read_image(path, max_pixels=settings.max_pixels)


def _check_size(path: Path, settings: WebSettings) -> None:
    size = path.stat().st_size if path.is_file() else 0
    if size > settings.max_upload_bytes:
        raise ImageReadError(
            path,
            f"file is {size / 1e6:.3g} MB, over the upload limit of {settings.max_upload_mb:g} MB",
        )


def _preview(rgb: torch.Tensor, side: int) -> Image.Image:
    """(3,H,W) float [0,1] -> 8-bit RGB Pillow image whose longest side is at most ``side``."""
    height, width = rgb.shape[-2:]
    scale = side / max(height, width)
    if scale < 1.0:
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        rgb = F.interpolate(rgb[None], size=size, mode="bilinear", antialias=True)[0]
    return to_pil(rgb.clamp(0.0, 1.0))


def _written_meta(loaded: LoadedImage, result: torch.Tensor, recolour_gray: bool) -> ImageMeta:
    """The metadata to write ``result`` with: the upload's, or RGB for a recoloured gray upload.

    With ``recolour_gray``, a gray upload whose result has colour is written as RGB, without
    its gray ICC profile (as ``daguerre stylize`` does); other metadata is kept.
    """
    from daguerre.pipelines.convert import looks_gray

    if recolour_gray and loaded.meta.is_gray and not bool(looks_gray(result)):
        return dataclasses.replace(loaded.meta, is_gray=False, icc_profile=None)
    return loaded.meta


def _process_one(
    path: Path,
    task: Task,
    settings: WebSettings,
    out: tuple[Path, str, set[str], bool],
    progress: Callable[[float], None],
) -> FileResult:
    """Check, read, process and write one upload; a user-caused failure becomes ``error``."""
    workdir, suffix, used, recolour_gray = out
    name = display_name(path)
    try:
        loaded = read_upload(path, settings)
        stem = _unique(sanitize_stem(path.name), used)
        result = task(loaded, stem, progress)
        target = workdir / f"{stem}_{suffix}{output_extension(loaded)}"
        meta = _written_meta(loaded, result, recolour_gray)
        write_image(target, result, alpha=loaded.alpha, meta=meta)
    except ImageReadError as err:  # includes DecompressionBombError
        return FileResult(name=name, error=err.reason)
    except DaguerreError as err:
        return FileResult(name=name, error=str(err))
    except MemoryError:
        return FileResult(name=name, error="not enough memory for this image; try a smaller one")
    side = settings.preview_side
    return FileResult(
        name=name,
        output=target,
        before=_preview(loaded.rgb, side),
        after=_preview(result, side),
        size=loaded.meta.size,
    )


def run_job(
    paths: Sequence[str | Path],
    task: Task,
    settings: WebSettings,
    *,
    suffix: str,
    workdir: Path,
    progress: Progress | None = None,
    verb: str = "Processing",
    recolour_gray: bool = False,
) -> JobReport:
    """Run ``task`` on each uploaded file; write results to ``workdir``.

    Args:
        paths: the temporary files Gradio stored the uploads at (read only, never written).
        task: what to do with each image
            (:func:`~daguerre.web.restore_jobs.restore_task`,
            :func:`~daguerre.web.age_jobs.age_task`,
            :func:`~daguerre.web.stylize_jobs.stylize_task`).
        settings: limits and model.
        suffix: appended to each output stem, e.g. ``"restored"`` -> ``photo_restored.jpg``.
        workdir: existing empty folder for this request's outputs.
        progress: called with ``(fraction, description)`` as files and tiles complete.
        verb: first word of the progress description, e.g. ``"Restoring"``.
        recolour_gray: write a gray upload whose result has colour in colour (8/16-bit RGB,
            no ICC profile) instead of gray; for styles, which paint gray photos in colour.

    Returns:
        One :class:`FileResult` per path, in order.
    """
    used: set[str] = set()
    results: list[FileResult] = []
    total = max(len(paths), 1)
    for index, raw in enumerate(paths):
        path = Path(raw)
        label = f"{verb} {display_name(path)} ({index + 1}/{len(paths)})"

        def file_progress(fraction: float, index: int = index, label: str = label) -> None:
            if progress is not None:
                progress((index + min(max(fraction, 0.0), 1.0)) / total, label)

        file_progress(0.0)
        out = (workdir, suffix, used, recolour_gray)
        results.append(_process_one(path, task, settings, out, file_progress))
    if progress is not None:
        progress(1.0, "done")
    return JobReport(results=results, workdir=workdir)


# --- temporary folders ----------------------------------------------------------------------


class WorkDirs:
    """Per-request output folders under one private root, removed after use.

    Each request gets ``new()``; the page removes it with ``remove()`` once the response
    was delivered (Gradio has copied the outputs into its own cache by then). Folders of
    requests whose page never asked (API clients, closed tabs) are swept when older than
    ``max_age_s``; ``close()`` removes everything.
    """

    def __init__(self, *, max_age_s: float = 600.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="daguerre-web-"))
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        logger.info("temporary outputs under %s (removed after use and on exit)", self.root)

    def new(self) -> Path:
        """A fresh empty folder for one request (also sweeps stale ones)."""
        self.sweep()
        return Path(tempfile.mkdtemp(prefix="job-", dir=self.root))

    def remove(self, folder: str | Path | None) -> None:
        """Remove one request folder; ignores folders outside the root (never user paths)."""
        if not folder:
            return
        path = Path(folder).resolve()
        if path.parent != self.root.resolve() or not path.name.startswith("job-"):
            logger.warning("refusing to remove %s: not a request folder", path)
            return
        shutil.rmtree(path, ignore_errors=True)

    def sweep(self) -> None:
        """Remove request folders older than ``max_age_s``."""
        cutoff = time.time() - self.max_age_s
        with self._lock:
            for folder in self.root.glob("job-*"):
                try:
                    stale = folder.stat().st_mtime < cutoff
                except FileNotFoundError:
                    continue
                if stale:
                    shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        """Remove the root and everything under it."""
        shutil.rmtree(self.root, ignore_errors=True)
