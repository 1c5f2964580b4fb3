"""``daguerre eval restore``: score the restoration model against the input and baselines.

Two modes, a thin shell over :mod:`daguerre.metrics.evaluate`:

* ``--clean DIR --preset NAME``: each clean photo is degraded with the preset (seeded from
  ``--seed`` and its file stem, as ``daguerre degrade`` does), then restored by two classical
  baselines (``baseline``: non-local means + unsharp mask; ``autolevels_median``: per-channel
  0.5/99.5 % auto-levels + 3x3 median) and by the model. PSNR / SSIM against the ground truth
  for the input, each baseline and the model; ``--fd`` adds a patch-level FD-MobileNetV2 (not
  FID). Besides the ageing presets, NAME may be an exam (``exam``, ``exam-scratches``,
  ``exam-bands``; :mod:`daguerre.metrics.exam`): damage written apart from our engine, never
  trained on, whose ground truth is the clean photo.
* ``--real DIR``: real old photos, no ground truth: NIQE before and after (lower is better).

Photos are first downscaled so their long side is at most ``--max-side`` (default 512), which
bounds the time; scores therefore describe that scale. NIQE needs 192 px per side, so smaller
photos are skipped with a note. Writes ``OUT/results.json``, ``OUT/results.csv`` and
``OUT/sheet.png`` (a labelled before/after sheet) and prints the tables on stdout.

Exit codes: 0 all scored (skips allowed), 1 some file failed, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from daguerre.cli.options import (
    DeviceOpt,
    EnsembleOpt,
    Fusion,
    FusionOpt,
    GradeOpt,
    KindAliasOpt,
    PhotoType,
    PhotoTypeOpt,
    QuietOpt,
    SeedOpt,
    TileOpt,
    photo_type_of,
    restore_usage_error,
)

if TYPE_CHECKING:
    from daguerre.cli.batch import Reporter
    from daguerre.metrics.evaluate import EvalTable, FDSettings, ImageEvent, RestoreMethod
    from daguerre.metrics.report import SheetRow
    from daguerre.pipelines.restore import RestoreOptions
    from daguerre.types import Tensor

eval_app = typer.Typer(help="Score models on your own photos.", no_args_is_help=True)

SHEET_WIDTH = 1600  # px
DEFAULT_SHEET_COUNT = {"paired": 6, "real": 12}
INPUT_LABEL = {"paired": "degraded", "real": "original (NIQE: lower is better)"}

CleanOpt = Annotated[
    Path | None,
    typer.Option(
        "--clean", help="Folder of clean photos: degrade, restore, compare with the original."
    ),
]
RealOpt = Annotated[
    Path | None,
    typer.Option("--real", help="Folder of real old photos (no ground truth): NIQE only."),
]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset",
        "-p",
        help="Degradation for --clean: a preset (`daguerre presets`) or an exam we never train"
        " on: `exam` (old-photo look), `exam-scratches` (scratches and dust) or `exam-bands`"
        " (wide bands to fill).",
    ),
]
ModelOpt = Annotated[
    str, typer.Option("--model", "-m", help="Shipped model name or a model folder.")
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", min=1, help="Use only the first N photos (sorted).")
]
MaxSideOpt = Annotated[
    int,
    typer.Option(
        "--max-side",
        min=0,
        help="Downscale so the long side is at most this (0 = full size). NIQE needs >= 192.",
    ),
]
SheetCountOpt = Annotated[
    int | None,
    typer.Option(
        "--sheet-count",
        min=0,
        help="Photos on sheet.png (default: 6 with --clean, 12 with --real).",
    ),
]
FdOpt = Annotated[
    bool,
    typer.Option(
        "--fd", help="Also compute patch-level FD-MobileNetV2 vs the clean set (--clean)."
    ),
]
ReportDirOpt = Annotated[
    Path,
    typer.Option(
        "--out", "-o", help="Report folder (created).", file_okay=False, show_default=False
    ),
]

# --- checks ---------------------------------------------------------------------------------


def _mode(
    clean: Path | None, real: Path | None, preset: str | None, fd: bool, max_side: int
) -> tuple[str, Path]:
    """``("paired" | "real", folder)``; usage errors raise ``typer.BadParameter`` (exit 2)."""
    from daguerre.metrics.niqe import MIN_SIDE

    if (clean is None) == (real is None):
        raise typer.BadParameter("give exactly one of --clean DIR or --real DIR")
    if clean is not None and preset is None:
        raise typer.BadParameter("--clean needs a degradation preset", param_hint="'--preset'")
    if real is not None and (preset is not None or fd):
        raise typer.BadParameter("--preset and --fd apply to --clean only", param_hint="'--real'")
    if real is not None and 0 < max_side < MIN_SIDE:
        raise typer.BadParameter(f"NIQE needs >= {MIN_SIDE} px", param_hint="'--max-side'")
    folder = clean if clean is not None else real
    assert folder is not None
    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder")
    return ("paired" if clean is not None else "real"), folder


def _restore_options(
    model: str, tile: int, device: str, grade: str, photo_type: str, ensemble: int, fusion: str
) -> RestoreOptions:
    """The options of the model under test, loaded and checked (bad ones: usage errors)."""
    from daguerre.pipelines.restore import RestoreOptions, RestoreOptionsError, load_restorer

    try:  # loaded on the device the run uses, so the models are cached for it
        options = RestoreOptions(
            model=model, tile=tile, device=device, grade=grade, photo_type=photo_type,
            ensemble=ensemble, fusion=fusion,
        )  # fmt: skip
        load_restorer(options)
    except RestoreOptionsError as err:
        raise restore_usage_error(err) from None
    return options


def _fd_settings(enabled: bool) -> tuple[FDSettings | None, str]:
    """The backbone for --fd, or None with a one-line reason when it is off or missing."""
    if not enabled:
        return None, ""
    from daguerre.errors import CheckpointNotFoundError
    from daguerre.metrics.evaluate import FDSettings
    from daguerre.weights.backbone import load_backbone

    try:
        return FDSettings(backbone=load_backbone()), ""
    except CheckpointNotFoundError as err:
        first = str(err).splitlines()[0]
        return None, f"FD-MobileNetV2 skipped: ImageNet MobileNetV2 backbone not found ({first})"


# --- the run --------------------------------------------------------------------------------


class _Run:
    """Per-run state: reading files, reporting each image, keeping thumbnails for the sheet."""

    def __init__(self, reporter: Reporter, *, max_side: int, sheet_count: int) -> None:
        self.reporter = reporter
        self.max_side = max_side
        self.sheet_count = sheet_count
        self.paths: dict[str, Path] = {}
        self.read_failed: list[tuple[str, str]] = []
        self.thumbs: list[tuple[str, dict[str, Tensor]]] = []

    def images(self, paths: list[Path]) -> Iterator[tuple[str, Tensor]]:
        """Read and downscale each file; a bad file is reported and left out."""
        from daguerre.cli.batch import describe_error
        from daguerre.errors import DaguerreError
        from daguerre.io.image import read_image
        from daguerre.metrics.evaluate import fit_max_side

        for path in paths:
            key = path.stem if path.stem not in self.paths else path.name  # same stem, other ext
            self.paths[key] = path
            try:
                rgb = read_image(path).rgb
            except (DaguerreError, OSError, MemoryError) as err:
                self.read_failed.append((key, describe_error(err)))
                self.reporter.failed(path, describe_error(err))
                continue
            yield key, fit_max_side(rgb, self.max_side)

    def on_image(self, event: ImageEvent) -> None:
        """Report one finished image and keep its thumbnails while the sheet has room."""
        from daguerre.metrics.evaluate import fit_max_side

        path = self.paths.get(event.image, Path(event.image))
        if event.status == "failed":
            self.reporter.failed(path, event.detail)
        elif event.status == "skipped":
            self.reporter.skipped(path, event.detail)
        else:
            self.reporter.advance()
            if self.reporter.show_done and not self.reporter.quiet and event.row is not None:
                self.reporter.emit(f"ok: {path}: {_brief(event.row.scores)}")
            if len(self.thumbs) < self.sheet_count:
                small = {k: fit_max_side(v, 2 * SHEET_WIDTH // 4) for k, v in event.images.items()}
                self.thumbs.append((event.image, small))


def _brief(scores: Any) -> str:
    return ", ".join(
        f"{method} " + "/".join(f"{value:.3g}" for value in metrics.values())
        for method, metrics in scores.items()
    )


def _methods(options: RestoreOptions) -> dict[str, RestoreMethod]:
    """The two classical baselines and the model under test, by method name."""
    from daguerre.pipelines.baseline import autolevels_median, classical_restore
    from daguerre.pipelines.restore import restore_tensor

    return {
        "baseline": classical_restore,  # NLM + unsharp mask
        "autolevels_median": autolevels_median,
        "ours": lambda rgb: restore_tensor(rgb, options),
    }


def _collect(folder: Path, limit: int | None) -> tuple[list[Path], list[tuple[Path, str]]]:
    from daguerre.io.discover import collect_inputs

    paths, problems = collect_inputs([folder])
    if not paths and not problems:
        raise typer.BadParameter(f"no images found in {folder}")
    return (paths[:limit] if limit else paths), problems


# --- output ---------------------------------------------------------------------------------


def _sheet_rows(table: EvalTable, run: _Run) -> tuple[list[SheetRow], list[str]]:
    """Sheet rows (one per kept photo) and column headers, with per-cell score captions."""
    from daguerre.metrics.evaluate import GROUND_TRUTH
    from daguerre.metrics.report import SheetRow

    versions = list(table.methods) + ([GROUND_TRUTH] if table.kind == "paired" else [])
    rows_by_name = {row.image: row for row in table.rows}
    rows = []
    for name, thumbs in run.thumbs:
        row = rows_by_name[name]
        captions = tuple(_caption(row.scores.get(version, {})) for version in versions)
        title = f"{run.paths[name].name}  ({row.width}x{row.height})"
        rows.append(SheetRow(title, tuple(thumbs[v] for v in versions), captions))
    headers = [INPUT_LABEL[table.kind], *table.methods[1:]]
    return rows, headers + ([GROUND_TRUTH] if table.kind == "paired" else [])


def _caption(scores: Any) -> str:
    if "psnr" in scores:
        return f"PSNR {scores['psnr']:.2f} dB  SSIM {scores['ssim']:.3f}"
    if "niqe" in scores:
        return f"NIQE {scores['niqe']:.2f}"
    return "reference"


def _write_text(path: Path, text: str) -> None:
    """Write atomically: a hidden temporary file next to ``path``, then rename."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _write_reports(table: EvalTable, run: _Run, out_dir: Path) -> list[Path]:
    from daguerre.io.image import write_image
    from daguerre.metrics.report import render_sheet

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json", out_dir / "results.csv"]
    _write_text(written[0], table.to_json())
    _write_text(written[1], table.to_csv())
    rows, headers = _sheet_rows(table, run)
    if rows:
        written.append(
            write_image(out_dir / "sheet.png", render_sheet(rows, headers, width=SHEET_WIDTH))
        )
    return written


