"""Full-reference fidelity metrics: PSNR and SSIM on float images in [0, 1].

Both accept ``(B,C,H,W)`` or ``(C,H,W)`` tensors and return one value per image, shape ``(B,)``.
``crop_border`` drops that many pixels on every side first (the super-resolution convention);
``y_channel`` compares only the BT.601 luma ``Y = 16/255 + (65.481 R + 128.553 G + 24.966 B)/255``
of RGB inputs, the convention of BasicSR and most restoration papers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from daguerre.nn.kernels import gaussian_kernel1d

SSIM_SIGMA = 1.5  # Wang et al. 2004, https://ece.uwaterloo.ca/~z70wang/publications/ssim.pdf
SSIM_RADIUS = 5  # 11x11 window: skimage's int(truncate * sigma + 0.5) with truncate = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


# ---------------------------------------------------------------- input handling


def _as_batch(img: Tensor) -> Tensor:
    """(C,H,W) -> (1,C,H,W); (B,C,H,W) unchanged; anything else is a ValueError."""
    if img.ndim == 3:
        return img.unsqueeze(0)
    if img.ndim == 4:
        return img
    raise ValueError(f"expected a (B,C,H,W) or (C,H,W) image, got shape {tuple(img.shape)}")


def rgb_to_y(img: Tensor) -> Tensor:
    """BT.601 luma of RGB in [0, 1], as MATLAB's ``rgb2ycbcr`` (range [16/255, 235/255]).

    Args:
        img: (B,3,H,W) float RGB in [0, 1].

    Returns:
        (B,1,H,W) luma, same dtype.

    Example:
        >>> round(rgb_to_y(torch.ones(1, 3, 2, 2))[0, 0, 0, 0].item() * 255, 3)
        235.0
    """
    weights = img.new_tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1) / 255.0
    return (img * weights).sum(dim=1, keepdim=True) + 16.0 / 255.0


def _prepare(a: Tensor, b: Tensor, crop_border: int, y_channel: bool) -> tuple[Tensor, Tensor]:
    """Batch, check, crop and optionally convert to luma a pair of images."""
    a, b = _as_batch(a), _as_batch(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border:
        a = a[..., crop_border:-crop_border, crop_border:-crop_border]
        b = b[..., crop_border:-crop_border, crop_border:-crop_border]
    if y_channel:
        if a.shape[1] != 3:
            raise ValueError(f"y_channel needs RGB input, got {a.shape[1]} channels")
        a, b = rgb_to_y(a), rgb_to_y(b)
    return a, b


# ---------------------------------------------------------------- PSNR


def psnr(
    a: Tensor,
    b: Tensor,
    *,
    data_range: float = 1.0,
    crop_border: int = 0,
    y_channel: bool = False,
) -> Tensor:
    """Peak signal-to-noise ratio in dB, per image.

    Args:
        a: (B,C,H,W) or (C,H,W) float image in [0, data_range].
        b: same shape as ``a``.
        data_range: peak value of the signal (1.0 for our [0, 1] images).
        crop_border: pixels removed on each side before comparing.
        y_channel: compare BT.601 luma only (needs RGB input).

    Returns:
        (B,) float tensor; ``inf`` where the images are identical.

    Example:
        >>> a = torch.zeros(3, 8, 8)
        >>> round(psnr(a, a + 0.1).item(), 2)
        20.0
    """
    a, b = _prepare(a, b, crop_border, y_channel)
    mse = (a.double() - b.double()).pow(2).mean(dim=(1, 2, 3))
    return (10.0 * torch.log10(data_range**2 / mse)).to(a.dtype)


# ---------------------------------------------------------------- SSIM


def _ssim_window(dtype: torch.dtype, device: torch.device) -> Tensor:
    """Normalised 11-tap Gaussian, sigma 1.5: the window of skimage's ``gaussian_weights=True``.

    Computed in float64, then cast to ``dtype``.
    """
    sigma = torch.tensor([SSIM_SIGMA], dtype=torch.float64)
    return gaussian_kernel1d(sigma, SSIM_RADIUS)[0].to(dtype=dtype, device=device)


def _filter_valid(x: Tensor, kernel: Tensor) -> Tensor:
    """Separable depthwise Gaussian filter without padding: (B,C,H,W) -> (B,C,H-10,W-10)."""
    channels = x.shape[1]
    k = kernel.numel()
    x = F.conv2d(x, kernel.view(1, 1, k, 1).expand(channels, 1, k, 1), groups=channels)
    return F.conv2d(x, kernel.view(1, 1, 1, k).expand(channels, 1, 1, k), groups=channels)


def ssim(a: Tensor, b: Tensor, *, crop_border: int = 0, y_channel: bool = False) -> Tensor:
    """Structural similarity (Wang et al. 2004), Gaussian window 11x11, sigma 1.5, per image.

    Matches ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=...)``: the SSIM map is averaged
    over the interior where the window fits (skimage crops the 5-pixel border its reflect
    padding touches) and then over channels.

    Args:
        a: (B,C,H,W) or (C,H,W) float image in [0, 1]; H and W at least 11 after cropping.
        b: same shape as ``a``.
        crop_border: pixels removed on each side before comparing.
        y_channel: compare BT.601 luma only (needs RGB input).

    Returns:
        (B,) float tensor in [-1, 1]; 1 for identical images.

    Raises:
        ValueError: on mismatched shapes or images smaller than the 11x11 window.

    Example:
        >>> img = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> ssim(img, img).tolist()
        [1.0, 1.0]
    """
    a, b = _prepare(a, b, crop_border, y_channel)
    window = 2 * SSIM_RADIUS + 1
    if min(a.shape[-2:]) < window:
        raise ValueError(f"SSIM needs images of at least {window}x{window}, got {tuple(a.shape)}")
    # float64 keeps E[x^2] - E[x]^2 accurate; the images are small next to the model cost.
    x, y = a.double(), b.double()
    kernel = _ssim_window(x.dtype, x.device)
    mu_x, mu_y = _filter_valid(x, kernel), _filter_valid(y, kernel)
    var_x = _filter_valid(x * x, kernel) - mu_x**2
    var_y = _filter_valid(y * y, kernel) - mu_y**2
    cov_xy = _filter_valid(x * y, kernel) - mu_x * mu_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2  # data_range is 1
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return (numerator / denominator).mean(dim=(1, 2, 3)).to(a.dtype)


__all__ = ["psnr", "rgb_to_y", "ssim"]
