"""``daguerre degrade`` (synthetic ageing of image files) and ``daguerre presets``.

Each file is aged with a generator seeded from ``(--seed, output name)`` (see
:func:`daguerre.pipelines.age.file_seed`), so a file's result depends only on the seed, the
preset, its name and its pixels: the same run twice gives byte-identical PNGs, and adding
files to a folder never changes the others. Images are processed whole, at full size.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from daguerre.cli.options import (
    FormatOpt,
    InputsArg,
    OutDirOpt,
    OutputFormat,
    QualityOpt,
    QuietOpt,
    RecursiveOpt,
    SeedOpt,
    SkipExistingOpt,
)

if TYPE_CHECKING:
    from daguerre.cli.batch import BatchItem, Output, Process
    from daguerre.degrade.base import Degradation
    from daguerre.io.image import LoadedImage


def _list_presets(value: bool) -> None:
    if value:
        presets()
        raise typer.Exit()


PRESET_HELP = (
    "The damage: aged, heavy, colorfade, scratches-only, unstructured or realesrgan "
    "(`daguerre presets` describes each)."
)
"""``--preset`` help; static so that ``--help`` imports nothing heavy (a test checks the names)."""
PresetOpt = Annotated[str, typer.Option("--preset", "-p", help=PRESET_HELP)]
StrengthOpt = Annotated[
    float,
    typer.Option("--strength", min=0.0, max=1.0, help="Blend: 0 = input unchanged, 1 = full."),
]
SaveMaskOpt = Annotated[
    bool,
    typer.Option(
        "--save-mask", help="Also write <stem>_mask.png: 8-bit gray, white = damaged pixel."
    ),
]
SaveParamsOpt = Annotated[
    bool,
    typer.Option("--save-params", help="Also write <stem>_params.json: every sampled parameter."),
]
ListPresetsOpt = Annotated[
    bool,
    typer.Option(
        "--list-presets", callback=_list_presets, is_eager=True, help="List presets and exit."
    ),
]


def degrade(
    inputs: InputsArg,
    out_dir: OutDirOpt,
    preset: PresetOpt = "aged",
    seed: SeedOpt = 0,
    strength: StrengthOpt = 1.0,
    save_mask: SaveMaskOpt = False,
    save_params: SaveParamsOpt = False,
    recursive: RecursiveOpt = False,
    fmt: FormatOpt = OutputFormat.png,
    quality: QualityOpt = 95,
    skip_existing: SkipExistingOpt = False,
    quiet: QuietOpt = False,
    list_presets: ListPresetsOpt = False,
) -> None:
    """Age photos with a seeded degradation preset; same seed, same output.

    Writes OUT/<stem>.<format> per input, same pixel size, 16-bit/alpha/gray/ICC kept.

    Each file is seeded from (seed, its output name): adding files never changes the others.

    Exit codes: 0 all done, 1 some files failed, 2 usage error, 130 interrupted.
    """
    from daguerre.cli.batch import exit_with, run_batch, shard_from_env
    from daguerre.degrade.presets import build_preset, preset_names
    from daguerre.errors import UnknownNameError

    try:
        op = build_preset(preset)
    except UnknownNameError:  # name the user presets only, not the training mixes
        message = str(UnknownNameError("preset", preset, preset_names()))
        raise typer.BadParameter(message, param_hint="'--preset'") from None
    settings = {"preset": preset, "seed": seed, "strength": strength}
    process = _make_process(op, settings, save_mask=save_mask, save_params=save_params)
    report = run_batch(
        inputs,
        out_dir,
        process,
        recursive=recursive,
        fmt=fmt.value,
        quality=quality,
        skip_existing=skip_existing,
        quiet=quiet,
        shard=shard_from_env(),
        label="degrade",
    )
    exit_with(report)


def _make_process(
    op: Degradation[Any], settings: dict[str, Any], *, save_mask: bool, save_params: bool
) -> Process:
    """The per-file step: age the whole image, return the image (+ mask, + params JSON)."""
    from daguerre.cli.batch import ImageOutput, TextOutput
    from daguerre.degrade.base import generator_for
    from daguerre.pipelines.age import age_tensor, file_seed

    def process(item: BatchItem, loaded: LoadedImage) -> list[Output]:
        gen_seed = file_seed(settings["seed"], item.key)
        result = age_tensor(
            loaded.rgb[None], op, generator_for(gen_seed), strength=settings["strength"]
        )
        outputs: list[Output] = [ImageOutput(rgb=result.image[0], alpha=loaded.alpha)]
        if save_mask:
            outputs.append(ImageOutput(rgb=result.mask[0], suffix="_mask", fmt="png"))
        if save_params:
            record = {"input": str(item.path), "key": item.key, **settings}
            record |= {"file_seed": gen_seed, "params": result.params}
            outputs.append(TextOutput(json.dumps(record, indent=2) + "\n", suffix="_params"))
        return outputs

    return process


def presets() -> None:
    """List the damage presets a photo can be aged with, one line each."""
    from daguerre.degrade.presets import PRESET_DESCRIPTIONS, preset_names

    names = preset_names()
    width = max(len(name) for name in names)
    for name in names:
        typer.echo(f"{name:<{width}}  {PRESET_DESCRIPTIONS.get(name, '')}".rstrip())


def register(app: typer.Typer) -> None:
    """Add ``degrade`` and ``presets`` to the CLI."""
    app.command("degrade")(degrade)
    app.command("presets")(presets)


__all__ = ["degrade", "presets", "register"]