def _print_tables(table: EvalTable) -> None:
    """Per-image scores, then the means, as Rich tables on stdout."""
    from rich.console import Console
    from rich.table import Table

    from daguerre.metrics.evaluate import FD_METRIC, HIGHER_IS_BETTER

    console = Console(width=None if sys.stdout.isatty() else 120)
    arrow = {True: "(higher is better)", False: "(lower is better)"}
    per_image = Table(title=f"Per image: {' / '.join(m.upper() for m in table.metrics)}")
    for column in ("image", "size", *table.methods):
        per_image.add_column(column, justify="left" if column == "image" else "right")
    for row in table.rows:
        cells = [" / ".join(f"{v:.3f}" for v in row.scores[m].values()) for m in table.methods]
        per_image.add_row(row.image, f"{row.width}x{row.height}", *cells)
    summary = Table(title=f"Mean over {len(table.rows)} image(s)")
    summary.add_column("method")
    names = {"psnr": "PSNR dB", "ssim": "SSIM", "niqe": "NIQE", FD_METRIC: "FD-MobileNetV2"}
    metrics = [*table.metrics, *table.set_scores]
    for metric in metrics:
        summary.add_column(f"{names[metric]} {arrow[HIGHER_IS_BETTER[metric]]}", justify="right")
    summary.add_column(f"improved ({table.metrics[0].upper()})", justify="right")
    for method, entry in table.summary().items():
        values = [f"{entry[m]:.4g}" if m in entry else "-" for m in metrics]
        improved = f"{entry['improved']}/{entry['count']}" if "improved" in entry else "-"
        summary.add_row(method, *values, improved)
    if table.rows:
        console.print(per_image)
    console.print(summary)


