"""``daguerre detect``: find scratches, dust and tears; write one defect mask per photo.

Masks are 8-bit gray PNGs at the photo's pixel size, white = damaged: the same format that
``daguerre restore --scratches MASK_OR_FOLDER`` reads, so a mask can be touched up by hand in
between. ``--overlay`` also writes the mask tinted red over the photo, for a quick check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from daguerre.cli.options import (
    DeviceOpt,
    InputsArg,
    OutDirOpt,
    OverlapOpt,
    Precision,
    PrecisionOpt,
    QuietOpt,
    RecursiveOpt,
    SkipExistingOpt,
    TileOpt,
)

if TYPE_CHECKING:
    from daguerre.cli.batch import BatchItem, Output, Process
    from daguerre.io.image import LoadedImage
    from daguerre.pipelines.scratches import DetectOptions
    from daguerre.types import Tensor

ThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        min=0.0,
        max=1.0,
        help="Damage probability above which a pixel is marked (default: the detector's "
        "calibrated threshold).",
    ),
]
DilateOpt = Annotated[
    int,
    typer.Option("--dilate", min=0, help="Grow the mask by this many pixels (covers soft edges)."),
]
OverlayOpt = Annotated[
    bool,
    typer.Option("--overlay", help="Also write <stem>_overlay.png: the mask in red on the photo."),
]
ModelOpt = Annotated[
    str, typer.Option("--model", help="Shipped detector name or a model folder (runs/x/best).")
]
ScalesOpt = Annotated[
    str | None,
    typer.Option(
        "--scales",
        help="Input scales whose answers are averaged, e.g. 1,1.5 (default: the detector's "
        "own; its thresholds are calibrated for those).",
    ),
]
ThreadsOpt = Annotated[
    int, typer.Option("--threads", min=0, help="CPU threads for torch; 0 = torch's default.")
]

OVERLAY_COLOUR = (1.0, 0.0, 0.0)
OVERLAY_OPACITY = 0.6


def detect(
    inputs: InputsArg,
    out_dir: OutDirOpt,
    threshold: ThresholdOpt = None,
    dilate: DilateOpt = 2,
    overlay: OverlayOpt = False,
    model: ModelOpt = "scratch",
    scales: ScalesOpt = None,
    tile: TileOpt = 512,
    overlap: OverlapOpt = 32,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = Precision.auto,
    threads: ThreadsOpt = 0,
    recursive: RecursiveOpt = False,
    skip_existing: SkipExistingOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Detect scratches, dust, creases and tears; write OUT/<stem>.png masks (white = damaged).

    Masks have the photo's pixel size (EXIF orientation applied) and feed straight into
    `daguerre restore --scratches OUT`. Runs tile by tile, so any image size fits in memory.

    Exit codes: 0 all done, 1 some files failed, 2 usage error, 130 interrupted.
    """
    from daguerre.cli.batch import exit_with, run_batch, shard_from_env
    from daguerre.errors import DaguerreError
    from daguerre.infer.device import resolve_device, set_threads
    from daguerre.pipelines.scratches import DetectOptions, load_detector

    if threads:
        set_threads(threads)
    try:
        factors = _parse_scales(scales)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="'--scales'") from None
    try:
        options = DetectOptions(
            model=model, threshold=threshold, dilate=dilate, tile=tile, overlap=overlap,
            device=device, precision=precision.value, scales=factors,
        )  # fmt: skip
    except (DaguerreError, ValueError) as err:
        raise typer.BadParameter(str(err), param_hint="'--tile'/'--overlap'") from None
    try:  # load once up front: a missing model is a usage error, not a per-file failure
        load_detector(model, str(resolve_device(device)))
    except DaguerreError as err:
        raise typer.BadParameter(str(err), param_hint="'--model'") from None
    report = run_batch(
        inputs,
        out_dir,
        _make_process(options, overlay=overlay),
        recursive=recursive,
        fmt="png",
        skip_existing=skip_existing,
        quiet=quiet,
        shard=shard_from_env(),
        label="detect",
    )
    exit_with(report)


def _parse_scales(text: str | None) -> tuple[float, ...] | None:
    """``"1,1.5"`` -> ``(1.0, 1.5)``; ``None`` -> ``None`` (the detector's own scales).

    Raises:
        ValueError: not a comma-separated list of distinct factors in [0.25, 4].
    """
    from daguerre.infer.multiscale import check_scales

    if text is None:
        return None
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"expected factors such as 1,1.5; got '{text}'") from None
    return check_scales(values)


def tint(rgb: Tensor, mask: Tensor) -> Tensor:
    """``(3,H,W)`` photo with ``(1,H,W)`` mask pixels blended towards red; [0,1] float32."""
    import torch

    colour = torch.tensor(OVERLAY_COLOUR, dtype=rgb.dtype).view(3, 1, 1)
    return torch.lerp(rgb, colour.expand_as(rgb), mask * OVERLAY_OPACITY)


def _make_process(options: DetectOptions, *, overlay: bool) -> Process:
    from daguerre.cli.batch import ImageOutput
    from daguerre.pipelines.scratches import defect_mask, detect_defects, detect_threshold

    def process(item: BatchItem, loaded: LoadedImage) -> list[Output]:
        prob = detect_defects(loaded.rgb, options)
        mask = defect_mask(prob, detect_threshold(options), options.dilate)
        outputs: list[Output] = [ImageOutput(rgb=mask, keep_meta=False)]
        if overlay:
            picture = tint(loaded.rgb, mask)
            outputs.append(ImageOutput(rgb=picture, suffix="_overlay", keep_meta=False))
        return outputs

    return process


def register(app: typer.Typer) -> None:
    """Add ``detect`` to the CLI."""
    app.command("detect")(detect)
