"""Pixel-space reconstruction losses on [0,1] images."""

from __future__ import annotations

import torch
from torch.nn import functional as F  # noqa: N812


def l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error; with ``mask`` (B,1,H,W) the mean over masked pixels only.

    Example:
        >>> float(l1(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)))
        1.0
    """
    if mask is None:
        return F.l1_loss(pred, target)
    weight = mask.expand_as(pred)
    return ((pred - target).abs() * weight).sum() / weight.sum().clamp_min(1.0)


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error."""
    return F.mse_loss(pred, target)


def frequency_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the amplitude spectra (focal-frequency-style term; sharpens detail)."""
    pf = torch.fft.rfft2(pred, norm="ortho")
    tf = torch.fft.rfft2(target, norm="ortho")
    return (pf - tf).abs().mean()


def ssim_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - SSIM (Gaussian 11x11, sigma 1.5), averaged over the batch."""
    from daguerre.metrics.fidelity import ssim

    return 1.0 - ssim(pred, target).mean()
