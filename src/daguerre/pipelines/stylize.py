"""Stylize photos: a trained (CycleGAN) style or any painting (AdaIN); same pixel size out.

Two modes, chosen by what ``style`` names:

* **A trained style**: a name installed under ``daguerre/weights/styles/<name>/`` or a model
  folder written by ``daguerre train style`` (``RUN/style``). The A->B generator runs tile by
  tile. It has no normalisation layers, so tiles agree and blend without seams.
* **Any painting (arbitrary style)**: an image file, or an image passed to :func:`stylize`.
  AdaIN on MobileNetV2 features with the decoder installed under ``daguerre/weights/adain/``
  (or ``adain_model=RUN/adain``). AdaIN is an instance normalisation, so its statistics are
  computed once and reused for every tile: the content statistics over the whole image at
  the resolution it is processed at (accumulated over non-overlapping windows), the style
  statistics from the painting resized to ``style_side`` pixels on its long side.

Then, in this order: ``preserve_color`` keeps the input's chroma and takes only the
stylized luminance (YCbCr, ITU-R BT.601 full range as in JPEG: linear, exactly invertible,
cheap; Gatys et al. 2016, https://arxiv.org/abs/1606.05897, luminance-only transfer), and
``strength`` blends with the input (0 = input, 1 = full effect).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import torch
from torch.nn import functional as F  # noqa: N812

from daguerre.errors import CheckpointNotFoundError, DaguerreError, UnknownNameError
from daguerre.infer import TileConfig, resolve_device, resolve_precision, run_tiled
from daguerre.pipelines.convert import from_any, to_like

ImageT = TypeVar("ImageT")
Mode = Literal["cyclegan", "adain"]

DEFAULT_ADAIN = "adain"
# Default (tile, overlap) per mode, used where StylizeOptions leaves them None.
# CycleGAN: 256 px tiles, 32 px overlap: on 2 CPU cores the style network runs faster per pixel
# on small tiles (1.3 vs 1.6 s/MP at 512 px: cache), and on a real photo the tiled output's
# seam ratio equals the whole-image output's (great_wave 1.09 vs 1.09, the_scream 1.11 vs 1.11).
# AdaIN: the MobileNetV2 encoder sees ~200 px around a pixel, so tile borders reach far: on
# tubingen.jpg (1024x768, udnie) 256/32 tiles left a visible grid (mean |tiled - whole| 0.035,
# 99th percentile 0.24), 512/128 0.0022 / 0.033, 768/192 0.0002 / 0.0055 (no visible seam).
# The AdaIN network is cheap (38 GFLOP/MP), so the wide overlap costs little.
MODE_TILES: dict[str, tuple[int, int]] = {"cyclegan": (256, 32), "adain": (768, 192)}
STATS_WINDOW = 1024  # AdaIN content statistics are accumulated over windows of this side
# ITU-R BT.601 full-range RGB -> YCbCr (JPEG); Cb and Cr are offset by 0.5 into [0, 1]
_YCBCR = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))

# --- colour -----------------------------------------------------------------------------------


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """``(...,3,H,W)`` RGB [0,1] -> YCbCr [0,1] (BT.601 full range).

    Example:
        >>> ycc = rgb_to_ycbcr(torch.full((3, 1, 1), 0.5))
        >>> [round(v, 4) for v in ycc.flatten().tolist()]
        [0.5, 0.5, 0.5]
    """
    m = torch.tensor(_YCBCR, dtype=rgb.dtype, device=rgb.device)
    out = torch.einsum("ij,...jhw->...ihw", m, rgb)
    offset = torch.tensor([0.0, 0.5, 0.5], dtype=rgb.dtype, device=rgb.device)
    return out + offset.view(3, 1, 1)


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr` (not clamped)."""
    m = torch.linalg.inv(torch.tensor(_YCBCR, dtype=torch.float64)).to(ycc.dtype).to(ycc.device)
    offset = torch.tensor([0.0, 0.5, 0.5], dtype=ycc.dtype, device=ycc.device)
    return torch.einsum("ij,...jhw->...ihw", m, ycc - offset.view(3, 1, 1))


