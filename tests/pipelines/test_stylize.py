"""Stylize pipeline with tiny saved model folders: sizes, strength, colour, seams, errors."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F  # noqa: N812

from daguerre.errors import CheckpointNotFoundError, UnknownNameError
from daguerre.infer import plan_tiles
from daguerre.io.image import write_image
from daguerre.nn.adain import AdaINNet
from daguerre.nn.generators.resnet import ResNetGenerator
from daguerre.pipelines.stylize import (
    StyleNotFoundError,
    StylizeOptions,
    installed_styles,
    keep_chroma,
    load_stylizer,
    resolve_style,
    rgb_to_ycbcr,
    stylize,
    stylize_tensor,
    ycbcr_to_rgb,
)
from daguerre.weights.checkpoint import ModelConfig, save_model
from tests.nn.test_adain import calibrate_encoder

STYLE_KW = {"base_channels": 8, "downsamplings": 2, "blocks": 2, "max_channels": 32}
ADAIN_KW = {"stages": [3, 6, 13], "base_channels": 4, "max_channels": 16}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models on a busy 2-core machine: one thread avoids OpenMP stalls; restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def save_tiny_style(folder: Path, seed: int = 0) -> Path:
    """A random tiny ResNet generator saved as a style model folder (it changes colours)."""
    torch.manual_seed(seed)
    net = ResNetGenerator(**STYLE_KW)
    with torch.no_grad():
        net.head.weight.mul_(10.0)  # a visible effect, as a trained style has
    config = ModelConfig(arch="resnet", kwargs=STYLE_KW, kind="style", pad_multiple=4)
    return save_model(folder, net, config)


def save_tiny_adain(folder: Path, seed: int = 0) -> Path:
    """A random tiny AdaIN network with unit-scale encoder features."""
    torch.manual_seed(seed)
    net = calibrate_encoder(AdaINNet(**ADAIN_KW), seed)
    config = ModelConfig(arch="adain", kwargs=ADAIN_KW, kind="adain", pad_multiple=16)
    return save_model(folder, net, config)


@pytest.fixture(scope="module")
def style_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_style(tmp_path_factory.mktemp("style") / "tiny")


@pytest.fixture(scope="module")
def adain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_adain(tmp_path_factory.mktemp("adain") / "adain")


@pytest.fixture(scope="module")
def painting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gen = torch.Generator().manual_seed(5)
    stripes = (torch.arange(80.0).view(1, 1, 80) % 10 < 5).float() * torch.rand(
        3, 1, 1, generator=gen
    )
    return write_image(tmp_path_factory.mktemp("art") / "art.png", stripes.expand(3, 60, 80))


def photo(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A smooth colour ramp plus mild texture, in [0.1, 0.9] (no clipping at the gamut edge)."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    ramp = torch.stack([xx, yy, (xx + yy) / 2])[None]
    texture = F.interpolate(torch.rand(1, 3, h // 10 + 1, w // 10 + 1, generator=gen), (h, w))
    return (0.15 + 0.55 * ramp + 0.2 * texture)[0].clamp(0.1, 0.9)


def seam_ratio(out: torch.Tensor, *, tile: int, overlap: int, multiple: int) -> float:
    """Mean |gradient| across tile borders / elsewhere, worse of the two axes; ~1 = no grid.

    Tile borders are the middle halves of the overlaps, where the blend weights ramp and a
    mismatch between neighbouring tiles would show up as a step.
    """
    h, w = out.shape[-2:]
    cols: set[int] = set()
    rows: set[int] = set()
    for t in plan_tiles(h, w, tile=tile, overlap=overlap, multiple=multiple):
        cols.update(range(t.x0 + overlap // 4, t.x0 + 3 * overlap // 4) if t.x0 else ())
        rows.update(range(t.y0 + overlap // 4, t.y0 + 3 * overlap // 4) if t.y0 else ())
    ratios = []
    for axis, border in ((-1, cols), (-2, rows)):
        grad = (
            out.diff(dim=axis).abs().mean(dim=[d for d in range(out.ndim) if d != out.ndim + axis])
        )
        mask = torch.zeros(grad.numel(), dtype=torch.bool)
        mask[[i for i in border if i < grad.numel()]] = True
        ratios.append(float(grad[mask].mean() / grad[~mask].mean()))
    return max(ratios)


# --- colour -----------------------------------------------------------------------------------


def test_ycbcr_round_trip_and_gray_has_neutral_chroma() -> None:
    rgb = torch.rand(2, 3, 5, 7)
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-5)
    gray = rgb_to_ycbcr(torch.full((3, 2, 2), 0.3))
    assert torch.allclose(gray[1:], torch.full((2, 2, 2), 0.5), atol=1e-6)


def test_keep_chroma_takes_luma_from_one_and_chroma_from_the_other() -> None:
    a, b = photo(20, 30, seed=1), photo(20, 30, seed=2).flip(0)
    mixed = rgb_to_ycbcr(keep_chroma(a, b))
    assert torch.allclose(mixed[0], rgb_to_ycbcr(a)[0], atol=2e-3)
    assert torch.allclose(mixed[1:], rgb_to_ycbcr(b)[1:], atol=2e-3)


# --- trained styles -----------------------------------------------------------------------------


def test_same_size_out_and_strength_zero_is_the_input(style_dir: Path) -> None:
    img = photo(37, 53)
    out = stylize_tensor(img, StylizeOptions(style=str(style_dir), tile=32, overlap=8))
    assert out.shape == img.shape and out.dtype == torch.float32
    assert (out - img).abs().mean() > 0.02  # the style does something
    assert out.min() >= 0 and out.max() <= 1
    zero = stylize_tensor(img, StylizeOptions(style=str(style_dir), strength=0.0))
    assert torch.equal(zero, img)


def test_strength_blends_linearly(style_dir: Path) -> None:
    img = photo(32, 40)
    full = stylize_tensor(img, StylizeOptions(style=str(style_dir)))
    half = stylize_tensor(img, StylizeOptions(style=str(style_dir), strength=0.5))
    assert torch.allclose(half, (img + full) / 2, atol=1e-5)


def test_preserve_color_keeps_the_input_chroma(style_dir: Path) -> None:
    img = photo(48, 64)
    options = StylizeOptions(style=str(style_dir), preserve_color=True)
    out, plain = (
        stylize_tensor(img, options),
        stylize_tensor(img, StylizeOptions(style=str(style_dir))),
    )
    chroma_in, chroma_out = rgb_to_ycbcr(img)[1:], rgb_to_ycbcr(out)[1:]
    assert (chroma_out - chroma_in).abs().mean() < 1e-3  # only gamut clipping may move it
    assert (rgb_to_ycbcr(plain)[1:] - chroma_in).abs().mean() > 2e-2  # the style recolours
    assert torch.allclose(rgb_to_ycbcr(out)[0], rgb_to_ycbcr(plain)[0], atol=2e-2)


def test_batches_and_tiny_images(style_dir: Path) -> None:
    batch = torch.stack([photo(24, 20, seed=i) for i in range(2)])
    out = stylize_tensor(batch, StylizeOptions(style=str(style_dir), tile=0))
    assert out.shape == batch.shape
    single = stylize_tensor(batch[1], StylizeOptions(style=str(style_dir), tile=0))
    assert torch.allclose(out[1], single, atol=1e-5)
    assert stylize_tensor(photo(3, 5)[:, :1, :2], StylizeOptions(style=str(style_dir))).shape == (
        3, 1, 2,
    )  # fmt: skip


def test_no_seams_on_a_large_image_scaled_down(style_dir: Path) -> None:
    """A 4000x3000 scan with 512 px tiles, scaled down 6.7x: 600x450 with 128 px tiles."""
    img, tile, overlap = photo(450, 600), 128, 32
    out = stylize_tensor(img, StylizeOptions(style=str(style_dir), tile=tile, overlap=overlap))
    whole = stylize_tensor(img, StylizeOptions(style=str(style_dir), tile=0))
    ratio = functools.partial(seam_ratio, tile=tile, overlap=overlap, multiple=4)
    # relative to the whole-image result: the photo itself may have edges along a tile border
    assert ratio(out) < 1.05 * ratio(whole) and ratio(whole) < 1.5
    assert (out - whole).abs().mean() < 1e-3  # tiles agree with the whole-image result

    # the metric sees a grid when it exists: per-tile normalisation (instance norm) makes one
    net = ResNetGenerator(**STYLE_KW).eval()

    def per_tile_norm(x: torch.Tensor) -> torch.Tensor:
        y = net(x)
        return (y - y.mean((2, 3), keepdim=True)) / y.std((2, 3), keepdim=True) * 0.2 + 0.5

    from daguerre.infer import TileConfig, run_tiled

    cfg = TileConfig(tile=tile, overlap=overlap, min_tile=overlap + 1)
    gridded = run_tiled(per_tile_norm, img[None], cfg, pad_multiple=4)[0]
    one = TileConfig(tile=0, overlap=overlap, min_tile=overlap + 1)
    plain = run_tiled(per_tile_norm, img[None], one, pad_multiple=4)[0]  # one tile: no grid
    assert ratio(gridded) > 1.2 * ratio(plain)


# --- painting mode (AdaIN) ----------------------------------------------------------------------


def test_adain_whole_image_equals_the_network(adain_dir: Path, painting: Path) -> None:
    from daguerre.io.image import read_image
    from daguerre.weights.checkpoint import load_model

    img = photo(48, 64)  # multiples of 16: no padding, so tiled == whole exactly
    options = StylizeOptions(
        style=str(painting), adain_model=str(adain_dir), style_side=80, alpha=0.8
    )
    out = stylize_tensor(img, options)
    net, _ = load_model(adain_dir)
    with torch.no_grad():
        expected = net(img[None], read_image(painting).rgb[None], alpha=0.8)[0]
    assert torch.allclose(out, expected, atol=1e-4)
    assert (out - img).abs().mean() > 0.02


def test_adain_no_seams_and_statistics_from_the_whole_image(
    adain_dir: Path, painting: Path
) -> None:
    img, tile, overlap = photo(450, 600), 128, 32
    base = {"style": str(painting), "adain_model": str(adain_dir)}
    out = stylize_tensor(img, StylizeOptions(**base, tile=tile, overlap=overlap))
    assert out.shape == img.shape
    assert seam_ratio(out, tile=tile, overlap=overlap, multiple=16) < 1.2
    stylizer = load_stylizer(StylizeOptions(**base))
    assert stylizer.mode == "adain" and len(stylizer.style_stats) == 3


def test_python_api_types_and_style_as_an_image(adain_dir: Path, style_dir: Path) -> None:
    pil = Image.fromarray((photo(30, 40).permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    out = stylize(pil, style=str(style_dir), strength=0.7)
    assert isinstance(out, Image.Image) and out.size == pil.size
    assert stylize(pil.convert("L"), style=str(style_dir)).mode == "RGB"  # gray gets colour
    assert stylize(pil.convert("L"), style=str(style_dir), preserve_color=True).mode == "L"
    arr = np.asarray(pil)
    out_arr = stylize(arr, style=Image.fromarray(arr[::-1]), adain_model=str(adain_dir))
    assert out_arr.dtype == np.uint8 and out_arr.shape == arr.shape
    tensor = stylize(photo(32, 32), style=photo(16, 16)[None], adain_model=str(adain_dir))
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (3, 32, 32)


# --- finding styles and errors ------------------------------------------------------------------


def test_installed_styles_and_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_tiny_style(tmp_path / "styles" / "sepia_dream")
    monkeypatch.setattr("daguerre.weights.package_dir", lambda: tmp_path)
    assert [s.name for s in installed_styles()] == ["sepia_dream"]
    assert resolve_style("sepia_dream").path == tmp_path / "styles" / "sepia_dream"
    with pytest.raises(StyleNotFoundError, match="installed styles: sepia_dream") as info:
        resolve_style("monet")
    assert isinstance(info.value, UnknownNameError) and "AdaIN" in str(info.value)
    assert "not installed" in str(info.value)
    with pytest.raises(StyleNotFoundError, match="no such file"):
        resolve_style(tmp_path / "missing.jpg")


def test_painting_mode_without_a_decoder_says_what_is_missing(
    tmp_path: Path, painting: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("daguerre.weights.package_dir", lambda: tmp_path)
    assert resolve_style(painting).mode == "adain"
    with pytest.raises(CheckpointNotFoundError, match="AdaIN decoder.*installed style: none"):
        load_stylizer(StylizeOptions(style=str(painting)))


def test_an_adain_folder_is_not_a_style(adain_dir: Path) -> None:
    with pytest.raises(CheckpointNotFoundError, match="--adain-model"):
        resolve_style(adain_dir)


def test_bad_options_are_rejected() -> None:
    for bad in ({"strength": 1.5}, {"alpha": -0.1}, {"style_side": 4}):
        with pytest.raises(ValueError):
            StylizeOptions(style="x", **bad)
    from daguerre.errors import ConfigError

    with pytest.raises(ConfigError):
        StylizeOptions(style="x", tile=32, overlap=64)