def _finish(table: EvalTable, written: list[Path]) -> None:
    """Summary lines on stderr, then exit 1 if any file failed."""
    lines = [f"{len(table.rows)} scored, {len(table.skipped)} skipped, {len(table.failed)} failed"]
    lines += [f"note: {note}" for note in table.notes]
    lines += [f"wrote {', '.join(str(path) for path in written)}"]
    if table.failed:
        lines.append("failed:")
        lines += [f"  {name}: {' '.join(reason.split())}" for name, reason in table.failed]
    for line in lines:
        print(line, file=sys.stderr)
    raise typer.Exit(1 if table.failed else 0)


# --- the command ----------------------------------------------------------------------------


def restore(
    out_dir: ReportDirOpt,
    clean: CleanOpt = None,
    real: RealOpt = None,
    preset: PresetOpt = None,
    model: ModelOpt = "restore",
    seed: SeedOpt = 0,
    limit: LimitOpt = None,
    max_side: MaxSideOpt = 512,
    sheet_count: SheetCountOpt = None,
    fd: FdOpt = False,
    tile: TileOpt = 512,
    grade: GradeOpt = "auto",
    photo_type: PhotoTypeOpt = PhotoType.auto,
    fusion: FusionOpt = Fusion.auto,
    ensemble: EnsembleOpt = 1,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    kind: KindAliasOpt = None,
) -> None:
    """Score the restoration model against the input and two classical baselines.

    --clean DIR --preset NAME: degrade, restore, compare PSNR/SSIM with the originals.

    NAME is a preset, or an exam we never train on (exam, exam-scratches, exam-bands).

    --real DIR: NIQE before/after, no ground truth (lower is better).

    Writes OUT/results.json, OUT/results.csv and OUT/sheet.png.
    """
    from daguerre.cli.batch import make_reporter
    from daguerre.errors import UnknownNameError
    from daguerre.metrics.evaluate import damage_for, evaluate_paired, evaluate_real

    mode, folder = _mode(clean, real, preset, fd, max_side)
    chosen = photo_type_of(photo_type, kind).value
    options = _restore_options(model, tile, device, grade, chosen, ensemble, fusion.value)
    methods = _methods(options)
    if mode == "paired":
        try:
            damage_for(str(preset))
        except UnknownNameError as err:
            raise typer.BadParameter(str(err), param_hint="'--preset'") from None
    paths, problems = _collect(folder, limit)
    fd_settings, fd_note = _fd_settings(fd)
    count = DEFAULT_SHEET_COUNT[mode] if sheet_count is None else sheet_count
    reporter = make_reporter("eval", quiet=quiet)
    run = _Run(reporter, max_side=max_side, sheet_count=count)
    reporter.start(len(paths) + len(problems))
    try:
        for path, reason in problems:
            run.read_failed.append((str(path), reason))
            reporter.failed(path, reason)
        if mode == "paired":
            table = evaluate_paired(
                run.images(paths),
                str(preset),
                methods,
                seed,
                fd=fd_settings,
                on_image=run.on_image,
            )
        else:
            table = evaluate_real(run.images(paths), methods, on_image=run.on_image)
    except KeyboardInterrupt:
        print("interrupted: no report written", file=sys.stderr)
        raise typer.Exit(130) from None
    finally:
        reporter.close()
    settings = {
        **table.settings,
        "model": model,
        "max_side": max_side,
        "folder": str(folder),
    }
    run_settings = {"limit": limit, "tile": tile, "grade": grade, "photo_type": chosen,
                    "ensemble": ensemble, "fusion": fusion.value}  # fmt: skip
    table = dataclasses.replace(
        table,
        failed=(*run.read_failed, *table.failed),
        notes=(*table.notes, *([fd_note] if fd_note else [])),
        settings=settings | run_settings,
    )
    _print_tables(table)
    _finish(table, _write_reports(table, run, out_dir))


def register(app: typer.Typer) -> None:
    """Add ``eval`` (with ``eval restore``) to the CLI."""
    eval_app.command("restore")(restore)
    app.add_typer(eval_app, name="eval")


__all__ = ["register", "restore"]