def keep_chroma(stylized: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Luminance of ``stylized`` with the chroma (Cb, Cr) of ``original``; [0,1], same shape."""
    y = rgb_to_ycbcr(stylized)[..., :1, :, :]
    chroma = rgb_to_ycbcr(original)[..., 1:, :, :]
    return ycbcr_to_rgb(torch.cat([y, chroma], dim=-3)).clamp_(0.0, 1.0)


# --- finding styles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StyleInfo:
    """An installed style: ``name`` (for ``--style``), model ``folder`` and its ``arch``."""

    name: str
    folder: Path
    arch: str


def installed_styles() -> list[StyleInfo]:
    """Styles shipped in ``daguerre/weights/styles/<name>/`` (folders with a config.json)."""
    from daguerre.weights import package_dir
    from daguerre.weights.checkpoint import read_config

    root = package_dir() / "styles"
    found = sorted(p.parent for p in root.glob("*/config.json")) if root.is_dir() else []
    return [StyleInfo(f.name, f, read_config(f).arch) for f in found]


def adain_folder(model: str | Path = DEFAULT_ADAIN) -> Path | None:
    """The AdaIN model folder: a folder with a config.json, else the shipped one; None if absent."""
    from daguerre.weights import package_dir

    for folder in (Path(model), package_dir() / str(model)):
        if (folder / "config.json").is_file():
            return folder
    return None


class StyleNotFoundError(UnknownNameError):
    """``--style`` names neither an installed style, a style folder nor an image file."""

    def __init__(self, name: str, installed: list[str], adain_ready: bool) -> None:
        super().__init__("style", name, installed)
        listed = ", ".join(sorted(installed)) or "none"
        painting = (
            "or pass an image file (any painting) for arbitrary-style mode"
            if adain_ready
            else "arbitrary-style mode (an image file as --style) needs the AdaIN decoder, "
            "which is not installed either (train one: daguerre train adain)"
        )
        what = "no such file or folder" if Path(name).suffix or "/" in name else "not installed"
        self.args = (f"style '{name}': {what}; installed styles: {listed}; {painting}",)


@dataclass(frozen=True)
class ResolvedStyle:
    """What a ``style`` argument names: a CycleGAN model folder, or a painting (AdaIN)."""

    mode: Mode
    path: Path


def resolve_style(style: str | Path, adain_model: str | Path = DEFAULT_ADAIN) -> ResolvedStyle:
    """Resolve an installed style name, a style model folder or an image file.

    Raises:
        StyleNotFoundError: nothing of that name (the message lists the installed styles).
        CheckpointNotFoundError: a folder without config.json, or an AdaIN folder as a style.
    """
    from daguerre.weights.checkpoint import read_config

    path = Path(style)
    if path.is_dir():
        if read_config(path).kind == "adain":
            raise CheckpointNotFoundError(
                f"{path} is an AdaIN decoder, not a style: pass it as the AdaIN model "
                "(--adain-model) and a painting image as --style"
            )
        return ResolvedStyle("cyclegan", path)
    if path.is_file():
        return ResolvedStyle("adain", path)
    for info in installed_styles():
        if info.name == str(style):
            return ResolvedStyle("cyclegan", info.folder)
    names = [info.name for info in installed_styles()]
    raise StyleNotFoundError(str(style), names, adain_folder(adain_model) is not None)


# --- options and loading ------------------------------------------------------------------------


@dataclass(frozen=True)
class StylizeOptions:
    """How to stylize.

    Args:
        style: installed style name, style model folder, or a painting's image file.
        strength: 0 returns the input, 1 the full stylization; a linear blend between.
        preserve_color: keep the input's colours; transfer luminance only (YCbCr).
        alpha: AdaIN only: 0 keeps the content features, 1 takes the style's statistics.
        adain_model: AdaIN decoder: shipped name or model folder (e.g. ``RUN/adain``).
        style_side: AdaIN only: long side in pixels the painting is resized to before its
            statistics are taken (bigger: finer brush strokes relative to the photo).
        tile: tile side in pixels (0 = whole image at once; None = the mode's default in
            ``MODE_TILES``: 256 for trained styles, 768 for AdaIN).
        overlap: pixels shared by neighbouring tiles (feather-blended; None = the mode's
            default: 32 for trained styles, 192 for AdaIN).
        device: "auto", "cpu", "cuda", "cuda:1", "mps".
        precision: "auto" (fp16 on CUDA, fp32 elsewhere), "fp32", "fp16", "bf16".
    """

    style: str = ""
    strength: float = 1.0
    preserve_color: bool = False
    alpha: float = 1.0
    adain_model: str = DEFAULT_ADAIN
    style_side: int = 512
    tile: int | None = None
    overlap: int | None = None
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        for name in ("strength", "alpha"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.style_side < 16:
            raise ValueError(f"style_side must be >= 16 pixels, got {self.style_side}")
        for mode in MODE_TILES:
            self.tiles(mode)  # type: ignore[arg-type]  # validates tile/overlap early

    def tiles(self, mode: Mode = "cyclegan") -> TileConfig:
        """The tiling config these options describe for ``mode`` (ConfigError if invalid)."""
        tile = MODE_TILES[mode][0] if self.tile is None else self.tile
        overlap = MODE_TILES[mode][1] if self.overlap is None else self.overlap
        min_tile = min(128, max(tile, 64)) if tile else 128
        return TileConfig(tile=tile, overlap=overlap, min_tile=max(min_tile, overlap + 1))


@functools.lru_cache(maxsize=4)
def load_style_net(folder: str, device: str) -> tuple[torch.nn.Module, int]:
    """Load (and cache) a model folder on ``device``: ``(network in eval mode, pad_multiple)``."""
    from daguerre.weights.checkpoint import load_model

    net, config = load_model(folder)
    net = net.to(torch.device(device)).eval()
    # channels-last convolutions are ~6 % faster on CPU (oneDNN) and on CUDA tensor cores
    return net.to(memory_format=torch.channels_last), max(1, config.pad_multiple)


def _channels_last_input(net: torch.nn.Module) -> Any:
    """``net`` fed channels-last tensors (same values; the layout its weights are stored in)."""

    def model(x: torch.Tensor) -> torch.Tensor:
        return net(x.contiguous(memory_format=torch.channels_last))  # type: ignore[no-any-return]

    return model


def _read_style_image(path: Path) -> torch.Tensor:
    from daguerre.io.image import read_image

    return read_image(path).rgb


def _resize_long_side(img: torch.Tensor, side: int) -> torch.Tensor:
    """``(3,H,W)`` -> ``(1,3,h,w)`` with ``max(h, w) == side`` (antialiased bilinear)."""
    h, w = img.shape[-2:]
    scale = side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    out = F.interpolate(img[None].float(), size=size, mode="bilinear", antialias=scale < 1)
    return out.clamp(0.0, 1.0)


def _pad_to_multiple(x: torch.Tensor, multiple: int, minimum: int = 1) -> torch.Tensor:
    """Pad ``(N,C,h,w)`` bottom/right to a multiple and at least ``minimum``; reflect if it can."""
    h, w = x.shape[-2:]
    th = max(minimum, math.ceil(h / multiple) * multiple)
    tw = max(minimum, math.ceil(w / multiple) * multiple)
    if (th, tw) == (h, w):
        return x
    fits = th - h < h and tw - w < w  # reflection needs a pad smaller than the size
    return F.pad(x, (0, tw - w, 0, th - h), mode="reflect" if fits else "replicate")


def content_stats(net: Any, img: torch.Tensor, *, window: int, device: torch.device) -> list[Any]:
    """Per-stage channel (mean, std) of the encoder features of a whole ``(1,3,H,W)`` image.

    Accumulated in float64 over non-overlapping ``window`` x ``window`` pieces (0 = the whole
    image at once), so memory stays bounded on a large scan; features of the reflection padding
    a piece needs are left out. Returns ``[(mean, std), ...]``, each ``(1,C,1,1)`` on ``device``.
    """
    from daguerre.nn.adain import EPS
    from daguerre.nn.mobilenet import STAGE_STRIDES

    h, w = img.shape[-2:]
    side = window if window > 0 else max(h, w)
    totals: list[list[Any]] = [[0.0, 0.0, 0] for _ in net.stages]
    for y0 in range(0, h, side):
        for x0 in range(0, w, side):
            piece = img[..., y0 : y0 + side, x0 : x0 + side].to(device, torch.float32)
            ph, pw = piece.shape[-2:]
            feats = net.encode(_pad_to_multiple(piece, net.pad_multiple))
            for total, stage, feat in zip(totals, net.stages, feats, strict=True):
                stride = STAGE_STRIDES[stage]
                valid = feat[..., : math.ceil(ph / stride), : math.ceil(pw / stride)].double()
                total[0] = total[0] + valid.sum(dim=(0, 2, 3))
                total[1] = total[1] + (valid * valid).sum(dim=(0, 2, 3))
                total[2] += valid.shape[0] * valid.shape[2] * valid.shape[3]
    stats = []
    for sums, squares, count in totals:
        mean = sums / count
        var = (squares / count - mean * mean).clamp_min(0.0)
        stats.append((mean.float().view(1, -1, 1, 1), (var + EPS).sqrt().float().view(1, -1, 1, 1)))
    return stats


# --- running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stylizer:
    """A loaded style, ready to apply; keeps nothing between calls.

    Build it with :func:`load_stylizer`. ``style_stats`` (AdaIN only) holds the painting's
    per-stage feature statistics.
    """

    mode: Mode
    net: torch.nn.Module
    pad_multiple: int
    options: StylizeOptions
    device: torch.device
    style_stats: Any = None

    @torch.inference_mode()
    def __call__(self, rgb: torch.Tensor, *, progress: Any = None) -> torch.Tensor:
        """Stylize ``(3,H,W)`` or ``(B,3,H,W)`` float32 [0,1]; same shape out."""
        opts = self.options
        if opts.strength == 0.0:
            return rgb.clone()
        images = rgb if rgb.ndim == 4 else rgb[None]
        h, w = images.shape[-2:]
        padded = _pad_to_multiple(images, 1, minimum=max(8, 2 * self.pad_multiple))
        if self.mode == "adain":
            parts = [self._run(self._adain_model(x), x, progress) for x in padded.split(1)]
            out = torch.cat(parts)
        else:
            out = self._run(_channels_last_input(self.net), padded, progress)
        out = out[..., :h, :w].clamp_(0.0, 1.0)
        if opts.preserve_color:
            out = keep_chroma(out, images)
        if opts.strength < 1.0:  # in place: input + strength * (stylized - input)
            out.sub_(images).mul_(opts.strength).add_(images)
        return out if rgb.ndim == 4 else out[0]

    def _adain_model(self, image: torch.Tensor) -> Any:
        tile = self.options.tiles(self.mode).tile
        window = max(tile, STATS_WINDOW) if tile else 0  # fewer borders
        stats = content_stats(self.net, image, window=window, device=self.device)
        net, style, alpha = self.net, self.style_stats, self.options.alpha

        def model(tile: torch.Tensor) -> torch.Tensor:
            return net.transfer(tile, stats, style, alpha=alpha)  # type: ignore[operator]

        return model

    def _run(self, model: Any, images: torch.Tensor, progress: Any) -> torch.Tensor:
        return run_tiled(
            model,
            images,
            self.options.tiles(self.mode),
            pad_multiple=self.pad_multiple,
            device=self.device,
            out_channels=3,
            autocast_dtype=resolve_precision(self.device, self.options.precision),
            progress=progress,
        )


def _load_adain(options: StylizeOptions, device: torch.device) -> tuple[Any, int]:
    folder = adain_folder(options.adain_model)
    if folder is None:
        names = ", ".join(info.name for info in installed_styles()) or "none"
        raise CheckpointNotFoundError(
            f"arbitrary-style mode needs the AdaIN decoder, but '{options.adain_model}' is "
            f"neither a model folder nor installed; train one (daguerre train adain) and pass "
            f"--adain-model RUN/adain, or use an installed style: {names}"
        )
    from daguerre.nn.adain import AdaINNet

    net, pad_multiple = load_style_net(str(folder), str(device))
    if not isinstance(net, AdaINNet):
        raise DaguerreError(f"{folder}: not an AdaIN model (arch {type(net).__name__})")
    return net, pad_multiple


def load_stylizer(options: StylizeOptions, *, style_image: torch.Tensor | None = None) -> Stylizer:
    """Resolve ``options.style`` (or use ``style_image``, a ``(3,H,W)`` painting) and load it.

    Raises:
        StyleNotFoundError: unknown style name (the message lists what is installed).
        CheckpointNotFoundError: the AdaIN decoder is needed but not installed.
        ImageReadError: the style image cannot be read.
    """
    device = resolve_device(options.device)
    if style_image is None:
        resolved = resolve_style(options.style, options.adain_model)
        if resolved.mode == "cyclegan":
            net, pad_multiple = load_style_net(str(resolved.path), str(device))
            return Stylizer("cyclegan", net, pad_multiple, options, device)
        style_image = _read_style_image(resolved.path)
    net, pad_multiple = _load_adain(options, device)
    style = _resize_long_side(style_image, options.style_side).to(device)
    with torch.inference_mode():
        style_stats = net.stats(style)
    return Stylizer("adain", net, pad_multiple, options, device, style_stats)


def stylize_tensor(
    rgb: torch.Tensor,
    options: StylizeOptions,
    *,
    style_image: torch.Tensor | None = None,
    progress: Any = None,
) -> torch.Tensor:
    """Stylize a ``(3,H,W)``/``(B,3,H,W)`` float32 [0,1] image; same shape out.

    Example:
        >>> out = stylize_tensor(torch.rand(3, 40, 56), StylizeOptions(strength=0.0))
        >>> out.shape
        torch.Size([3, 40, 56])
    """
    if options.strength == 0.0:
        return rgb.clone()
    return load_stylizer(options, style_image=style_image)(rgb, progress=progress)


def stylize(
    image: ImageT,
    *,
    style: Any,
    strength: float = 1.0,
    preserve_color: bool = False,
    **kwargs: Any,
) -> ImageT:
    """Stylize a photo given as a PIL image, a float tensor or a numpy array; same type back.

    Args:
        image: PIL image, ``(3,H,W)``/``(B,3,H,W)`` float32 tensor in [0,1], or ``HxWx3``
            numpy array (uint8 in -> uint8 out).
        style: an installed style name, a style model folder, a painting's file path, or a
            painting as an image (PIL / tensor / array: arbitrary-style mode).
        strength: 0..1 blend between the input and the full stylization.
        preserve_color: keep the input's colours (luminance-only transfer).
        **kwargs: further :class:`StylizeOptions` fields (alpha, adain_model, style_side,
            tile, overlap, device, precision).

    Returns:
        The stylized image, same type and pixel size as ``image``; alpha is carried through.
        A gray PIL image comes back as RGB (gray only with ``preserve_color``).
    """
    style_image = None
    if not isinstance(style, str | Path):
        style_image = from_any(style)[0]
        style_image = style_image[0] if style_image.ndim == 4 else style_image
        style = ""
    options = StylizeOptions(
        style=str(style), strength=strength, preserve_color=preserve_color, **kwargs
    )
    rgb, alpha = from_any(image)
    out = stylize_tensor(rgb, options, style_image=style_image)
    like: Any = image
    if getattr(image, "mode", None) in ("L", "1") and not preserve_color:
        like = image.convert("RGB")  # type: ignore[attr-defined]  # a gray photo gets colour
    return to_like(like, out, alpha)  # type: ignore[no-any-return]
