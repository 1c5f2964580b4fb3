"""Batch machinery shared by the file commands (degrade, restore, stylize, detect): ``run_batch``.

Per run: collect the inputs (files and folders), plan one output per input (the stem, plus the
sub-folder for recursive walks), refuse collisions and outputs that would replace an input, keep
``plan[rank::world]`` when sharded, then per file read -> ``process`` -> write atomically and
report one line. A bad file (``DaguerreError``, ``OSError``, ``MemoryError``) fails alone; any
other exception is a bug and propagates. Ctrl-C stops the loop and returns what finished.
Existing outputs are overwritten unless ``skip_existing``; inputs never are, and no path is
written twice in one run.

Folder files that are not read (unknown extension, missing decoder) are reported as skipped
with the reason, so nothing in a given folder is left out silently.

Reporting (progress lines, the summary, exit codes) lives in :mod:`daguerre.cli.report` and
is re-exported here.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from daguerre.cli.report import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UNREAD,
    BatchReport,
    Reporter,
    RichReporter,
    describe_error,
    error_line,
    exit_with,
    make_reporter,
    summary_lines,
)
from daguerre.errors import ConfigError, DaguerreError, ImageWriteError

if TYPE_CHECKING:
    from daguerre.io.image import LoadedImage
    from daguerre.types import Tensor

__all__ = [
    "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "BatchItem", "BatchReport", "ImageOutput",
    "Output", "Planned", "Process", "Reporter", "RichReporter", "TextOutput", "describe_error",
    "error_line", "exit_with", "make_reporter", "plan_outputs", "run_batch", "shard_from_env",
    "summary_lines",
]  # fmt: skip


# --- data types -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BatchItem:
    """One input file of a batch.

    Attributes:
        path: the input file.
        key: output name relative to the output folder, POSIX, no extension ("sub/photo").
            Stable across runs, so commands seed per-file randomness from it.
        output: the main output path ``OUT_DIR/<key>.<fmt>``.
        index: position in the whole (unsharded) plan.
    """

    path: Path
    key: str
    output: Path
    index: int


@dataclasses.dataclass(frozen=True)
class ImageOutput:
    """An image returned by a ``process`` callback.

    Attributes:
        rgb: ``(3,H,W)`` float32 in [0,1]; ``(1,H,W)`` for a mask (written as 8-bit gray PNG).
        alpha: ``(1,H,W)`` float32 in [0,1], or None.
        suffix: appended to the stem: "" for the main output, "_mask" for a mask.
        fmt: extension override (e.g. "png" for masks); None uses the batch format.
        keep_meta: write with the input's metadata (bit depth, gray, ICC); False for masks.
    """

    rgb: Tensor
    alpha: Tensor | None = None
    suffix: str = ""
    fmt: str | None = None
    keep_meta: bool = True


@dataclasses.dataclass(frozen=True)
class TextOutput:
    """A text sidecar returned by a ``process`` callback, written to ``<key><suffix>.<ext>``."""

    text: str
    suffix: str
    ext: str = "json"


Output = ImageOutput | TextOutput
Process = Callable[[BatchItem, "LoadedImage"], Sequence[Output]]


@dataclasses.dataclass(frozen=True)
class Planned:
    """A planned input; ``error`` (collision, would overwrite an input) refuses it."""

    item: BatchItem
    error: str | None = None


# --- sharding -------------------------------------------------------------------------------


def shard_from_env(env: dict[str, str] | None = None) -> tuple[int, int] | None:
    """``(rank, world)`` from ``RANK``/``WORLD_SIZE`` (set by torchrun), or None if unset.

    Raises:
        ConfigError: the variables are not integers or ``not 0 <= rank < world``.

    Example:
        >>> shard_from_env({"RANK": "1", "WORLD_SIZE": "4"})
        (1, 4)
        >>> shard_from_env({}) is None
        True
    """
    env = dict(os.environ) if env is None else env
    if "WORLD_SIZE" not in env:
        return None
    try:
        rank, world = int(env.get("RANK", "0")), int(env["WORLD_SIZE"])
    except ValueError as err:
        raise ConfigError(f"RANK/WORLD_SIZE must be integers: {err}") from None
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"need 0 <= RANK < WORLD_SIZE, got RANK={rank} WORLD_SIZE={world}")
    return rank, world


# --- collect and plan -----------------------------------------------------------------------


@dataclasses.dataclass
class _Collected:
    """The inputs of a run: ``(path, walk_root)`` to process, failures, files not read."""

    sources: list[tuple[Path, Path | None]]
    problems: list[tuple[Path, str]]
    unread: list[tuple[Path, str]]


def _collect(inputs: Sequence[Path], out_dir: Path, *, recursive: bool) -> _Collected:
    """Input files as ``(path, walk_root)`` (root None for files named directly), failures.

    Also the files in the given folders that are not read. Files already inside ``out_dir``
    are left out of folder walks when ``out_dir`` lies inside the folder (so a second run
    does not take the first run's outputs as inputs).
    """
    from daguerre.io.discover import scan_inputs

    collected = _Collected([], [], [])
    seen: set[Path] = set()
    out_resolved = out_dir.resolve()
    for given in inputs:
        scan = scan_inputs([given], recursive=recursive)
        collected.problems.extend((Path(p), reason) for p, reason in scan.problems)
        root = given if given.is_dir() else None
        collected.unread += [
            (path, f"{UNREAD}{reason}")
            for path, reason in scan.unread
            if _first_time(path, root, seen, out_resolved)
        ]
        collected.sources += [
            (path, root) for path in scan.files if _first_time(path, root, seen, out_resolved)
        ]
    return collected


def _first_time(path: Path, root: Path | None, seen: set[Path], out_dir: Path) -> bool:
    """Not seen yet and not an earlier run's output inside the walked folder; marks it seen."""
    resolved = path.resolve()
    if resolved in seen or (root is not None and _inside(resolved, out_dir, root.resolve())):
        return False
    seen.add(resolved)
    return True


def _inside(path: Path, out_dir: Path, root: Path) -> bool:
    """Whether ``path`` is in ``out_dir`` and ``out_dir`` is strictly inside ``root``."""
    return out_dir != root and out_dir.is_relative_to(root) and path.is_relative_to(out_dir)


def _key(path: Path, root: Path | None, *, recursive: bool) -> str:
    if root is None or not recursive:
        return path.stem
    return (path.relative_to(root).parent / path.stem).as_posix()


def plan_outputs(
    sources: Sequence[tuple[Path, Path | None]], out_dir: Path, *, fmt: str, recursive: bool
) -> list[Planned]:
    """Give each ``(path, walk_root)`` its output and flag collisions and input overwrites.

    Returns:
        One entry per source, in order, with ``error`` set for the files to refuse.
    """
    input_ids = {_file_id(path) for path, _ in sources}
    owners: dict[Path, Path] = {}
    planned = []
    for index, (path, root) in enumerate(sources):
        key = _key(path, root, recursive=recursive)
        output = out_dir / f"{key}.{fmt}"
        item = BatchItem(path=path, key=key, output=output, index=index)
        owner = owners.setdefault(output.resolve(), path)
        error = None
        if _file_id(output) in input_ids:
            error = f"refusing to overwrite input file {output}"
        elif owner != path:
            error = f"output {output} collides with input {owner}"
        planned.append(Planned(item, error))
    return planned


def _file_id(path: Path) -> tuple[int, int] | Path:
    """Identity of a file: (device, inode) when it exists (sees links), else its resolved path."""
    try:
        stat = path.stat()
    except OSError:
        return path.resolve()
    return (stat.st_dev, stat.st_ino)


# --- writing --------------------------------------------------------------------------------


class _Writer:
    """Writes outputs atomically, never over an input nor twice to one path."""

    def __init__(self, input_ids: set[tuple[int, int] | Path], *, fmt: str, quality: int) -> None:
        self.input_ids = input_ids
        self.written: set[Path] = set()
        self.fmt = fmt
        self.quality = quality

    def write_all(
        self, item: BatchItem, loaded: LoadedImage, outputs: Sequence[Output]
    ) -> list[Path]:
        """Write every output of ``item`` (all are checked before any is written)."""
        paths = [self._path(item, output) for output in outputs]
        for path in paths:
            if _file_id(path) in self.input_ids:
                raise ImageWriteError(path, "refusing to overwrite an input file")
            if path.resolve() in self.written or paths.count(path) > 1:
                raise ImageWriteError(path, "already written by another input in this run")
        for path, output in zip(paths, outputs, strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(output, TextOutput):
                _write_text_atomic(path, output.text)
            else:
                self._write_image(path, loaded, output)
            self.written.add(path.resolve())
        return paths

    def _path(self, item: BatchItem, output: Output) -> Path:
        ext = output.ext if isinstance(output, TextOutput) else (output.fmt or self.fmt)
        return item.output.parent / f"{Path(item.key).name}{output.suffix}.{ext}"

    def _write_image(self, path: Path, loaded: LoadedImage, output: ImageOutput) -> None:
        from daguerre.io.image import write_image
        from daguerre.io.meta import ImageMeta

        rgb, bits = output.rgb, None
        meta: ImageMeta | None = loaded.meta
        if rgb.shape[0] == 1:  # a mask: 8-bit gray, no ICC/EXIF
            size = (rgb.shape[2], rgb.shape[1])
            meta = ImageMeta(None, "PNG", "L", 8, has_alpha=False, is_gray=True, size=size)
            rgb = rgb.expand(3, -1, -1)
        elif not output.keep_meta:
            meta, bits = None, 8
        write_image(path, rgb, alpha=output.alpha, meta=meta, bit_depth=bits, quality=self.quality)


def _write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a hidden temporary file next to ``path``, then rename it into place."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    created = False
    try:
        with open(temp, "x", encoding="utf-8") as stream:  # "x": never reuse an existing file
            created = True
            stream.write(text)
        os.replace(temp, path)
    except BaseException:
        if created:
            temp.unlink(missing_ok=True)
        raise


# --- the loop -------------------------------------------------------------------------------


def _process_one(
    item: BatchItem, process: Process, writer: _Writer, max_pixels: int | None, reporter: Reporter
) -> list[Path]:
    """Read, process and write one file; its Python warnings become one-line notes."""
    from daguerre.io.image import read_image

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = read_image(item.path, max_pixels=max_pixels)
        paths = writer.write_all(item, loaded, process(item, loaded))
    for warning in caught:
        reporter.warned(item.path, str(warning.message).removeprefix(f"{item.path}: "))
    return paths


def run_batch(
    inputs: Sequence[Path],
    out_dir: Path,
    process: Process,
    *,
    recursive: bool = False,
    fmt: str = "png",
    quality: int = 95,
    skip_existing: bool = False,
    quiet: bool = False,
    shard: tuple[int, int] | None = None,
    max_pixels: int | None = None,
    label: str = "processing",
    reporter: Reporter | None = None,
) -> BatchReport:
    """Run ``process`` over every input image and write its outputs under ``out_dir``.

    Args:
        inputs: files and/or folders.
        out_dir: output folder, created when there is something to write.
        process: ``(item, loaded) -> [ImageOutput | TextOutput, ...]``; ``loaded.rgb`` is
            ``(3,H,W)`` float32 in [0,1]. The main output has ``suffix=""``.
        recursive: walk sub-folders (their relative path is kept under ``out_dir``).
        fmt: extension of image outputs ("png", "jpg", "tiff", "webp", "bmp").
        quality: JPEG/WebP quality.
        skip_existing: skip inputs whose main output exists.
        quiet: report only errors.
        shard: ``(rank, world)``: process only ``plan[rank::world]``.
        max_pixels: decompression-bomb limit passed to ``read_image`` (None: its default).
        label: progress-bar label.
        reporter: overrides the default (Rich bar on a terminal, plain lines otherwise).

    Returns:
        The report; ``exit_with(report)`` prints the summary and exits. Files inside the
        given folders that are not read (unknown extension, missing decoder) are in
        ``report.skipped`` with a reason starting ``"not read: "``.

    Raises:
        typer.BadParameter: ``out_dir`` is a file, or the inputs hold no image at all.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise typer.BadParameter(f"{out_dir} is not a folder", param_hint="'--out'")
    collected = _collect(inputs, out_dir, recursive=recursive)
    sources, problems, unread = collected.sources, collected.problems, collected.unread
    if not sources and not problems:
        example = f"; not read: {unread[0][0].name} and {len(unread) - 1} more" if unread else ""
        raise typer.BadParameter(f"no images found{example}", param_hint="'INPUTS...'")
    planned = plan_outputs(sources, out_dir, fmt=fmt, recursive=recursive)
    if shard is not None:
        rank, world = shard
        planned = planned[rank::world]
        problems, unread = (problems, unread) if rank == 0 else ([], [])
    reporter = reporter or make_reporter(label, quiet=quiet)
    writer = _Writer({_file_id(path) for path, _ in sources}, fmt=fmt, quality=quality)
    report = BatchReport()
    reporter.start(len(planned) + len(problems) + len(unread))
    try:
        for path, reason in problems:
            report.failed.append((path, reason))
            reporter.failed(path, reason)
        for path, reason in unread:
            report.skipped.append((path, reason))
            reporter.skipped(path, reason)
        _loop(planned, process, writer, report, reporter, skip_existing, max_pixels)
    finally:
        reporter.close()
    return report


def _loop(
    planned: list[Planned],
    process: Process,
    writer: _Writer,
    report: BatchReport,
    reporter: Reporter,
    skip_existing: bool,
    max_pixels: int | None,
) -> None:
    """Process the planned files in order, recording each outcome; stops on Ctrl-C."""
    for position, entry in enumerate(planned):
        item = entry.item
        try:
            if entry.error is not None:
                raise ImageWriteError(item.output, entry.error)
            if skip_existing and item.output.exists():
                report.skipped.append((item.path, "output exists"))
                reporter.skipped(item.path, f"output exists ({item.output})")
                continue
            outputs = _process_one(item, process, writer, max_pixels, reporter)
        except KeyboardInterrupt:
            report.interrupted = True
            report.not_started = len(planned) - position
            return
        except (DaguerreError, OSError, MemoryError) as err:
            reason = entry.error if entry.error is not None else describe_error(err)
            report.failed.append((item.path, reason))
            reporter.failed(item.path, reason)
            continue
        report.done.append((item.path, outputs))
        reporter.done(item.path, outputs)
