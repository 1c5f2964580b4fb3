"""PSNR and SSIM: known values and agreement with scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from daguerre.metrics.fidelity import psnr, rgb_to_y, ssim

skimage_metrics = pytest.importorskip("skimage.metrics")


def _noisy_pair(
    gen: torch.Generator, shape: tuple[int, ...], std: float
) -> tuple[torch.Tensor, ...]:
    clean = torch.nn.functional.interpolate(
        torch.rand(shape[0], 3, 8, 8, generator=gen), size=shape[2:], mode="bilinear"
    )
    noisy = (clean + std * torch.randn(shape, generator=gen)).clamp(0, 1)
    return clean, noisy


def _skimage_ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """skimage reference on one (C,H,W) image."""
    return float(
        skimage_metrics.structural_similarity(
            a.permute(1, 2, 0).double().numpy(),
            b.permute(1, 2, 0).double().numpy(),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
            channel_axis=2,
        )
    )


# ---------------------------------------------------------------- PSNR


def test_psnr_identical_is_inf(tiny_image: torch.Tensor) -> None:
    assert torch.isinf(psnr(tiny_image, tiny_image)).all()


def test_psnr_known_mse() -> None:
    a = torch.zeros(2, 3, 16, 16)
    b = a.clone()
    b[0] += 0.1  # MSE 0.01 -> 20 dB
    b[1, :, :8] += 0.2  # MSE 0.02 -> 10 log10(50) dB
    assert torch.allclose(psnr(a, b), torch.tensor([20.0, 10 * math.log10(50)]), atol=1e-4)
    assert psnr(a[0] * 255, b[0] * 255, data_range=255.0).item() == pytest.approx(20.0, abs=1e-4)


def test_psnr_crop_border_ignores_the_frame() -> None:
    a = torch.zeros(3, 16, 16)
    b = a.clone()
    b[:, :2] = 1.0  # damage only in the top two rows
    assert torch.isinf(psnr(a, b, crop_border=2)).all()
    assert torch.isfinite(psnr(a, b)).all()


def test_psnr_y_channel_uses_bt601_luma() -> None:
    a = torch.zeros(1, 3, 8, 8)
    b = a.clone()
    b[:, 2] = 1.0  # pure blue: Y differs by 24.966/255
    expected = -20 * math.log10(24.966 / 255)
    assert psnr(a, b, y_channel=True).item() == pytest.approx(expected, abs=1e-3)


def test_psnr_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(torch.zeros(3, 8, 8), torch.zeros(3, 8, 9))
    with pytest.raises(ValueError, match=r"\(B,C,H,W\)"):
        psnr(torch.zeros(8, 8), torch.zeros(8, 8))


# ---------------------------------------------------------------- SSIM


@pytest.mark.parametrize(("shape", "std"), [((2, 3, 32, 32), 0.1), ((1, 3, 41, 23), 0.3)])
def test_ssim_matches_skimage(gen: torch.Generator, shape: tuple[int, ...], std: float) -> None:
    clean, noisy = _noisy_pair(gen, shape, std)
    ours = ssim(clean, noisy)
    reference = [_skimage_ssim(c, n) for c, n in zip(clean, noisy, strict=True)]
    assert ours.shape == (shape[0],)
    assert np.allclose(ours.numpy(), reference, atol=1e-3)


def test_ssim_y_channel_and_crop_match_skimage(gen: torch.Generator) -> None:
    clean, noisy = _noisy_pair(gen, (1, 3, 40, 40), 0.05)
    ours = ssim(clean, noisy, y_channel=True, crop_border=4).item()
    y_clean = rgb_to_y(clean)[0, :, 4:-4, 4:-4]
    y_noisy = rgb_to_y(noisy)[0, :, 4:-4, 4:-4]
    assert ours == pytest.approx(_skimage_ssim(y_clean, y_noisy), abs=1e-3)


def test_ssim_identical_is_one_and_noise_lowers_it(gen: torch.Generator) -> None:
    clean, noisy = _noisy_pair(gen, (2, 3, 32, 32), 0.2)
    assert torch.allclose(ssim(clean, clean), torch.ones(2), atol=1e-6)
    assert (ssim(clean, noisy) < 0.9).all()
    assert ssim(clean[0], noisy[0]).shape == (1,)


def test_ssim_rejects_images_smaller_than_the_window() -> None:
    with pytest.raises(ValueError, match="11x11"):
        ssim(torch.zeros(3, 10, 32), torch.zeros(3, 10, 32))
