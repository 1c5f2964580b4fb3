"""Classical baselines: NLM + unsharp, auto-levels + median, Telea inpainting."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from daguerre.metrics.fidelity import psnr
from daguerre.pipelines.baseline import (
    autolevels_median,
    classical_restore,
    estimate_noise_sigma,
    nlm_strength,
    telea_fill,
    telea_inpaint,
    unsharp_mask,
)


def smooth_image(gen: torch.Generator, batch: int = 1, size: int = 96) -> torch.Tensor:
    base = torch.rand(batch, 3, 6, 6, generator=gen) * 0.6 + 0.2
    return F.interpolate(base, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


def test_noise_estimate_tracks_the_true_level(gen: torch.Generator) -> None:
    clean = smooth_image(gen)[0]
    assert estimate_noise_sigma(clean) < 0.005
    for sigma in (0.02, 0.05, 0.1):
        noisy = clean + sigma * torch.randn(clean.shape, generator=gen)
        assert estimate_noise_sigma(noisy) == pytest.approx(sigma, rel=0.15)


def test_nlm_strength_is_clipped() -> None:
    assert nlm_strength(0.0) == 3.0
    assert nlm_strength(20 / 255) == pytest.approx(12.0)
    assert nlm_strength(0.5) == 15.0


@pytest.mark.parametrize("sharpen", [0.0, 0.5])
def test_classical_restore_removes_noise(gen: torch.Generator, sharpen: float) -> None:
    clean = smooth_image(gen, batch=2)
    noisy = (clean + 0.08 * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    restored = classical_restore(noisy, sharpen=sharpen)
    assert restored.shape == noisy.shape and restored.dtype == torch.float32
    assert 0.0 <= restored.min() and restored.max() <= 1.0
    assert (psnr(restored, clean) > psnr(noisy, clean) + 4.0).all()


def test_classical_restore_keeps_unbatched_shape(gen: torch.Generator) -> None:
    img = smooth_image(gen)[0]
    out = classical_restore(img)
    assert out.shape == img.shape and out.dtype == torch.float32
    assert torch.equal(out, classical_restore(img))  # deterministic
    with pytest.raises(ValueError, match=r"\(B,3,H,W\)"):
        classical_restore(img[:1])


def test_unsharp_mask_sharpens_an_edge() -> None:
    img = torch.full((1, 3, 16, 16), 0.3)
    img[..., 8:] = 0.7
    out = unsharp_mask(img, sigma=1.0, amount=0.5)
    assert out[0, 0, 0, 7] < 0.3 and out[0, 0, 0, 8] > 0.7  # overshoot on both sides
    assert torch.equal(unsharp_mask(img, amount=0.0), img)


def test_telea_fills_a_scratch(gen: torch.Generator) -> None:
    clean = smooth_image(gen, batch=2, size=64)
    mask = torch.zeros(2, 1, 64, 64, dtype=torch.bool)
    mask[:, :, 30:33, 5:60] = True  # a 3-px horizontal scratch
    scratched = torch.where(mask, torch.ones_like(clean), clean)
    filled = telea_inpaint(scratched, mask)
    region = mask.expand_as(clean)
    assert filled.shape == clean.shape and filled.dtype == torch.float32
    assert torch.equal(filled[~region], scratched[~region])  # untouched outside the mask
    assert (filled[region] - clean[region]).abs().mean() < 0.02
    assert (scratched[region] - clean[region]).abs().mean() > 0.2


def test_telea_fill_in_bands_matches_one_piece(gen: torch.Generator) -> None:
    clean = smooth_image(gen, batch=2, size=64)
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 30:33, 5:60] = 1.0  # across the band edge at row 32
    mask[1, :, 5:60, 40:42] = 1.0  # down through every band
    scratched = torch.where(mask > 0, torch.ones_like(clean), clean)
    whole = telea_inpaint(scratched, mask)
    banded = telea_fill(scratched, mask, rows=16, margin=8)
    assert torch.equal(banded[mask.expand_as(clean) == 0], scratched[mask.expand_as(clean) == 0])
    assert (banded - whole).abs().max() < 0.05  # context cut at 8 rows: close, not identical
    assert torch.equal(telea_fill(clean, torch.zeros(2, 1, 64, 64)), clean)


def test_telea_mask_forms(gen: torch.Generator) -> None:
    img = smooth_image(gen, size=32)[0]
    mask = torch.zeros(32, 32)
    mask[10:12, :] = 1.0
    out_2d = telea_inpaint(img, mask)
    assert out_2d.shape == img.shape
    assert torch.equal(out_2d, telea_inpaint(img[None], mask[None, None])[0])
    with pytest.raises(ValueError, match="does not fit"):
        telea_inpaint(img, torch.zeros(16, 16))
    with pytest.raises(ValueError, match="one channel"):
        telea_inpaint(img, torch.zeros(1, 3, 32, 32))


def test_autolevels_stretches_a_squeezed_ramp_per_channel() -> None:
    ramp = torch.linspace(0.0, 1.0, 200).expand(3, 40, 200).clone()
    squeezed = ramp.clone()
    squeezed[0] = 0.2 + 0.6 * ramp[0]  # faded red
    squeezed[1] = 0.1 + 0.5 * ramp[1]
    squeezed[2] = 0.3 + 0.4 * ramp[2]  # and a colour cast
    out = autolevels_median(squeezed)
    assert out.shape == squeezed.shape and out.dtype == torch.float32
    for channel in out:
        assert channel.min() < 0.01 and channel.max() > 0.99
    assert (out - ramp).abs().max() < 0.03  # the ramp comes back (1 % clipped at the ends)
    assert torch.equal(out, autolevels_median(squeezed[None])[0])  # batched == single


def test_autolevels_median_removes_salt_noise(gen: torch.Generator) -> None:
    clean = smooth_image(gen, batch=2, size=64)
    low = clean.amin(dim=(2, 3), keepdim=True)
    high = clean.amax(dim=(2, 3), keepdim=True)
    clean = (clean - low) / (high - low)  # already spans [0, 1]: levels leave it nearly alone
    salt = torch.rand(2, 1, 64, 64, generator=gen) < 0.03
    noisy = torch.where(salt, torch.ones_like(clean), clean)
    out = autolevels_median(noisy)
    assert (out - clean)[salt.expand_as(clean)].abs().mean() < 0.05
    assert (noisy - clean)[salt.expand_as(clean)].abs().mean() > 0.2
    assert (psnr(out, clean) > psnr(noisy, clean) + 8.0).all()


def test_autolevels_leaves_a_flat_channel_and_checks_arguments() -> None:
    flat = torch.full((3, 16, 16), 0.4)
    assert torch.equal(autolevels_median(flat), flat)
    with pytest.raises(ValueError, match="percentiles"):
        autolevels_median(flat, percentiles=(99.5, 0.5))
    with pytest.raises(ValueError, match=r"\(B,3,H,W\)"):
        autolevels_median(flat[:1])
