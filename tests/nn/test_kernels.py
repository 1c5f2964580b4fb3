"""The shared Gaussian kernel, and the three places that use it (blur, SSIM, fusion)."""

from __future__ import annotations

import math

import pytest
import torch

from daguerre.nn.kernels import gaussian_kernel1d


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernels_are_normalised_symmetric_and_in_sigmas_dtype(dtype: torch.dtype) -> None:
    taps = gaussian_kernel1d(torch.tensor([0.5, 1.0, 3.0], dtype=dtype), 4)
    assert taps.shape == (3, 9) and taps.dtype == dtype
    torch.testing.assert_close(taps.sum(dim=1), torch.ones(3, dtype=dtype))
    torch.testing.assert_close(taps, taps.flip(1))
    assert bool((taps[:, 4] == taps.amax(dim=1)).all())  # peak at the centre


def test_kernel_matches_the_closed_form() -> None:
    sigma, radius = 1.7, 5
    taps = gaussian_kernel1d(torch.tensor([sigma], dtype=torch.float64), radius)[0]
    raw = [math.exp(-0.5 * (x / sigma) ** 2) for x in range(-radius, radius + 1)]
    expected = torch.tensor([value / sum(raw) for value in raw], dtype=torch.float64)
    torch.testing.assert_close(taps, expected, rtol=0, atol=1e-15)


def test_zero_sigma_is_the_identity_and_size_limits_the_window() -> None:
    taps = gaussian_kernel1d(torch.tensor([0.0, 2.0, 2.0]), 3, size=torch.tensor([7, 3, 7]))
    assert taps[0].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert taps[1, :2].tolist() == [0.0, 0.0] and taps[1, 5:].tolist() == [0.0, 0.0]
    torch.testing.assert_close(taps[1].sum(), torch.tensor(1.0))
    assert bool((taps[2] > 0).all())


def test_negative_radius_is_refused() -> None:
    with pytest.raises(ValueError, match="radius"):
        gaussian_kernel1d(torch.tensor([1.0]), -1)


def test_the_blur_degradation_uses_the_shared_kernel() -> None:
    from daguerre.degrade.blur import GaussianBlur, GaussianBlurParams

    impulse = torch.zeros(1, 1, 9, 9)
    impulse[..., 4, 4] = 1.0
    params = GaussianBlurParams(size=torch.tensor([5]), sigma=torch.tensor([1.3]))
    taps = gaussian_kernel1d(torch.tensor([1.3]), 2)[0]
    blurred = GaussianBlur().apply(impulse.expand(1, 3, 9, 9), params)[0, 0, 2:7, 2:7]
    torch.testing.assert_close(blurred, taps[:, None] * taps[None, :])


def test_the_ssim_window_is_the_shared_kernel() -> None:
    from daguerre.metrics.fidelity import SSIM_RADIUS, SSIM_SIGMA, _ssim_window

    expected = gaussian_kernel1d(torch.tensor([SSIM_SIGMA], dtype=torch.float64), SSIM_RADIUS)
    window = _ssim_window(torch.float32, torch.device("cpu"))
    assert window.shape == (11,) and torch.equal(window, expected[0].float())


def test_the_fusion_blur_uses_the_shared_kernel() -> None:
    from daguerre.pipelines.fusion import gaussian_blur_signed

    impulse = torch.zeros(1, 1, 1, 15, dtype=torch.float64)
    impulse[..., 7] = 1.0
    taps = gaussian_kernel1d(torch.tensor([1.5], dtype=torch.float64), 5)[0]  # ceil(3 sigma)
    torch.testing.assert_close(gaussian_blur_signed(impulse, 1.5)[0, 0, 0, 2:13], taps)
