"""Filter kernels shared across the package: one Gaussian, written once.

Three places blur with a Gaussian: the blur degradation (:mod:`daguerre.degrade.blur`, a kernel
per image), the SSIM window (:mod:`daguerre.metrics.fidelity`, sigma 1.5 over 11 taps) and the
tone correction of expert fusion (:mod:`daguerre.pipelines.fusion`). They differ only in how
they choose the radius and in the dtype they compute in, so they share this one formula.
Pure tensor math: no IO, no module state.
"""

from __future__ import annotations

import torch
from torch import Tensor

MIN_SIGMA = 1e-6  # px; a smaller sigma (0 included) gives the identity kernel (centre tap only)


def gaussian_kernel1d(sigma: Tensor, radius: int, *, size: Tensor | None = None) -> Tensor:
    """Normalised 1-D Gaussians ``exp(-x² / 2σ²)`` for ``x`` in ``[-radius, radius]``.

    Computed in ``sigma``'s dtype and on its device, so a float64 ``sigma`` gives float64 taps
    (the SSIM window and the fusion blur) and a float32 one float32 taps (the degradation).

    Args:
        sigma: ``(B,)`` float standard deviations in pixels; values below ``MIN_SIGMA`` (0
            included) give the identity kernel.
        radius: taps on each side of the centre, >= 0; every kernel has ``2 * radius + 1``.
        size: optional ``(B,)`` int64 odd window sides: kernel ``b`` is zero where
            ``|x| > size[b] // 2``, so kernels of several sizes share one length.

    Returns:
        ``(B, 2 * radius + 1)`` in ``sigma``'s dtype; each row is symmetric and sums to 1.

    Raises:
        ValueError: a negative ``radius``.

    Example:
        >>> taps = gaussian_kernel1d(torch.tensor([1.0, 0.0], dtype=torch.float64), 2)
        >>> taps.shape, round(float(taps[0, 2]), 4), taps[1].tolist()
        (torch.Size([2, 5]), 0.4026, [0.0, 0.0, 1.0, 0.0, 0.0])
    """
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    ax = torch.arange(-radius, radius + 1, dtype=sigma.dtype, device=sigma.device)
    kernel = torch.exp(-0.5 * (ax[None] / sigma.clamp_min(MIN_SIGMA)[:, None]) ** 2)
    if size is not None:
        inside = ax[None].abs() <= (size[:, None] // 2)
        kernel = torch.where(inside, kernel, kernel.new_zeros(()))
    return kernel / kernel.sum(dim=1, keepdim=True)


__all__ = ["MIN_SIGMA", "gaussian_kernel1d"]
