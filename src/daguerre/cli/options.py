"""Shared CLI option types (``Annotated`` aliases), so every command spells a flag the same way.

A command declares the options it needs in its signature, e.g.::

    def restore(inputs: InputsArg, out_dir: OutDirOpt, fmt: FormatOpt = OutputFormat.png, ...): ...

This module is imported when the CLI starts, so it must stay light: no torch, numpy or cv2.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from daguerre.pipelines.restore_options import RestoreOptionsError

# --- batch input / output -------------------------------------------------------------------


class OutputFormat(enum.StrEnum):
    """File format of the written images (also the file extension)."""

    png = "png"
    jpg = "jpg"
    tiff = "tiff"
    webp = "webp"
    bmp = "bmp"
    heic = "heic"  # phone formats: written only when asked (the default for them is PNG)
    avif = "avif"


InputsArg = Annotated[
    list[Path],
    typer.Argument(
        help="Image files and/or folders. Folders contribute the images directly inside them "
        "(with --recursive, also those in sub-folders).",
        show_default=False,
        metavar="INPUT",
    ),
]
OutDirOpt = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        help="Output folder (created if missing). Each output keeps its input's stem: "
        "OUT/<stem>.<format>; recursive folder inputs keep their sub-folders.",
        file_okay=False,
        show_default=False,
    ),
]
RecursiveOpt = Annotated[
    bool, typer.Option("--recursive", "-r", help="Also take images from sub-folders.")
]
FormatOpt = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        help="Output format. 16-bit inputs stay 16-bit where the format allows (png, tiff).",
        case_sensitive=False,
    ),
]
QualityOpt = Annotated[
    int, typer.Option("--quality", min=1, max=100, help="JPEG / WebP quality (1-100).")
]
SkipExistingOpt = Annotated[
    bool,
    typer.Option(
        "--skip-existing",
        help="Skip inputs whose output already exists (resume an interrupted run). "
        "Without it, existing outputs are overwritten; inputs never are.",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only errors and the final summary.")
]

# --- randomness -----------------------------------------------------------------------------

SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed",
        min=0,
        help="Random seed. Each file's randomness derives from (seed, output name), so a file's "
        "result does not change when other files are added or removed.",
    ),
]

# --- inference (shared by restore / stylize / detect) ----------------------------------------


class Precision(enum.StrEnum):
    """Numeric precision of inference (auto: fp16 on CUDA; restore/detect bf16 on bf16 CPUs)."""

    auto = "auto"
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


DeviceOpt = Annotated[
    str,
    typer.Option("--device", help="Torch device: 'cpu', 'cuda', 'cuda:1', or 'auto'."),
]
PrecisionOpt = Annotated[
    Precision,
    typer.Option(
        "--precision",
        help="Inference precision. auto: fp16 on CUDA; for restore and detect also bf16 on a "
        "CPU with native bf16, AMX or AVX512-BF16 (1.3-1.7x faster, same PSNR and F1); fp32 "
        "elsewhere. fp16 needs a GPU.",
        case_sensitive=False,
    ),
]
GradeOpt = Annotated[
    str,
    typer.Option(
        "--grade",
        help="Whole-image colour grade after the network: auto (the one the model names), "
        "off, or a grade model name or folder.",
    ),
]


class Monochrome(enum.StrEnum):
    """What the restorer does with a monochrome (neutral, toned or yellowed) print."""

    auto = "auto"  # neutral gray out: no invented colour
    tone = "tone"  # neutral restoration, then the print's own tone back
    gray = "gray"  # a black-and-white print, whatever it looks like: always neutral gray
    off = "off"  # whatever the network gives


MonochromeOpt = Annotated[
    Monochrome,
    typer.Option(
        "--monochrome",
        help="auto: a print that looks monochrome (neutral, sepia or yellowed) comes out "
        "neutral gray, no invented colour; tone: the same, then the print's own tone "
        "(sepia, yellowed paper) back; gray: this is a black-and-white print, always neutral "
        "gray (for a lightly toned print that auto keeps in colour); off: keep whatever "
        "colour the network gives.",
    ),
]


class PhotoType(enum.StrEnum):
    """What kind of photo this is, so which restoration expert restores it."""

    auto = "auto"  # the router decides per photo
    print = "print"  # an old print: the old-print expert (the model itself)
    digital = "digital"  # a digital photo: the digital-damage expert the model names


PhotoTypeOpt = Annotated[
    PhotoType,
    typer.Option(
        "--photo-type",
        help="auto: a router decides per photo whether it is an old print (faded, toned, "
        "grainy) or a digital photo with digital damage (noise, blur, JPEG) and picks that "
        "expert; print / digital: force one.",
    ),
]
KindAliasOpt = Annotated[
    PhotoType | None,
    typer.Option("--kind", hidden=True, help="Deprecated name of --photo-type."),
]


def photo_type_of(photo_type: PhotoType, kind: PhotoType | None) -> PhotoType:
    """``--photo-type``, or the deprecated ``--kind`` when given (with a note on stderr)."""
    if kind is None:
        return photo_type
    typer.echo("note: --kind is deprecated; use --photo-type", err=True)
    return kind


class Fusion(enum.StrEnum):
    """Whether a print takes its fine detail from the detail expert its model names."""

    auto = "auto"
    off = "off"


FusionOpt = Annotated[
    Fusion,
    typer.Option(
        "--fusion",
        help="auto: a print gets its tone (fading, colour, contrast) from the print expert, "
        "run at half size, and its fine detail from the digital expert (sharper, less waxy); "
        "off: the print expert alone.",
    ),
]
EnsembleOpt = Annotated[
    int,
    typer.Option(
        "--ensemble",
        help="Average the network over 1, 2, 4 or 8 flipped/transposed copies of each photo: "
        "that many times slower, a little more accurate (about +0.1 dB at 4).",
    ),
]
TileOpt = Annotated[
    int,
    typer.Option("--tile", min=0, help="Tile side in pixels for tiled inference; 0 = whole image."),
]
OverlapOpt = Annotated[
    int,
    typer.Option("--overlap", min=0, help="Pixels shared by neighbouring tiles (blended)."),
]


# --- restore option errors -------------------------------------------------------------------


def restore_usage_error(err: RestoreOptionsError) -> typer.BadParameter:
    """A :class:`~daguerre.pipelines.restore.RestoreOptionsError` as a usage error (exit 2).

    ``err.option`` (a ``RestoreOptions`` field) becomes the flag: ``photo_type`` ->
    ``--photo-type``; tiling problems name ``--tile``/``--overlap``.
    """
    if err.option == "tile":
        hint = "'--tile'/'--overlap'"
    else:
        hint = f"'--{err.option.replace('_', '-')}'"
    return typer.BadParameter(err.reason, param_hint=hint)
