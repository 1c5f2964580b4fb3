"""``daguerre restore``: restore scanned photos, same pixel size out.

Under ``torchrun`` (one or many nodes) each rank takes its share of the inputs
(``RANK``/``WORLD_SIZE``); ``--skip-existing`` makes an interrupted archive run resume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from daguerre.cli.options import (
    DeviceOpt,
    EnsembleOpt,
    FormatOpt,
    Fusion,
    FusionOpt,
    GradeOpt,
    InputsArg,
    KindAliasOpt,
    Monochrome,
    MonochromeOpt,
    OutDirOpt,
    OutputFormat,
    OverlapOpt,
    PhotoType,
    PhotoTypeOpt,
    Precision,
    PrecisionOpt,
    QualityOpt,
    QuietOpt,
    RecursiveOpt,
    SkipExistingOpt,
    TileOpt,
    photo_type_of,
    restore_usage_error,
)

if TYPE_CHECKING:
    from daguerre.cli.batch import BatchItem, Output, Process
    from daguerre.io.image import LoadedImage
    from daguerre.pipelines.restore import RestoreOptions

StrengthOpt = Annotated[
    float,
    typer.Option("--strength", min=0.0, max=1.0, help="0 = input unchanged, 1 = full restoration."),
]
ModelOpt = Annotated[
    str, typer.Option("--model", help="Shipped model name or a model folder (e.g. runs/x/best).")
]
ThreadsOpt = Annotated[
    int, typer.Option("--threads", min=0, help="CPU threads for torch; 0 = torch's default.")
]
ScratchesOpt = Annotated[
    str,
    typer.Option(
        "--scratches",
        help="Defects to inpaint: off; auto (detect scratches, dust, tears); a mask file "
        "(white = damaged, the photo's size); or a folder of <stem>.png masks, e.g. from "
        "`daguerre detect`. Needs a model with a mask input.",
    ),
]
ScratchModelOpt = Annotated[
    str, typer.Option("--scratch-model", help="Detector for --scratches auto (name or folder).")
]
ScratchThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--scratch-threshold",
        min=0.0,
        max=1.0,
        help="--scratches auto: inpaint pixels whose damage probability is above this "
        "(default: the detector's own, 0.995 for the shipped one). Lower (e.g. 0.3) for a "
        "print split into a web of fine cracks; it also erases more real detail.",
    ),
]


def restore(
    inputs: InputsArg,
    out_dir: OutDirOpt,
    strength: StrengthOpt = 1.0,
    model: ModelOpt = "restore",
    tile: TileOpt = 512,
    overlap: OverlapOpt = 32,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = Precision.auto,
    threads: ThreadsOpt = 0,
    scratches: ScratchesOpt = "off",
    scratch_model: ScratchModelOpt = "scratch",
    scratch_threshold: ScratchThresholdOpt = None,
    grade: GradeOpt = "auto",
    monochrome: MonochromeOpt = Monochrome.auto,
    photo_type: PhotoTypeOpt = PhotoType.auto,
    fusion: FusionOpt = Fusion.auto,
    ensemble: EnsembleOpt = 1,
    recursive: RecursiveOpt = False,
    fmt: FormatOpt = OutputFormat.png,
    quality: QualityOpt = 95,
    skip_existing: SkipExistingOpt = False,
    quiet: QuietOpt = False,
    kind: KindAliasOpt = None,
) -> None:
    """Restore old photos: fading, colour casts, blur, grain, JPEG damage, light defects.

    Writes OUT/<stem>.<format> per input at the input's pixel size; 16-bit, alpha, gray and
    ICC are kept. Runs tile by tile, so any image size fits in bounded memory. With
    --scratches auto or a mask, the model also inpaints the marked scratches, dust and tears.

    Exit codes: 0 all done, 1 some files failed, 2 usage error, 130 interrupted.
    """
    from daguerre.cli.batch import exit_with, run_batch, shard_from_env
    from daguerre.infer.device import set_threads
    from daguerre.pipelines.restore import RestoreOptions, RestoreOptionsError, load_restorer

    if threads:
        set_threads(threads)
    try:  # check and load every model up front: a bad option is a usage error, not a failed file
        options = RestoreOptions(
            strength=strength, model=model, tile=tile, overlap=overlap,
            device=device, precision=precision.value, scratches=scratches,
            scratch_model=scratch_model, scratch_threshold=scratch_threshold, grade=grade,
            monochrome=monochrome.value, photo_type=photo_type_of(photo_type, kind).value,
            ensemble=ensemble, fusion=fusion.value,
        )  # fmt: skip
        load_restorer(options)
    except RestoreOptionsError as err:
        raise restore_usage_error(err) from None
    report = run_batch(
        inputs,
        out_dir,
        _make_process(options),
        recursive=recursive,
        fmt=fmt.value,
        quality=quality,
        skip_existing=skip_existing,
        quiet=quiet,
        shard=shard_from_env(),
        label="restore",
    )
    exit_with(report)


def _make_process(options: RestoreOptions) -> Process:
    from daguerre.cli.batch import ImageOutput
    from daguerre.pipelines.restore import restore_tensor
    from daguerre.pipelines.scratches import resolve_scratch_mask

    detect = options.detect_options()

    def process(item: BatchItem, loaded: LoadedImage) -> list[Output]:
        spec = options.scratches
        mask = resolve_scratch_mask(
            spec, loaded.rgb, image_path=item.path, options=detect, key=item.key
        )
        restored = restore_tensor(loaded.rgb, options, mask=mask)
        return [ImageOutput(rgb=restored, alpha=loaded.alpha)]

    return process


def register(app: typer.Typer) -> None:
    """Add ``restore`` to the CLI."""
    app.command("restore")(restore)
