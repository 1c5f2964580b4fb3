"""``daguerre stylize`` (apply a style, same pixel size out) and ``daguerre styles`` (list them).

``--style`` takes an installed style's name, a model folder written by ``daguerre train style``
(``RUN/style``), or any painting's image file (arbitrary-style mode, AdaIN). Under ``torchrun``
each rank takes its share of the inputs; ``--skip-existing`` resumes an interrupted run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from daguerre.cli.options import (
    DeviceOpt,
    FormatOpt,
    InputsArg,
    OutDirOpt,
    OutputFormat,
    Precision,
    PrecisionOpt,
    QualityOpt,
    QuietOpt,
    RecursiveOpt,
    SkipExistingOpt,
)

if TYPE_CHECKING:
    from daguerre.cli.batch import BatchItem, Output, Process
    from daguerre.io.image import LoadedImage
    from daguerre.pipelines.stylize import Stylizer

StyleOpt = Annotated[
    str,
    typer.Option(
        "--style",
        "-s",
        help="Installed style name (see `daguerre styles`), a style model folder "
        "(RUN/style from `daguerre train style`), or a painting's image file (AdaIN).",
        show_default=False,
    ),
]
StrengthOpt = Annotated[
    float,
    typer.Option("--strength", min=0.0, max=1.0, help="0 = input unchanged, 1 = full style."),
]
PreserveColorOpt = Annotated[
    bool,
    typer.Option(
        "--preserve-color",
        help="Keep the photo's colours: transfer luminance only (YCbCr, BT.601).",
    ),
]
AlphaOpt = Annotated[
    float,
    typer.Option(
        "--alpha", min=0.0, max=1.0, help="Painting mode only: content/style feature blend."
    ),
]
AdainModelOpt = Annotated[
    str,
    typer.Option(
        "--adain-model", help="Painting mode: AdaIN decoder, shipped name or folder (RUN/adain)."
    ),
]
StyleSideOpt = Annotated[
    int,
    typer.Option(
        "--style-size",
        min=16,
        help="Painting mode: the painting's long side in pixels before its statistics are "
        "taken (larger = finer strokes).",
    ),
]
StyleTileOpt = Annotated[
    int | None,
    typer.Option(
        "--tile",
        min=0,
        help="Tile side in pixels; 0 = whole image. Default: 256 for trained styles, 768 for "
        "a painting (AdaIN: its encoder needs wide context).",
    ),
]
StyleOverlapOpt = Annotated[
    int | None,
    typer.Option(
        "--overlap",
        min=0,
        help="Pixels shared by neighbouring tiles (blended). Default: 32, or 192 for a painting.",
    ),
]
ThreadsOpt = Annotated[
    int, typer.Option("--threads", min=0, help="CPU threads for torch; 0 = torch's default.")
]


def stylize(
    inputs: InputsArg,
    out_dir: OutDirOpt,
    style: StyleOpt,
    strength: StrengthOpt = 1.0,
    preserve_color: PreserveColorOpt = False,
    alpha: AlphaOpt = 1.0,
    adain_model: AdainModelOpt = "adain",
    style_size: StyleSideOpt = 512,
    tile: StyleTileOpt = None,
    overlap: StyleOverlapOpt = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = Precision.auto,
    threads: ThreadsOpt = 0,
    recursive: RecursiveOpt = False,
    fmt: FormatOpt = OutputFormat.png,
    quality: QualityOpt = 95,
    skip_existing: SkipExistingOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Restyle photos with a trained style or after any painting; same pixel size out.

    Writes OUT/<stem>.<format> per input; 16-bit, alpha, gray and ICC are kept. Runs tile
    by tile without seams, so any image size fits in bounded memory.

    Exit codes: 0 all done, 1 some files failed, 2 usage error, 130 interrupted.
    """
    from daguerre.cli.batch import exit_with, run_batch, shard_from_env
    from daguerre.errors import DaguerreError
    from daguerre.infer.device import set_threads
    from daguerre.pipelines.stylize import StylizeOptions, load_stylizer

    if threads:
        set_threads(threads)
    try:
        options = StylizeOptions(
            style=style, strength=strength, preserve_color=preserve_color, alpha=alpha,
            adain_model=adain_model, style_side=style_size, tile=tile, overlap=overlap,
            device=device, precision=precision.value,
        )  # fmt: skip
    except (DaguerreError, ValueError) as err:
        raise typer.BadParameter(str(err), param_hint="'--tile'/'--overlap'") from None
    try:  # load once up front: a missing style is a usage error, not a per-file failure
        stylizer = load_stylizer(options)
    except DaguerreError as err:
        raise typer.BadParameter(str(err), param_hint="'--style'") from None
    report = run_batch(
        inputs,
        out_dir,
        _make_process(stylizer),
        recursive=recursive,
        fmt=fmt.value,
        quality=quality,
        skip_existing=skip_existing,
        quiet=quiet,
        shard=shard_from_env(),
        label="stylize",
    )
    exit_with(report)


def _make_process(stylizer: Stylizer) -> Process:
    from daguerre.cli.batch import ImageOutput
    from daguerre.pipelines.convert import looks_gray

    def process(item: BatchItem, loaded: LoadedImage) -> list[Output]:
        rgb = stylizer(loaded.rgb)
        # A gray scan stylized in colour: written with its gray metadata the colour would be
        # dropped, so it is written as 8-bit RGB instead (without the input's ICC profile).
        recoloured = loaded.meta.is_gray and not bool(looks_gray(rgb))
        return [ImageOutput(rgb=rgb, alpha=loaded.alpha, keep_meta=not recoloured)]

    return process


def styles() -> None:
    """List the installed styles and whether painting mode (AdaIN) is available."""
    from daguerre.pipelines.stylize import adain_folder, installed_styles

    found = installed_styles()
    if found:
        typer.echo("installed styles (use --style NAME):")
        width = max(len(info.name) for info in found)
        for info in found:
            typer.echo(f"  {info.name:<{width}}  {info.arch}  {info.folder}")
    else:
        typer.echo("installed styles: none (train one: daguerre train style --a A --b B --out RUN)")
    folder = adain_folder()
    if folder is not None:
        typer.echo(f"painting mode (--style PAINTING.jpg): available, AdaIN decoder at {folder}")
    else:
        typer.echo(
            "painting mode (--style PAINTING.jpg): not installed (train a decoder: daguerre "
            "train adain --content DIR --style DIR --out RUN, then --adain-model RUN/adain)"
        )


def register(app: typer.Typer) -> None:
    """Add ``stylize`` and ``styles`` to the CLI."""
    app.command("stylize")(stylize)
    app.command("styles")(styles)
