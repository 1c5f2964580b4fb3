"""Texture (per-colour LUT residual) and edges kept (Canny recall): issue 27's measures."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from daguerre.metrics.texture import canny_edges, edges_kept, lut_fit, lut_residual_rms


def photo(size: int = 128) -> torch.Tensor:
    """(3,S,S) [0,1]: smooth colour gradients with hard-edged shapes on them."""
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    img = torch.stack([0.2 + 0.6 * xs, 0.3 + 0.4 * ys, 0.8 - 0.5 * xs * ys])
    img[:, 20:60, 30:90] = torch.tensor([0.9, 0.8, 0.2]).view(3, 1, 1)
    disk = (xs - 0.6) ** 2 + (ys - 0.7) ** 2 < 0.04
    img[:, disk] = torch.tensor([0.1, 0.2, 0.5]).view(3, 1)
    img[:, 100:104, :] = 0.05  # a dark bar
    return img


def colour_map(img: torch.Tensor) -> torch.Tensor:
    """A non-linear warm grade: channel mix, then a tone curve (a pure per-colour map)."""
    mix = torch.tensor([[0.8, 0.3, 0.0], [0.1, 0.8, 0.1], [0.0, 0.2, 0.6]])
    return (torch.einsum("ij,jhw->ihw", mix, img).clamp(0, 1) ** 0.8).clamp(0, 1)


def strokes(size: int = 128, seed: int = 0) -> torch.Tensor:
    """(1,S,S) zero-mean diagonal dashes of amplitude ~0.1, as a brush would leave."""
    gen = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    phase = torch.rand(1, size // 8, size // 8, generator=gen).repeat_interleave(8, 1)
    phase = phase.repeat_interleave(8, 2) * 6.28
    return 0.1 * torch.sin((xs + ys).float() * 0.8 + phase)


def blur(img: torch.Tensor, sigma: float = 3.0) -> torch.Tensor:
    radius = int(3 * sigma)
    x = torch.arange(-radius, radius + 1).float()
    k = torch.exp(-(x**2) / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1).repeat(3, 1, 1, 1)
    out = F.conv2d(F.pad(img[None], (radius, radius, 0, 0), mode="reflect"), k, groups=3)
    out = F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), k.transpose(2, 3), groups=3)
    return out[0]


def test_a_pure_colour_map_has_no_texture_and_keeps_every_edge() -> None:
    x = photo()
    y = colour_map(x)
    assert lut_residual_rms(x, y) < 0.005  # trilinear table: exact up to the curve's bend
    assert lut_residual_rms(x, y, mode="nearest") < 0.02  # the within-bin floor
    assert lut_residual_rms(x, x) < 1e-4
    assert edges_kept(x, y) > 0.95
    assert edges_kept(x, x) == 1.0


def test_strokes_and_noise_score_as_texture() -> None:
    x = photo()
    grade = colour_map(x)
    painted = (grade + strokes()).clamp(0, 1)
    noisy = (grade + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(
        0, 1
    )
    assert lut_residual_rms(x, painted) > 0.05
    assert 0.035 < lut_residual_rms(x, noisy) < 0.06  # about the noise's std
    assert lut_residual_rms(x, painted) > 10 * lut_residual_rms(x, grade)


def test_a_blurred_output_loses_edges() -> None:
    x = photo()
    assert canny_edges(x).sum() > 200
    assert edges_kept(x, blur(colour_map(x))) < 0.5
    assert edges_kept(x, blur(colour_map(x), sigma=0.6)) > 0.8  # a light blur keeps them


def test_lut_fit_returns_the_table_prediction_and_checks_shapes() -> None:
    x = photo(64)
    assert lut_fit(x, colour_map(x)).shape == (3, 64, 64)
    with pytest.raises(ValueError, match="differ"):
        lut_residual_rms(x, x[:, :32])
    with pytest.raises(ValueError, match=r"\(3,H,W\)"):
        edges_kept(x[None], x[None])
    assert edges_kept(torch.full((3, 16, 16), 0.5), torch.rand(3, 16, 16)) == 1.0  # no edges
